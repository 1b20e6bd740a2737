package io.picotunnel.server.proxy.http;

import io.picotunnel.server.api.ApiTestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/** The HTTP listener of the whole server, following services changed through the API at once. */
class ServerHttpProxyTest {

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();

    private RawHttp.Response get(String host, String accept) throws Exception {
        try (RawHttp http = new RawHttp(running.server().httpPort())) {
            return http.send("GET /page?q=1 HTTP/1.1\r\nHost: " + host + "\r\nAccept: " + accept + "\r\n\r\n").read();
        }
    }

    @Test
    void apiChangesTakeEffectAtOnceOnTheHttpListener() throws Exception {
        assertThat(get("app.example.com", "text/html").status()).isEqualTo(404);

        String tunnelId = running.api().post("/api/tunnels", "{\"name\": \"t\"}").json().get("id").asText();
        String serviceId = running.api().post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\": \"http\", \"domain\": \"app.example.com\", \"target_addr\": \"localhost:9\"}")
                .json().get("id").asText();

        RawHttp.Response offline = get("app.example.com", "application/json");
        assertThat(offline.status()).isEqualTo(502);
        assertThat(offline.header("Content-Type")).isEqualTo("application/json");
        assertThat(offline.text()).contains("tunnel_offline", "client is not connected");

        running.api().patch("/api/services/" + serviceId, "{\"https_redirect\": true}");
        RawHttp.Response redirect = get("App.Example.com:80", "text/html");
        assertThat(redirect.status()).isEqualTo(308);
        assertThat(redirect.header("Location")).startsWith("https://app.example.com").endsWith("/page?q=1");

        running.api().patch("/api/services/" + serviceId, "{\"enabled\": false}");
        assertThat(get("app.example.com", "text/html").status()).as("turned off, not unknown").isEqualTo(503);
    }
}
