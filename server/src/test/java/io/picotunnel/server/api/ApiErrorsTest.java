package io.picotunnel.server.api;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.server.Version;
import io.picotunnel.server.net.StillSendingBody;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Locale;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Malformed requests of every kind get the right status and a JSON error, never a crash. */
class ApiErrorsTest {

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();

    private static void assertError(ApiClient.Response response, int status, String error) {
        assertThat(response.status()).as(response.toString()).isEqualTo(status);
        assertThat(response.header("Content-Type")).startsWith("application/json");
        assertThat(response.json().get("error").asText()).isEqualTo(error);
        assertThat(response.json().get("message").asText()).isNotBlank();
    }

    @Test
    void healthIsOpenAndReportsStatusTimeVersionAndConnectedTunnels() {
        ApiClient.Response health = running.api().withToken(null).get("/health");

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
            assertRawError(request, raw(request), "bad_request");
        }
    }

    @Test
    void anIdWithAUtf16PercentEscapeIs400NotA500() throws Exception {
        // Jetty let '%u0041' through; Javalin's decoding of the id then threw, which answered 500 internal_error.
        String auth = "Authorization: Bearer " + running.server().adminToken() + "\r\n";
        for (String request : new String[] {
            "GET /api/tunnels/%u0041 HTTP/1.1\r\nHost: localhost\r\n" + auth + "Connection: close\r\n\r\n",
            "GET /api/tunnels/%u0041/services HTTP/1.1\r\nHost: localhost\r\n" + auth + "Connection: close\r\n\r\n",
            "DELETE /api/services/%u0041 HTTP/1.1\r\nHost: localhost\r\n" + auth + "Connection: close\r\n\r\n"}) {
            assertRawError(request, raw(request), "bad_request");
        }
    }

    @Test
    void aQueryParameterThatDoesNotDecodeIs400NotIgnored() throws Exception {
        // Javalin drops a value it cannot decode: ?service_id=%ZZ answered the whole tunnel's checks, ?limit=%ZZ 100.
        String id = running.api().post("/api/tunnels", "{\"name\": \"query\"}").json().get("id").asText();
        String auth = "Authorization: Bearer " + running.server().adminToken() + "\r\n";
        for (String target : new String[] {
            "/api/tunnels/" + id + "/checks?service_id=%ZZ", "/api/tunnels/" + id + "/checks?limit=%u0035",
            "/api/events?limit=5%", "/api/tunnels/" + id + "/events?limit=%ZZ"}) {
            assertRawError(target,
                    raw("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + auth + "Connection: close\r\n\r\n"),
                    "invalid_parameter");
        }
    }

    @Test
    void aLongQueryParameterNameThatDoesNotDecodeIsCut() throws Exception {
        String name = "u".repeat(5000) + "%ZZ";
        String answer = raw("GET /api/events?" + name + "=1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                + running.server().adminToken() + "\r\nConnection: close\r\n\r\n");

        assertRawError(name, answer, "invalid_parameter");
        assertThat(body(answer).get("message").asText())
                .contains("...(5003 chars)' has a '%'").doesNotContain("u".repeat(201));
        assertThat(body(answer).get("field").asText()).isEqualTo("u".repeat(200) + "...(5003 chars)");
    }

    @Test
    void aWebSocketUpgradeIsAnsweredAsThePlainRequestWithoutASessionCookie() throws Exception {
        // Javalin took it to its WebSocket router: 404 "WebSocket handler not found" with Set-Cookie: JSESSIONID.
        String upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: close\r\n\r\n";
        String signedIn = raw("GET /api/tunnels HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                + running.server().adminToken() + "\r\n" + upgrade);
        String anonymous = raw("GET /api/tunnels HTTP/1.1\r\nHost: localhost\r\n" + upgrade);
        String session = raw("GET /auth/session HTTP/1.1\r\nHost: localhost\r\n" + upgrade);
        String page = raw("GET / HTTP/1.1\r\nHost: localhost\r\n" + upgrade);

        assertThat(signedIn).startsWith("HTTP/1.1 200");
        assertThat(body(signedIn).isArray()).as(signedIn).isTrue();
        assertThat(anonymous).startsWith("HTTP/1.1 401");
        assertThat(body(anonymous).get("error").asText()).as(anonymous).isEqualTo("unauthorized");
        assertThat(session).startsWith("HTTP/1.1 200");
        assertThat(page).startsWith("HTTP/1.1 200");
        for (String answer : new String[] {signedIn, anonymous, session, page}) {
            String head = answer.substring(0, answer.indexOf("\r\n\r\n")).toLowerCase(Locale.ROOT);
            assertThat(head).as(answer).doesNotContain("jsessionid").contains("x-content-type-options: nosniff");
        }
        for (String answer : new String[] {signedIn, anonymous, session}) {
            assertThat(answer.toLowerCase(Locale.ROOT)).as(answer).contains("cache-control: no-store");
        }
    }

    private static JsonNode body(String answer) throws IOException {
        return new ObjectMapper().readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
    }

    /** {@code answer} (to {@code request}) is a 400 with a JSON body naming {@code error} and a message. */
    private static void assertRawError(String request, String answer, String error) throws IOException {
        assertThat(answer).as(request).startsWith("HTTP/1.1 400");
        assertThat(answer.toLowerCase(Locale.ROOT)).as(answer).contains("content-type: application/json");
        JsonNode json = new ObjectMapper().readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
        assertThat(json.get("error").asText()).as(answer).isEqualTo(error);
        assertThat(json.get("message").asText()).isNotBlank();
    }

    /**
     * The API's log lines print the path as Javalin's {@code ctx.path()} gives it: the path as sent, still
     * percent-encoded, so an encoded line break or bidi override stays encoded; and Jetty refuses a path that carries
     * one raw (or any byte beyond ASCII) before a route or a log line sees it. If either changed, these lines would
     * need {@code ControlCharacters.bounded}.
     */
    @Test
    void aPathsLineBreakOrBidiOverrideReachesTheLogStillEncodedAndARawOneIsRefused() throws IOException {
        try (LogCapture log = new LogCapture(ApiServer.class, Level.DEBUG)) {
            String answer = raw("GET /api/%0a%1b%E2%80%AE HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            assertThat(answer).startsWith("HTTP/1.1 40");
            for (String rawPath : new String[] {"/api/\u00e2\u0080\u00ae", "/api/a\u001bb"}) {
                assertThat(raw("GET " + rawPath + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
                        .as(rawPath).startsWith("HTTP/1.1 400");
            }

            await().atMost(Duration.ofSeconds(10)).until(() -> log.messages(Level.DEBUG).stream()
                    .anyMatch(line -> line.startsWith("GET /api/%0a%1b%E2%80%AE ")));
            assertThat(log.messages(Level.DEBUG)).allSatisfy(line ->
                    assertThat(line).doesNotContain("\n", "\u001b", "\u0080", "\u202e"));
        }
    }

    /** A request as raw bytes on its own connection, and everything the server answers until it closes. */
    private String raw(String request) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), running.server().apiPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void methodNotAllowedSaysInAllowWhichMethodsThePathTakes() {
        ApiClient.Response put = running.api().send("PUT", "/api/tunnels", "application/json", "{}");
        assertError(put, 405, "method_not_allowed");
        assertThat(put.header("Allow")).as("RFC 9110: a 405 names the methods in Allow").isNotNull();
        assertThat(put.header("Allow").split(", ")).contains("GET", "POST").doesNotContain("PUT");
        assertThat(put.json().get("message").asText()).contains("PUT").contains("/api/tunnels");

        ApiClient.Response post = running.api().post("/api/tunnels/0123456789abcdef", "{}");
        assertError(post, 405, "method_not_allowed");
        assertThat(post.header("Allow").split(", ")).contains("GET", "PATCH", "DELETE").doesNotContain("POST");
    }

    @Test
    void headAnswersAsGetWouldWithoutTheBody() {
        // Before: Javalin answered HEAD on any GET path 200 text/plain without running the route.
        ApiClient.Response missing = running.api().send("HEAD", "/api/tunnels/0123456789abcdef", null, null);
        assertThat(missing.status()).as("no such tunnel").isEqualTo(404);
        assertThat(running.api().send("HEAD", "/api/tunnels/0123456789abcdef/events", null, null).status()).isEqualTo(404);

        String id = running.api().post("/api/tunnels", "{\"name\": \"head\"}").json().get("id").asText();
        ApiClient.Response get = running.api().get("/api/tunnels/" + id);
        ApiClient.Response head = running.api().send("HEAD", "/api/tunnels/" + id, null, null);
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.header("Content-Type")).startsWith("application/json");
        assertThat(head.header("Content-Length")).isEqualTo(get.header("Content-Length"));
        assertThat(head.raw().body()).isEmpty();
        assertThat(running.api().withToken(null).send("HEAD", "/api/tunnels", null, null).status()).isEqualTo(401);
        assertThat(running.api().withToken(null).send("HEAD", "/health", null, null).header("Content-Type"))
                .startsWith("application/json");
    }

    @Test
    void answersCarryingTokensOrConfigurationAreNeverCached() {
        ApiClient.Response created = running.api().post("/api/tunnels", "{\"name\": \"cached\"}");
        assertThat(created.json().get("token").asText()).isNotBlank();
        assertThat(created.header("Cache-Control")).as("create holds the token").isEqualTo("no-store");
        String id = created.json().get("id").asText();
        ApiClient.Response regenerated = running.api().post("/api/tunnels/" + id + "/regenerate", null);
        assertThat(regenerated.json().get("token").asText()).isNotBlank();
        assertThat(regenerated.header("Cache-Control")).as("regenerate holds the token").isEqualTo("no-store");
        assertThat(running.api().get("/api/tunnels").header("Cache-Control")).isEqualTo("no-store");
        assertThat(running.api().get("/api/tunnels/" + id).header("Cache-Control")).isEqualTo("no-store");
        assertThat(running.api().get("/api/nothing-here").header("Cache-Control")).isEqualTo("no-store");
    }

    @Test
    void refusedRequestsCarryTheSecurityHeadersToo() throws Exception {
        // The guard answers these before any route runs; the headers were set by a handler that came after it.
        for (ApiClient.Response refused : new ApiClient.Response[] {
            running.api().withToken(null).get("/api/tunnels"),
            running.api().withToken("w".repeat(64)).post("/api/tunnels", "{\"name\": \"x\"}")}) {
            assertError(refused, 401, "unauthorized");
            assertThat(refused.header("X-Content-Type-Options")).as(refused.toString()).isEqualTo("nosniff");
            assertThat(refused.header("X-Frame-Options")).isEqualTo("DENY");
            assertThat(refused.header("Content-Security-Policy")).contains("frame-ancestors 'none'");
            assertThat(refused.header("Referrer-Policy")).isEqualTo("same-origin");
            assertThat(refused.header("Cache-Control")).isEqualTo("no-store");
        }
        String jettyPage = raw("GET /api/tunnels/%ZZ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .toLowerCase(Locale.ROOT);
        assertThat(jettyPage).startsWith("http/1.1 400").contains("x-content-type-options: nosniff")
                .contains("x-frame-options: deny");
    }

    @Test
    void nonJsonBodyIs415() {
        assertError(running.api().send("POST", "/api/tunnels", "text/plain", "name=x"), 415, "unsupported_media_type");
        assertError(running.api().send("POST", "/api/tunnels", null, "{\"name\": \"x\"}"), 415, "unsupported_media_type");
        assertThat(running.api().send("POST", "/api/tunnels", "application/json; charset=utf-8", "{\"name\": \"x\"}").status())
                .isEqualTo(201);
    }

    @Test
    void aCompressedBodyIs415SayingSoNotMalformedJson() throws Exception {
        ByteArrayOutputStream gzipped = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(gzipped)) {
            gzip.write("{\"name\": \"x\"}".getBytes(StandardCharsets.UTF_8));
        }
        String body = gzipped.toString(StandardCharsets.ISO_8859_1);
        String answer = raw("POST /api/tunnels HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + running.server().adminToken()
                + "\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n" + body);
        assertThat(answer).startsWith("HTTP/1.1 415");
        JsonNode json = new ObjectMapper().readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
        assertThat(json.get("error").asText()).isEqualTo("unsupported_media_type");
        assertThat(json.get("message").asText()).contains("Content-Encoding");
        assertThat(running.api().get("/api/tunnels").json()).isEmpty();
        // identity is no compression
        assertThat(running.api().send("POST", "/api/tunnels", "application/json", "{\"name\": \"x\"}").status()).isEqualTo(201);
    }

    @Test
    void malformedJsonIs400() {
        assertError(running.api().post("/api/tunnels", "{\"name\": "), 400, "malformed_json");
        assertError(running.api().post("/api/tunnels", "{\"name\": \"a\"} trailing"), 400, "malformed_json");
        assertError(running.api().post("/api/tunnels", "[{\"name\": \"a\"}]"), 400, "malformed_json");
        assertError(running.api().post("/api/tunnels", "\"a\""), 400, "malformed_json");
        assertError(running.api().post("/api/tunnels", "{\"name\": \"a\", \"name\": \"b\"}"), 400, "malformed_json");
        assertThat(running.api().get("/api/tunnels").json()).isEmpty();
    }

    @Test
    void unknownFieldIs400NamingIt() {
        ApiClient.Response response = running.api().post("/api/tunnels", "{\"name\": \"a\", \"nmae\": \"b\"}");
        assertError(response, 400, "unknown_field");
        assertThat(response.json().get("field").asText()).isEqualTo("nmae");
        assertThat(response.json().get("message").asText()).contains("'nmae'").contains("name");
    }

    @Test
    void anUnknownFieldsLongNameWithControlCharactersIsWrittenOutAndCutInItsFieldToo() {
        String name = "a\u001b[2J\n\u202e" + "x".repeat(10 * 1024);
        String body = "{\"name\": \"a\", \"" + name.replace("\u001b", "\\u001b").replace("\n", "\\n") + "\": 1}";

        ApiClient.Response response = running.api().post("/api/tunnels", body);

        assertError(response, 400, "unknown_field");
        assertThat(response.json().get("message").asText()).contains("'a\\u001b[2J\\n\\u202ex");
        assertThat(response.json().get("field").asText())
                .startsWith("a\\u001b[2J\\n\\u202ex").endsWith("x...(" + name.length() + " chars)")
                .hasSizeLessThan(300).doesNotContain("\u001b", "\n", "\u202e");
    }

    @Test
    void oversizedBodyIs413() {
        String big = "{\"name\": \"" + "x".repeat(JsonBody.MAX_BYTES) + "\"}";
        assertError(running.api().post("/api/tunnels", big), 413, "body_too_large");
        assertThat(running.api().get("/api/tunnels").json()).isEmpty();
    }

    /**
     * A body too large but not by much gets its 413 while it still comes, and the rest is read and dropped after the
     * answer: closed with bytes unread, the connection's reset took the answer waiting in the client's socket with it.
     */
    @Test
    void aBodyTooLargeIsAnsweredToTheClientStillSendingIt() throws IOException {
        int length = JsonBody.MAX_BYTES + 256 * 1024;
        String answer = StillSendingBody.sendTo(running.server().apiPort(), "POST /api/tunnels HTTP/1.1\r\nHost: localhost\r\n"
                + "Authorization: Bearer " + running.server().adminToken() + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + length + "\r\nConnection: close\r\n\r\n", length);

        assertThat(answer).startsWith("HTTP/1.1 413 ").contains("\"body_too_large\"");
        assertThat(running.api().get("/api/tunnels").json()).isEmpty();
    }

    @Test
    void unknownPathsAndMethodsAreJsonErrors() {
        assertError(running.api().get("/api/nothing-here"), 404, "not_found");
        assertError(running.api().send("PUT", "/api/tunnels", "application/json", "{}"), 405, "method_not_allowed");
    }
}
