package io.picotunnel.server.auth;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.LimitedBody;
import io.picotunnel.server.net.StillSendingBody;
import io.picotunnel.server.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The admin-token sign-in form, the API guard, the CSRF defence and the Host check. */
class TokenSignInTest {

    private static final String ADMIN_TOKEN = "a".repeat(64);

    @TempDir
    Path dataDir;
    private TestManagementServer server;
    private final Browserless browser = new Browserless();

    @BeforeEach
    void start() throws Exception {
        server = TestManagementServer.start(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN, Setting.DOMAIN, "tunnel.example.com"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> signIn() throws Exception {
        return browser.uiWrite("POST", server.url("/auth/token"), "{\"token\":\"" + ADMIN_TOKEN + "\"}");
    }

    @Test
    void apiWithoutSessionOrTokenIs401WithJsonError() throws Exception {
        HttpResponse<String> response = browser.get(server.url("/api/tunnels"));
        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.body()).contains("\"error\":\"unauthorized\"").contains("\"message\"");

        HttpResponse<String> unknown = browser.get(server.url("/api/nothing-here"));
        assertThat(unknown.statusCode()).isEqualTo(401);
    }

    @Test
    void bearerAdminTokenOpensTheApiAndAWrongOneDoesNot() throws Exception {
        HttpResponse<String> ok = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels"))).GET(),
                Map.of("Authorization", "Bearer " + ADMIN_TOKEN));
        assertThat(ok.statusCode()).isEqualTo(200);
        HttpResponse<String> write = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels")))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"x\"}")),
                Map.of("Authorization", "Bearer " + ADMIN_TOKEN, "Content-Type", "application/json"));
        assertThat(write.statusCode()).as("Bearer writes need no CSRF header").isEqualTo(201);

        HttpResponse<String> wrong = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels"))).GET(),
                Map.of("Authorization", "Bearer " + "b".repeat(64)));
        assertThat(wrong.statusCode()).isEqualTo(401);
    }

    @Test
    void wrongTokenInTheFormIsRefusedAndStartsNoSession() throws Exception {
        HttpResponse<String> response = browser.uiWrite("POST", server.url("/auth/token"), "{\"token\":\"nope\"}");
        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.body()).contains("not the admin token");
        assertThat(Browserless.setCookie(response)).isEmpty();

        HttpResponse<String> garbage = browser.uiWrite("POST", server.url("/auth/token"), "{not json");
        assertThat(garbage.statusCode()).isEqualTo(400);
    }

    @Test
    void signInSetsAnHttpOnlySameSiteLaxCookieThatOpensTheApi() throws Exception {
        HttpResponse<String> response = signIn();
        assertThat(response.statusCode()).isEqualTo(200);
        String cookie = response.headers().allValues("Set-Cookie").getFirst();
        assertThat(cookie).contains("HttpOnly").contains("SameSite=Lax").contains("Path=/").doesNotContain("Secure");
        assertThat(browser.sessionCookie).hasSize(43);

        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
        assertThat(browser.get(server.url("/auth/session")).body())
                .contains("\"signed_in\":true").contains("\"method\":\"token\"").contains("\"tunnel_server\":\"ws://tunnel.example.com:");
    }

    @Test
    void overHttpsTheSessionCookieIsAHostOnlyOneAndTheNameWithoutThePrefixOpensNothing() throws Exception {
        // A TLS-terminating proxy in front says https; the cookie then gets the __Host- prefix, which only this
        // very host can set: before, a sibling domain (an app at evil.example.com next to the UI at
        // tunnel.example.com) could plant picotunnel_session with Domain=example.com, and it was read.
        HttpResponse<String> signedIn = browser.send(HttpRequest.newBuilder(URI.create(server.url("/auth/token")))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + ADMIN_TOKEN + "\"}")),
                Map.of("X-Forwarded-Proto", "https", "Content-Type", "application/json", ManagementAuth.CSRF_HEADER, "1",
                        "Origin", "http://localhost:" + server.port()));
        assertThat(signedIn.statusCode()).as(signedIn.body()).isEqualTo(200);
        String cookie = signedIn.headers().allValues("Set-Cookie").getFirst();
        assertThat(cookie).startsWith("__Host-picotunnel_session=").contains("; Path=/;").contains("; Secure")
                .doesNotContainIgnoringCase("domain");
        String value = Browserless.cookie(signedIn, "__Host-picotunnel_session").orElseThrow();

        assertThat(apiStatus(Map.of("X-Forwarded-Proto", "https", "Cookie", "__Host-picotunnel_session=" + value)))
                .isEqualTo(200);
        assertThat(apiStatus(Map.of("X-Forwarded-Proto", "https", "Cookie", "picotunnel_session=" + value)))
                .as("the name a sibling domain can set").isEqualTo(401);
        // Proxies in a chain append their own: the first value is the browser's, as for the proxy's services.
        assertThat(apiStatus(Map.of("X-Forwarded-Proto", "https, http", "Cookie", "__Host-picotunnel_session=" + value)))
                .as("https, then a plain hop").isEqualTo(200);
        assertThat(apiStatus(Map.of("X-Forwarded-Proto", "http, https", "Cookie", "__Host-picotunnel_session=" + value)))
                .as("http, then a TLS hop: plain names only").isEqualTo(401);
        // Plain http has no __Host- cookies: the name without the prefix, as before.
        assertThat(apiStatus(Map.of("Cookie", "picotunnel_session=" + value))).isEqualTo(200);
    }

    private int apiStatus(Map<String, String> headers) throws Exception {
        return new Browserless().send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels"))).GET(), headers)
                .statusCode();
    }

    /**
     * A signed-in browser's reads do not wait for the write lock: another program (a sqlite3 shell) holding a write
     * transaction on the database does not stop the UI from showing the tunnels.
     */
    @Test
    void aSignedInBrowserReadsWhileAnotherProgramHoldsTheDatabasesWriteLock() throws Exception {
        signIn();
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
             Statement statement = other.createStatement()) {
            statement.execute("BEGIN IMMEDIATE");
            HttpResponse<String> response = browser.get(server.url("/api/tunnels"));
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            statement.execute("ROLLBACK");
        }
    }

    @Test
    void cookieWriteFromTheUiPasses() throws Exception {
        signIn();
        assertThat(browser.uiWrite("POST", server.url("/api/tunnels"), "{\"name\":\"x\"}").statusCode()).isEqualTo(201);
    }

    @Test
    void cookieWriteWithoutTheCustomHeaderIsRejected() throws Exception {
        signIn();
        HttpResponse<String> response = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels")))
                        .POST(HttpRequest.BodyPublishers.ofString("name=x")),
                Map.of("Content-Type", "application/x-www-form-urlencoded", "Origin", "http://localhost:" + server.port()));
        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(response.body()).contains("csrf_rejected");
    }

    @Test
    void curlWithoutTheCustomHeaderIsToldWhatItLacksAndWhatScriptsSend() throws Exception {
        HttpResponse<String> signIn = browser.send(HttpRequest.newBuilder(URI.create(server.url("/auth/token")))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + ADMIN_TOKEN + "\"}")),
                Map.of("Content-Type", "application/json"));
        assertThat(signIn.statusCode()).isEqualTo(403);
        assertThat(signIn.body()).contains("csrf_rejected", "It lacks the header 'X-PicoTunnel-CSRF: 1' that the UI"
                + " sends. Scripts need no sign-in: they send 'Authorization: Bearer <admin token>' with each request.");

        signIn();
        HttpResponse<String> write = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels")))
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"x\"}")), Map.of("Content-Type", "application/json"));
        assertThat(write.statusCode()).isEqualTo(403);
        assertThat(write.body()).contains("It lacks the header 'X-PicoTunnel-CSRF: 1' that the UI sends. Scripts send"
                + " 'Authorization: Bearer <admin token>' instead of the session cookie.");

        HttpResponse<String> fromAnotherSite = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels")))
                        .POST(HttpRequest.BodyPublishers.ofString("{}")),
                Map.of("Content-Type", "application/json", ManagementAuth.CSRF_HEADER, "1", "Origin", "https://evil.example"));
        assertThat(fromAnotherSite.statusCode()).isEqualTo(403);
        assertThat(fromAnotherSite.body()).doesNotContain("lacks", "Bearer");
    }

    @Test
    void crossSiteCookieWriteIsRejected() throws Exception {
        signIn();
        HttpResponse<String> foreignOrigin = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels")))
                        .POST(HttpRequest.BodyPublishers.ofString("{}")),
                Map.of("Content-Type", "application/json", ManagementAuth.CSRF_HEADER, "1", "Origin", "https://evil.example"));
        assertThat(foreignOrigin.statusCode()).isEqualTo(403);

        HttpResponse<String> crossSiteFetch = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels")))
                        .POST(HttpRequest.BodyPublishers.ofString("{}")),
                Map.of("Content-Type", "application/json", ManagementAuth.CSRF_HEADER, "1", "Sec-Fetch-Site", "cross-site"));
        assertThat(crossSiteFetch.statusCode()).isEqualTo(403);

        HttpResponse<String> crossSiteDelete = browser.send(HttpRequest.newBuilder(URI.create(server.url("/api/tunnels")))
                        .DELETE(),
                Map.of("Origin", "null"));
        assertThat(crossSiteDelete.statusCode()).isEqualTo(403);
    }

    @Test
    void signInThatIsNotJsonIs415AndStartsNoSession() throws Exception {
        String json = "{\"token\":\"" + ADMIN_TOKEN + "\"}";
        Map<String, String> ui = Map.of(ManagementAuth.CSRF_HEADER, "1", "Origin", server.url(""));
        for (String contentType : new String[] {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                "application/jsonx", null}) {
            Map<String, String> headers = new java.util.HashMap<>(ui);
            if (contentType != null) {
                headers.put("Content-Type", contentType);
            }
            HttpResponse<String> response = browser.send(HttpRequest.newBuilder(URI.create(server.url("/auth/token")))
                    .POST(HttpRequest.BodyPublishers.ofString(json)), headers);
            assertThat(response.statusCode()).as(contentType).isEqualTo(415);
            assertThat(response.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/json");
            assertThat(response.body()).contains("\"error\":\"unsupported_media_type\"").contains("\"message\"");
            assertThat(Browserless.setCookie(response)).as(contentType).isEmpty();
        }
        // What the UI sends, with or without a charset.
        HttpResponse<String> withCharset = browser.send(HttpRequest.newBuilder(URI.create(server.url("/auth/token")))
                .POST(HttpRequest.BodyPublishers.ofString(json)), Map.of(ManagementAuth.CSRF_HEADER, "1", "Origin",
                server.url(""), "Content-Type", "Application/JSON; charset=utf-8"));
        assertThat(withCharset.statusCode()).isEqualTo(200);
        assertThat(signIn().statusCode()).isEqualTo(200);
    }

    @Test
    void aSignInBodyOverTheSizeLimitIs413() throws Exception {
        // Javalin's refusal of the body was caught with malformed JSON: 400 'Enter the admin token.'.
        String json = "{\"token\":\"" + ADMIN_TOKEN + "\",\"padding\":\"" + "x".repeat(70_000) + "\"}";
        HttpResponse<String> response = browser.uiWrite("POST", server.url("/auth/token"), json);

        assertThat(response.statusCode()).as(response.body()).isEqualTo(413);
        assertThat(response.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/json");
        assertThat(response.body()).contains("\"error\":\"body_too_large\"").contains("\"message\"");
        assertThat(Browserless.setCookie(response)).isEmpty();
    }

    /**
     * A sign-in too large but not by much gets its 413 while the browser still sends it, and the rest is read and
     * dropped after the answer: closed with bytes unread, the connection's reset took the answer waiting in the
     * client's socket with it.
     */
    @Test
    void aSignInTooLargeIsAnsweredToTheClientStillSendingIt() throws IOException {
        int first = LimitedBody.MAX_BYTES + 1024; // past the limit: a reader that stops there has all it asks for
        int length = first + 256 * 1024;
        String authority = "localhost:" + server.port();
        String answer = StillSendingBody.sendTo(server.port(), "POST /auth/token HTTP/1.1\r\nHost: " + authority + "\r\n"
                + "Origin: http://" + authority + "\r\n" + ManagementAuth.CSRF_HEADER + ": 1\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + length + "\r\nConnection: close\r\n\r\n",
                first, length);

        assertThat(answer).startsWith("HTTP/1.1 413 ").contains("\"body_too_large\"").doesNotContain("Set-Cookie");
    }

    /** Declared too large by a client that sends it only once asked: the 413 at once, no {@code 100 Continue}. */
    @Test
    void aSignInDeclaredTooLargeByAClientExpecting100ContinueGetsThe413WithoutA100() throws IOException {
        String authority = "localhost:" + server.port();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("POST /auth/token HTTP/1.1\r\nHost: " + authority + "\r\nOrigin: http://"
                    + authority + "\r\n" + ManagementAuth.CSRF_HEADER + ": 1\r\nContent-Type: application/json\r\n"
                    + "Expect: 100-continue\r\nContent-Length: " + (LimitedBody.MAX_BYTES + 1) + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));

            StringBuilder answer = new StringBuilder();
            InputStream in = socket.getInputStream();
            for (int b; !answer.toString().endsWith("}") && (b = in.read()) >= 0; ) {
                answer.append((char) b);
            }

            assertThat(answer.toString()).startsWith("HTTP/1.1 413 ").contains("\"body_too_large\"");
        }
    }

    @Test
    void signInFromAnotherSiteIsRejected() throws Exception {
        HttpResponse<String> response = browser.send(HttpRequest.newBuilder(URI.create(server.url("/auth/token")))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + ADMIN_TOKEN + "\"}")),
                Map.of("Content-Type", "application/json", ManagementAuth.CSRF_HEADER, "1", "Origin", "https://evil.example"));
        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(Browserless.setCookie(response)).isEmpty();
    }

    @Test
    void logoutEndsTheSession() throws Exception {
        signIn();
        String oldSession = browser.sessionCookie;
        HttpResponse<String> logout = browser.uiWrite("POST", server.url("/auth/logout"), "");
        assertThat(logout.statusCode()).isEqualTo(200);
        assertThat(logout.headers().firstValue("Set-Cookie").orElseThrow()).contains("Max-Age=0");

        browser.sessionCookie = oldSession;
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).as("the old cookie no longer works").isEqualTo(401);
    }

    @Test
    void sessionSurvivesAServerRestart() throws Exception {
        signIn();
        server.close();
        server = TestManagementServer.start(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN, Setting.DOMAIN, "tunnel.example.com"));
        assertThat(browser.get(server.url("/api/tunnels")).statusCode()).isEqualTo(200);
    }

    @Test
    void withAuthenticationAnyHostIsAnsweredAndTheApiStillWantsCredentials() throws Exception {
        // A Kubernetes probe sends the pod's IP as Host, curl the server's IP, an Ingress its own name: all were 421
        // with PICOTUNNEL_DOMAIN set, though a rebound name gains nothing where every route wants credentials.
        for (String host : new String[] {"10.1.2.3:8080", "admin.example.com", "evil.example", "tunnel.example.com",
            "localhost:" + server.port(), "[::1]:8080"}) {
            String health = Browserless.rawStatusLine(server.port(), "GET /health HTTP/1.1\r\nHost: " + host
                    + "\r\nConnection: close\r\n\r\n");
            assertThat(health).as(host).startsWith("HTTP/1.1 200");
            String anonymous = Browserless.rawStatusLine(server.port(), "GET /api/tunnels HTTP/1.1\r\nHost: " + host
                    + "\r\nConnection: close\r\n\r\n");
            assertThat(anonymous).as(host).startsWith("HTTP/1.1 401");
            String withToken = Browserless.rawStatusLine(server.port(), "GET /api/tunnels HTTP/1.1\r\nHost: " + host
                    + "\r\nAuthorization: Bearer " + ADMIN_TOKEN + "\r\nConnection: close\r\n\r\n");
            assertThat(withToken).as(host).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void withoutADomainAnyHostIsAnswered() throws Exception {
        server.close();
        server = TestManagementServer.start(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN));
        String status = Browserless.rawStatusLine(server.port(), "GET /health HTTP/1.1\r\nHost: 192.0.2.10:8080\r\nConnection: close\r\n\r\n");
        assertThat(status).startsWith("HTTP/1.1 200");
    }

    @Test
    void sessionEndpointTellsTheSignedOutUiToShowTheTokenForm() throws Exception {
        assertThat(browser.get(server.url("/auth/session")).body()).contains("\"signed_in\":false").contains("\"method\":\"token\"");
    }
}
