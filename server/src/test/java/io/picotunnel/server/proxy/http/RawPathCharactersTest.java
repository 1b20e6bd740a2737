package io.picotunnel.server.proxy.http;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Paths sent with characters browsers would percent-encode left raw ({@code curl -g 'http://host/{id}/x'}, raw
 * UTF-8 from scripts): the API stores such a {@code path_prefix} percent-encoded as browsers send it, so the proxy
 * must read the raw spelling the same way, route it to the same service and pass the target one spelling.
 */
class RawPathCharactersTest {

    private static final String HOST = "raw.test";

    @TempDir
    Path dataDir;
    private TunnelFixture tunnel;
    private KeepAliveTarget root;
    private KeepAliveTarget braces;
    private KeepAliveTarget cafe;

    @BeforeEach
    void start() throws Exception {
        tunnel = new TunnelFixture(dataDir, Map.of());
        root = new KeepAliveTarget();
        braces = new KeepAliveTarget();
        cafe = new KeepAliveTarget();
        tunnel.addService(HOST, "/", root.address(), false);
        tunnel.addService(HOST, "/{id}", braces.address(), false);
        tunnel.addService(HOST, "/café", cafe.address(), false);
    }

    @AfterEach
    void stop() throws IOException {
        tunnel.close();
        root.close();
        braces.close();
        cafe.close();
    }

    private int get(String rawPath) throws IOException {
        try (RawHttp http = new RawHttp(tunnel.httpPort())) {
            // The request line as bytes: UTF-8 for what is outside ASCII, as curl and scripts send it.
            http.out().write(("GET " + rawPath + " HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            http.out().flush();
            return http.read().status();
        }
    }

    @Test
    void rawBracesReachThePrefixStoredPercentEncodedAndTheTargetGetsTheBrowsersSpelling() throws IOException {
        assertThat(get("/{id}/x")).isEqualTo(404); // the target's own 404: it knows no such path
        assertThat(get("/%7Bid%7D/y")).isEqualTo(404);
        assertThat(braces.paths()).containsExactly("/%7Bid%7D/x", "/%7Bid%7D/y");
        assertThat(root.paths()).isEmpty();
    }

    @Test
    void rawUtf8ReachesThePrefixStoredPercentEncodedAndTheTargetGetsItPercentEncoded() throws IOException {
        assertThat(get("/café/menu")).isEqualTo(404);
        assertThat(get("/caf%c3%a9/menu")).isEqualTo(404);
        assertThat(cafe.paths()).containsExactly("/caf%C3%A9/menu", "/caf%C3%A9/menu");
        assertThat(root.paths()).isEmpty();
    }

    @Test
    void rawUtf8InTheQueryReachesTheTargetPercentEncodedNotGarbled() throws IOException {
        // Each octet read as one character was written to the target as UTF-8 of it: ?q=café became ?q=cafÃ©.
        assertThat(get("/café/menu?q=café&x={a}")).isEqualTo(404);
        assertThat(cafe.paths()).containsExactly("/caf%C3%A9/menu?q=caf%C3%A9&x={a}");
    }

    @Test
    void otherRawCharactersBrowsersEncodeAreReadAsTheirEncodingToo() throws IOException {
        assertThat(get("/a\"b<c>d^e`f|g")).isEqualTo(404);
        assertThat(root.paths()).containsExactly("/a%22b%3Cc%3Ed%5Ee%60f|g");
    }
}
