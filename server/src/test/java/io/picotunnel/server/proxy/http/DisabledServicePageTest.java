package io.picotunnel.server.proxy.http;

import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** What a visitor of a disabled http service sees: that the site is turned off, and nothing of its set-up. */
class DisabledServicePageTest {

    @TempDir
    Path dataDir;

    @Test
    void aDisabledServiceTellsVisitorsItIsTurnedOffAndRevealsNothingInternal() throws Exception {
        try (PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir),
                new PrintStream(OutputStream.nullOutputStream()));
             ApiClient api = new ApiClient(server.apiPort(), server.adminToken())) {
            String tunnel = api.post("/api/tunnels", "{\"name\": \"t\"}").json().get("id").asText();
            api.post("/api/tunnels/" + tunnel + "/services", "{\"type\": \"http\", \"domain\": \"off.example.com\","
                    + " \"target_addr\": \"internal-host.lan:3000\", \"enabled\": false}");

            RawHttp.Response off = get(server.httpPort(), "off.example.com");
            assertThat(off.status()).isEqualTo(503);
            assertThat(off.text()).contains("This site is turned off at the moment. Please try again later.")
                    .doesNotContain("internal-host", "3000", "http service", "tunnel", "picotunnel-client");

            RawHttp.Response unknown = get(server.httpPort(), "other.example.com");
            assertThat(unknown.status()).isEqualTo(404);
            assertThat(unknown.text()).doesNotContain("turned off");
        }
    }

    private static RawHttp.Response get(int port, String host) throws Exception {
        try (RawHttp http = new RawHttp(port)) {
            return http.send("GET / HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/html\r\n\r\n").read();
        }
    }
}
