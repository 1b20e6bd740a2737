package io.picotunnel.server.auth;

import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code PICOTUNNEL_AUTH=none} drops the credentials, not the defences against web pages: the Host check against
 * DNS rebinding and the CSRF check on writes stay on.
 */
class AuthNoneTest {

    @TempDir
    Path dataDir;
    private TestManagementServer server;
    private final Browserless browser = new Browserless();

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private String status(String host) throws Exception {
        return Browserless.rawStatusLine(server.port(), "GET /health HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    }

    private HttpResponse<String> createTunnel(Map<String, String> headers) throws Exception {
        java.util.Map<String, String> all = new java.util.HashMap<>(headers);
        all.putIfAbsent("Content-Type", "application/json");
        return browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels")))
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"x\"}")), all);
    }

    @Test
    void withoutADomainOnlyLoopbackNamesAndIpLiteralsAreAnswered() throws Exception {
        server = TestManagementServer.start(dataDir, Map.of(Setting.AUTH, "none"));

        for (String rebound : new String[] {"evil.example", "attacker.example:" + server.port(), "127.0.0.1.nip.io",
                "localhost.evil.example", "1.2.3.4.evil.example"}) {
            assertThat(status(rebound)).as(rebound).startsWith("HTTP/1.1 421");
        }
        for (String host : new String[] {"localhost", "localhost:" + server.port(), "127.0.0.1", "127.0.0.1:8080",
                "192.0.2.10:8080", "[::1]:8080", "[2001:db8::1]", "LOCALHOST"}) {
            assertThat(status(host)).as(host).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void withADomainTheDomainAndIpLiteralsAreAnsweredAndOtherNamesAreNot() throws Exception {
        server = TestManagementServer.start(dataDir, Map.of(Setting.AUTH, "none", Setting.DOMAIN, "tunnel.example.com"));
        assertThat(status("tunnel.example.com")).startsWith("HTTP/1.1 200");
        assertThat(status("localhost:" + server.port())).startsWith("HTTP/1.1 200");
        assertThat(status("10.1.2.3:8080")).as("an IP literal: a Kubernetes probe").startsWith("HTTP/1.1 200");
        assertThat(status("evil.example")).startsWith("HTTP/1.1 421");
        assertThat(status("admin.example.com")).startsWith("HTTP/1.1 421");
    }

    @Test
    void crossSiteWritesAreRefusedWhileScriptsAndTheUiMayWrite() throws Exception {
        server = TestManagementServer.start(dataDir, Map.of(Setting.AUTH, "none"));

        HttpResponse<String> fromEvilPage = createTunnel(Map.of("Origin", "https://evil.example"));
        assertThat(fromEvilPage.statusCode()).isEqualTo(403);
        assertThat(fromEvilPage.body()).contains("\"error\":\"csrf_rejected\"").contains("\"message\"");
        assertThat(createTunnel(Map.of("Origin", "https://evil.example", ManagementAuth.CSRF_HEADER, "1")).statusCode())
                .isEqualTo(403);
        assertThat(createTunnel(Map.of("Sec-Fetch-Site", "cross-site")).statusCode()).isEqualTo(403);
        assertThat(createTunnel(Map.of("Origin", "null")).statusCode()).isEqualTo(403);
        assertThat(createTunnel(Map.of("Origin", "https://evil.example", "Content-Type", "text/plain")).statusCode())
                .isEqualTo(403);
        HttpResponse<String> crossSiteDelete = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels/0123456789abcdef")))
                .DELETE(), Map.of("Origin", "https://evil.example"));
        assertThat(crossSiteDelete.statusCode()).isEqualTo(403);
        // a page of this server without the UI's header is not the UI either
        assertThat(createTunnel(Map.of("Origin", "http://localhost:" + server.port())).statusCode()).isEqualTo(403);
        assertThat(server.server().store().tunnels()).isEmpty();

        assertThat(browser.uiWrite("POST", server.url("/api/tunnels"), "{\"name\":\"from-the-ui\"}").statusCode()).isEqualTo(201);
        assertThat(createTunnel(Map.of()).statusCode()).as("curl: no Origin, no Sec-Fetch-Site").isEqualTo(201);
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).as("reads need nothing").isEqualTo(200);
        assertThat(server.server().store().tunnels()).hasSize(2);
    }
}
