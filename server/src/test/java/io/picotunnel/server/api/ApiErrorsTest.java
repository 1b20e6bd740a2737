package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.Version;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** Malformed requests of every kind get the right status and a JSON error, never a crash. */
class ApiErrorsTest {

    @TempDir
    Path dataDir;
    PicoTunnelServer server;
    ApiClient api;

    @BeforeEach
    void start() {
        server = ApiTestServer.start(dataDir);
        api = new ApiClient(server.apiPort(), server.adminToken());
    }

    @AfterEach
    void stop() {
        api.close();
        server.stop();
    }

    private static void assertError(ApiClient.Response response, int status, String error) {
        assertThat(response.status()).as(response.toString()).isEqualTo(status);
        assertThat(response.header("Content-Type")).startsWith("application/json");
        assertThat(response.json().get("error").asText()).isEqualTo(error);
        assertThat(response.json().get("message").asText()).isNotBlank();
    }

    @Test
    void healthIsOpenAndReportsStatusTimeVersionAndConnectedTunnels() {
        ApiClient.Response health = api.withToken(null).get("/health");

        assertThat(health.status()).isEqualTo(200);
        JsonNode json = health.json();
        assertThat(json.get("status").asText()).isEqualTo("ok");
        assertThat(OffsetDateTime.parse(json.get("timestamp").asText())).isNotNull();
        assertThat(json.get("version").asText()).isEqualTo(Version.get()).isNotEqualTo("unknown");
        assertThat(json.get("connected_tunnels").asInt()).isZero();
    }

    @Test
    void requestsJettyRefusesBeforeAnyRouteGetJsonErrorsToo() throws Exception {
        // Before: Jetty's HTML page ("HTTP ERROR 400").
        for (String request : new String[] {
            "GET /api/tunnels/%ZZ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "GET /api/tunnels/a%00b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: abc\r\nConnection: close\r\n\r\n{}"}) {
            String answer = raw(request);
            assertThat(answer).as(request).startsWith("HTTP/1.1 400");
            assertThat(answer.toLowerCase(Locale.ROOT)).as(answer).contains("content-type: application/json");
            JsonNode json = new ObjectMapper().readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
            assertThat(json.get("error").asText()).isEqualTo("bad_request");
            assertThat(json.get("message").asText()).isNotBlank();
        }
    }

    /** A request as raw bytes on its own connection, and everything the server answers until it closes. */
    private String raw(String request) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.apiPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void nonJsonBodyIs415() {
        assertError(api.send("POST", "/api/tunnels", "text/plain", "name=x"), 415, "unsupported_media_type");
        assertError(api.send("POST", "/api/tunnels", null, "{\"name\": \"x\"}"), 415, "unsupported_media_type");
        assertThat(api.send("POST", "/api/tunnels", "application/json; charset=utf-8", "{\"name\": \"x\"}").status())
                .isEqualTo(201);
    }

    @Test
    void malformedJsonIs400() {
        assertError(api.post("/api/tunnels", "{\"name\": "), 400, "malformed_json");
        assertError(api.post("/api/tunnels", "{\"name\": \"a\"} trailing"), 400, "malformed_json");
        assertError(api.post("/api/tunnels", "[{\"name\": \"a\"}]"), 400, "malformed_json");
        assertError(api.post("/api/tunnels", "\"a\""), 400, "malformed_json");
        assertError(api.post("/api/tunnels", "{\"name\": \"a\", \"name\": \"b\"}"), 400, "malformed_json");
        assertThat(api.get("/api/tunnels").json()).isEmpty();
    }

    @Test
    void unknownFieldIs400NamingIt() {
        ApiClient.Response response = api.post("/api/tunnels", "{\"name\": \"a\", \"nmae\": \"b\"}");
        assertError(response, 400, "unknown_field");
        assertThat(response.json().get("field").asText()).isEqualTo("nmae");
        assertThat(response.json().get("message").asText()).contains("'nmae'").contains("name");
    }

    @Test
    void oversizedBodyIs413() {
        String big = "{\"name\": \"" + "x".repeat(JsonBody.MAX_BYTES) + "\"}";
        assertError(api.post("/api/tunnels", big), 413, "body_too_large");
        assertThat(api.get("/api/tunnels").json()).isEmpty();
    }

    @Test
    void unknownPathsAndMethodsAreJsonErrors() {
        assertError(api.get("/api/nothing-here"), 404, "not_found");
        assertError(api.send("PUT", "/api/tunnels", "application/json", "{}"), 405, "method_not_allowed");
    }
}
