package io.picotunnel.server.auth;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.HttpHead;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failed authentication is logged and throttled per address, on the three places a secret is checked: the API's
 * admin token, the sign-in form, and the tunnel endpoint's tunnel tokens. The attacker connects from 127.0.0.2,
 * the operator from 127.0.0.1: real sockets, two addresses.
 */
class FailedLoginThrottleTest {

    private static final String ADMIN_TOKEN = "a".repeat(64);
    private static final String WRONG = "w".repeat(64);
    private static final int FREE = FailedLogins.MANAGEMENT.freeFailures();

    @TempDir
    Path dataDir;
    private PicoTunnelServer server;
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger failuresLogger = (Logger) LoggerFactory.getLogger(FailedLogins.class);

    @BeforeEach
    void start() {
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN)),
                new PrintStream(new ByteArrayOutputStream()));
        log.start();
        failuresLogger.addAppender(log);
    }

    @AfterEach
    void stop() {
        failuresLogger.detachAppender(log);
        server.close();
    }

    private record Answer(int status, String head, String body) {
    }

    /** One HTTP/1.1 request on a fresh connection from {@code from}; the whole answer (the server closes or sends a length). */
    private static Answer request(String from, int port, String method, String target, Map<String, String> headers, String body)
            throws IOException {
        try (Socket socket = new Socket(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName(from), 0)) {
            socket.setSoTimeout(10_000);
            StringBuilder head = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: localhost:" + port
                    + "\r\nConnection: close\r\n");
            headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
            byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            if (body != null) {
                head.append("Content-Length: ").append(bytes.length).append("\r\n");
            }
            head.append("\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            InputStream in = socket.getInputStream();
            String headText = HttpHead.read(in).strip();
            int status = Integer.parseInt(headText.substring(9, 12));
            if (status == 101) {
                return new Answer(status, headText, "");
            }
            java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?im)^content-length:\\s*(\\d+)").matcher(headText);
            byte[] responseBody = length.find() ? in.readNBytes(Integer.parseInt(length.group(1))) : in.readNBytes(64 * 1024);
            return new Answer(status, headText, new String(responseBody, StandardCharsets.UTF_8));
        }
    }

    private Answer api(String from, String token) throws IOException {
        return request(from, server.apiPort(), "GET", "/api/tunnels", Map.of("Authorization", "Bearer " + token), null);
    }

    private Answer signInForm(String from, String token) throws IOException {
        return request(from, server.apiPort(), "POST", "/auth/token", Map.of("Content-Type", "application/json",
                ManagementAuth.CSRF_HEADER, "1", "Origin", "http://localhost:" + server.apiPort()), "{\"token\":\"" + token + "\"}");
    }

    private Answer tunnel(String from, String token) throws IOException {
        return request(from, server.tunnelPort(), "GET", "/tunnel", Map.of("Authorization", "Bearer " + token,
                "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13",
                "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol", "tunnel"), null);
    }

    private String logged() {
        return String.join("\n", log.list.stream().map(ILoggingEvent::getFormattedMessage).toList());
    }

    @Test
    void wrongAdminTokensOnTheApiAreLoggedThenAnswered429WhileTheRightTokenFromAnotherAddressWorks() throws IOException {
        for (int i = 1; i <= FREE; i++) {
            assertThat(api("127.0.0.2", WRONG).status()).as("failure %d", i).isEqualTo(401);
        }
        Answer throttled = api("127.0.0.2", WRONG);
        assertThat(throttled.status()).isEqualTo(429);
        assertThat(throttled.head()).containsIgnoringCase("Retry-After: ");
        assertThat(throttled.body()).contains("\"error\":\"too_many_attempts\"").contains("\"message\":\"Too many failed attempts");
        assertThat(api("127.0.0.2", ADMIN_TOKEN).status()).as("the attacker's address waits, even with the token").isEqualTo(429);

        assertThat(api("127.0.0.1", ADMIN_TOKEN).status()).as("the operator's address is not locked out").isEqualTo(200);
        assertThat(api("127.0.0.1", WRONG).status()).isEqualTo(401);

        assertThat(logged()).contains("management API: authentication failed from 127.0.0.2: a wrong admin token")
                .contains("on GET /api/tunnels").contains("failure " + FREE + " from this address").contains("it must wait 1 s before trying again")
                .contains("from 127.0.0.1").doesNotContain(WRONG).doesNotContain(ADMIN_TOKEN);
    }

    /** The length logged is the token's: "Bearer wrong" was logged as 12 characters. */
    @Test
    void aWrongAdminTokenIsLoggedWithTheLengthOfTheTokenNotOfTheHeader() throws IOException {
        assertThat(api("127.0.0.2", "wrong").status()).isEqualTo(401);

        assertThat(logged()).contains("management API: authentication failed from 127.0.0.2: a wrong admin token"
                + " (Authorization header, 5 characters) on GET /api/tunnels");
    }

    @Test
    void wrongTokensOnTheSignInFormAreThrottledPerAddress() throws IOException {
        for (int i = 1; i <= FREE; i++) {
            Answer wrong = signInForm("127.0.0.2", WRONG);
            assertThat(wrong.status()).as("failure %d", i).isEqualTo(401);
            assertThat(wrong.head()).doesNotContain("picotunnel_session=");
        }
        Answer throttled = signInForm("127.0.0.2", ADMIN_TOKEN);
        assertThat(throttled.status()).isEqualTo(429);
        assertThat(throttled.head()).doesNotContain("picotunnel_session=");

        Answer operator = signInForm("127.0.0.1", ADMIN_TOKEN);
        assertThat(operator.status()).isEqualTo(200);
        assertThat(operator.head()).contains("picotunnel_session=");
        assertThat(logged()).contains("from 127.0.0.2: a wrong admin token on the sign-in form").doesNotContain(WRONG);
    }

    @Test
    void theApiAndTheFormShareOneCountPerAddress() throws IOException {
        for (int i = 0; i < FREE - 1; i++) {
            api("127.0.0.2", WRONG);
        }
        signInForm("127.0.0.2", WRONG);
        assertThat(api("127.0.0.2", WRONG).status()).isEqualTo(429);
    }

    @Test
    void aSuccessClearsTheAddressesFailures() throws IOException {
        for (int i = 0; i < FREE - 1; i++) {
            assertThat(api("127.0.0.2", WRONG).status()).isEqualTo(401);
        }
        assertThat(api("127.0.0.2", ADMIN_TOKEN).status()).isEqualTo(200);
        for (int i = 0; i < FREE - 1; i++) {
            assertThat(api("127.0.0.2", WRONG).status()).isEqualTo(401);
        }
        assertThat(api("127.0.0.2", ADMIN_TOKEN).status()).isEqualTo(200);
    }

    @Test
    void wrongTunnelTokensAreLoggedThenAnswered429WhileAValidClientFromAnotherAddressConnects() throws IOException {
        Tunnel tunnel = server.store().createTunnel("t");
        int free = FailedLogins.TUNNEL.freeFailures();
        for (int i = 1; i <= free; i++) {
            assertThat(tunnel("127.0.0.2", WRONG).status()).as("failure %d", i).isEqualTo(401);
        }
        Answer throttled = tunnel("127.0.0.2", WRONG);
        assertThat(throttled.status()).isEqualTo(429);
        assertThat(throttled.head()).containsIgnoringCase("Retry-After: ");
        assertThat(throttled.body()).contains("too_many_attempts");

        assertThat(tunnel("127.0.0.1", tunnel.token()).status()).as("a valid client elsewhere upgrades").isEqualTo(101);
        assertThat(logged()).contains("tunnel endpoint: authentication failed from 127.0.0.2: a tunnel token that belongs to no tunnel")
                .doesNotContain(WRONG).doesNotContain(tunnel.token());
    }

    /**
     * Behind a reverse proxy (127.0.0.3, trusted) every request comes from the proxy: the failures count the visitor
     * its X-Forwarded-For names, so an attacker's wrong tokens do not make the operator behind the same proxy wait.
     * A peer that is not a trusted proxy cannot dodge the limit by writing the header itself.
     */
    @Test
    void behindATrustedReverseProxyFailuresCountTheForwardedVisitorNotTheProxy() throws IOException {
        server.close();
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN,
                Setting.TRUSTED_PROXIES, "127.0.0.3")), new PrintStream(new ByteArrayOutputStream()));
        for (int i = 1; i <= FREE; i++) {
            assertThat(apiThrough("127.0.0.3", "203.0.113.7", WRONG).status()).as("failure %d", i).isEqualTo(401);
        }
        assertThat(apiThrough("127.0.0.3", "203.0.113.7", WRONG).status()).isEqualTo(429);
        assertThat(apiThrough("127.0.0.3", "198.51.100.2", ADMIN_TOKEN).status())
                .as("the operator behind the same proxy").isEqualTo(200);
        assertThat(logged()).contains("authentication failed from 203.0.113.7");

        for (int i = 1; i <= FREE; i++) {
            assertThat(apiThrough("127.0.0.2", "192.0.2." + i, WRONG).status()).as("failure %d", i).isEqualTo(401);
        }
        assertThat(apiThrough("127.0.0.2", "192.0.2.99", WRONG).status()).as("untrusted peer, forged header")
                .isEqualTo(429);
    }

    /**
     * The tunnel endpoint behind a reverse proxy (127.0.0.3, trusted): one client with a revoked token does not make
     * the other clients behind the same proxy wait to reconnect; an untrusted peer's own header changes nothing.
     */
    @Test
    void behindATrustedReverseProxyWrongTunnelTokensCountTheForwardedClientNotTheProxy() throws IOException {
        server.close();
        server = PicoTunnelServer.start(ServerConfig.ephemeral(dataDir, Map.of(Setting.ADMIN_TOKEN, ADMIN_TOKEN,
                Setting.TRUSTED_PROXIES, "127.0.0.3")), new PrintStream(new ByteArrayOutputStream()));
        Tunnel tunnel = server.store().createTunnel("t");
        int free = FailedLogins.TUNNEL.freeFailures();
        for (int i = 1; i <= free; i++) {
            assertThat(tunnelThrough("127.0.0.3", "203.0.113.7", WRONG).status()).as("failure %d", i).isEqualTo(401);
        }
        assertThat(tunnelThrough("127.0.0.3", "203.0.113.7", WRONG).status()).isEqualTo(429);
        assertThat(tunnelThrough("127.0.0.3", "198.51.100.2", tunnel.token()).status())
                .as("another client behind the same proxy").isEqualTo(101);
        assertThat(logged()).contains("tunnel endpoint: authentication failed from 203.0.113.7");

        for (int i = 1; i <= free; i++) {
            assertThat(tunnelThrough("127.0.0.2", "192.0.2." + i, WRONG).status()).as("failure %d", i).isEqualTo(401);
        }
        assertThat(tunnelThrough("127.0.0.2", "192.0.2.99", WRONG).status()).as("untrusted peer, forged header")
                .isEqualTo(429);
    }

    private Answer tunnelThrough(String proxy, String client, String token) throws IOException {
        return request(proxy, server.tunnelPort(), "GET", "/tunnel", Map.of("Authorization", "Bearer " + token,
                "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13",
                "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol", "tunnel",
                "X-Forwarded-For", client), null);
    }

    private Answer apiThrough(String proxy, String visitor, String token) throws IOException {
        return request(proxy, server.apiPort(), "GET", "/api/tunnels", Map.of("Authorization", "Bearer " + token,
                "X-Forwarded-For", visitor), null);
    }
}
