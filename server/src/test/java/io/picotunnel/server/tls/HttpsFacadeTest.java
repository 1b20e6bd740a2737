package io.picotunnel.server.tls;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The HTTPS listener as the server facade wires it: certificate files, the HTTP proxy behind TLS, the API fields. */
class HttpsFacadeTest {

    private static final String ADMIN_TOKEN = "tls-facade-admin-token-0123456789";

    @TempDir
    Path data;

    private final TestCertificates ca = new TestCertificates();
    private PicoTunnelServer server;
    private ApiClient api;
    private HttpClient http;

    @BeforeEach
    void start() {
        TestCertificates.write(ca.issue("app.test"), data.resolve("certs"), "app.test");
        Map<Setting, String> settings = new EnumMap<>(Setting.class);
        settings.put(Setting.ADMIN_TOKEN, ADMIN_TOKEN);
        server = PicoTunnelServer.start(ServerConfig.ephemeral(data, settings),
                new PrintStream(OutputStream.nullOutputStream()));
        api = new ApiClient(server.apiPort(), ADMIN_TOKEN);
        http = HttpClient.newBuilder().sslContext(ca.clientContext()).connectTimeout(Duration.ofSeconds(10)).build();
    }

    @AfterEach
    void stop() {
        http.close();
        api.close();
        server.stop();
    }

    @Test
    void terminatedHttp2RequestReachesTheProxyWhichReportsTheOfflineTunnel() throws Exception {
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
        ApiClient.Response created = api.post("/api/tunnels/" + tunnel.get("id").asText() + "/services",
                "{\"type\":\"http\",\"domain\":\"app.test\",\"target_addr\":\"127.0.0.1:9\",\"enabled\":true}");
        assertThat(created.status()).as("%s", created).isEqualTo(201);

        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create("https://app.test:" + server.httpsPort() + "/")).version(HttpClient.Version.HTTP_2)
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(created.json().get("cert_status").asText()).isEqualTo("valid");
        assertThat(created.json().get("cert_expires_at").asText()).endsWith("Z");
        assertThat(created.json().get("cert_error").isNull()).isTrue();
    }

    @Test
    void certificateFilesClientsRefuseShowAsErrorsSayingWhy() {
        Instant now = Instant.now();
        TestCertificates.write(ca.issue("other.test"), data.resolve("certs"), "misfiled.test");
        TestCertificates.write(ca.issueValid(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(90)), "early.test"),
                data.resolve("certs"), "early.test");
        TestCertificates.write(ca.issueValid(now.minus(Duration.ofDays(90)), now.minus(Duration.ofDays(1)),
                "expired.test"), data.resolve("certs"), "expired.test");
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
        String services = "/api/tunnels/" + tunnel.get("id").asText() + "/services";
        for (String domain : List.of("misfiled.test", "early.test", "expired.test")) {
            api.post(services, "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"target_addr\":\"127.0.0.1:9\","
                    + "\"enabled\":true}");
        }

        // the certificate directory is read every 5 seconds
        await().atMost(Duration.ofSeconds(20)).until(() -> api.get(services).json().findValuesAsText("cert_status")
                .equals(List.of("error", "error", "error")));
        List<String> errors = api.get(services).json().findValuesAsText("cert_error");
        assertThat(errors.get(0)).startsWith("clients refuse the certificate from ")
                .endsWith("misfiled.test.crt: it is for other.test, not misfiled.test");
        assertThat(errors.get(1)).contains("early.test.crt: it is not valid before ");
        assertThat(errors.get(2)).contains("expired.test.crt: it expired at ");
    }

    @Test
    void serviceWithoutACertificateShowsNoneAndTcpServicesShowNull() {
        JsonNode tunnel = api.post("/api/tunnels", "{\"name\":\"web\"}").json();
        String services = "/api/tunnels/" + tunnel.get("id").asText() + "/services";

        JsonNode http = api.post(services,
                "{\"type\":\"http\",\"domain\":\"nocert.test\",\"target_addr\":\"127.0.0.1:9\",\"enabled\":true}").json();
        JsonNode tcp = api.post(services,
                "{\"type\":\"tcp\",\"listen_addr\":\"" + Ports.freeLoopbackAddress()
                        + "\",\"target_addr\":\"127.0.0.1:9\",\"enabled\":false}").json();

        assertThat(http.get("cert_status").asText()).isEqualTo("none");
        assertThat(http.get("cert_expires_at").isNull()).isTrue();
        assertThat(tcp.get("type").asText()).as("%s", tcp).isEqualTo("tcp");
        assertThat(tcp.get("cert_status").isNull()).isTrue();
        assertThat(tcp.get("cert_expires_at").isNull()).isTrue();
        assertThat(tcp.get("cert_error").isNull()).isTrue();
    }
}
