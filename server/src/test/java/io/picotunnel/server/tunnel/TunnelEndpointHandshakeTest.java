package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.net.LingeringClose;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.RefusedSender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static io.picotunnel.server.tunnel.RawPeerEndpoint.upgradeRequest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The HTTP phase of the tunnel endpoint: everything that is answered before any WebSocket upgrade. */
class TunnelEndpointHandshakeTest {

    private static final String TOKEN = "a".repeat(64);
    /** A token whose lookup fails, as with a database that cannot be read. */
    private static final String BROKEN_STORE_TOKEN = "e".repeat(64);
    private static final Tunnel TUNNEL = new Tunnel("0123456789abcdef", "demo", TOKEN, Instant.EPOCH, Instant.EPOCH);
    /**
     * A tunnel whose name the API would refuse but the database holds (written by an older version or by hand): a
     * line break and a right-to-left override.
     */
    private static final Tunnel HOSTILE_NAME = new Tunnel("fedcba9876543210", "demo\nINFO forged\u202Etxt.exe",
            "d".repeat(64), Instant.EPOCH, Instant.EPOCH);

    /** More than the socket buffers on loopback hold, and more than a lingering close reads by default. */
    private static final int LARGE_BODY = 4 * 1024 * 1024;

    private final AtomicInteger lookups = new AtomicInteger();
    private RawPeerEndpoint peer;

    @BeforeEach
    void start() throws IOException {
        TunnelTokens tokens = TunnelTokens.of(token -> {
            lookups.incrementAndGet();
            if (BROKEN_STORE_TOKEN.equals(token)) {
                throw new IllegalStateException("database is locked");
            }
            if (HOSTILE_NAME.token().equals(token)) {
                return Optional.of(HOSTILE_NAME);
            }
            return TOKEN.equals(token) ? Optional.of(TUNNEL) : Optional.empty();
        }, id -> Stream.of(TUNNEL, HOSTILE_NAME).filter(t -> t.id().equals(id)).findFirst());
        peer = RawPeerEndpoint.start(TunnelEndpointConfig.defaults().withHandshakeTimeout(Duration.ofMillis(300)),
                tokens, 1, "tunnel-test");
    }

    @AfterEach
    void stop() {
        peer.close();
    }

    @Test
    void unknownTokenGets401LikeAMissingOne() throws IOException {
        RawHttp.Answer unknown = RawHttp.exchange(peer.port(), upgradeRequest("/tunnel?token=" + "b".repeat(64), ""));
        RawHttp.Answer missing = RawHttp.exchange(peer.port(), upgradeRequest("/tunnel", ""));
        RawHttp.Answer badBearer = RawHttp.exchange(peer.port(),
                upgradeRequest("/tunnel", "Authorization: Bearer " + "c".repeat(64) + "\r\n"));

        assertThat(unknown.status()).isEqualTo(401);
        assertThat(unknown.body()).contains("\"error\":\"unauthorized\"");
        assertThat(missing.status()).isEqualTo(401);
        assertThat(badBearer.status()).isEqualTo(401);
        assertThat(missing.body()).isEqualTo(unknown.body()).isEqualTo(badBearer.body());
        assertThat(unknown.head()).containsIgnoringCase("WWW-Authenticate: Bearer");
        assertThat(peer.registry().connectedCount()).isZero();
    }

    @Test
    void aWrongTokenIsLoggedByItsLengthInCorrectEnglish() throws IOException {
        try (LogCapture log = new LogCapture(FailedLogins.class, Level.WARN)) {
            RawHttp.exchange(peer.port(), upgradeRequest("/tunnel?token=x", ""));
            RawHttp.exchange(peer.port(), upgradeRequest("/tunnel?token=xy", ""));

            await().atMost(5, TimeUnit.SECONDS).until(() -> log.messages(Level.WARN).size() == 2);
            // Was "(1 characters)".
            assertThat(log.messages(Level.WARN).get(0)).contains("a tunnel token that belongs to no tunnel (1 character)")
                    .doesNotContain("token=x");
            assertThat(log.messages(Level.WARN).get(1)).contains("(2 characters)");
        }
    }

    @Test
    void validTokenWithoutUpgradeHeadersGets400() throws IOException {
        RawHttp.Answer answer = RawHttp.exchange(peer.port(),
                "GET /tunnel?token=" + TOKEN + " HTTP/1.1\r\nHost: localhost\r\n\r\n");

        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.body()).contains("WebSocket upgrade");
    }

    @Test
    void otherPathsGet404WithoutTokenLookup() throws IOException {
        RawHttp.Answer answer = RawHttp.exchange(peer.port(), upgradeRequest("/api/tunnels?token=" + TOKEN, ""));

        assertThat(answer.status()).isEqualTo(404);
        assertThat(answer.body()).contains("\"error\":\"not_found\"");
        assertThat(lookups).hasValue(0);
    }

    @Test
    void postToTunnelGets405() throws IOException {
        RawHttp.Answer answer = RawHttp.exchange(peer.port(),
                "POST /tunnel?token=" + TOKEN + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");

        assertThat(answer.status()).isEqualTo(405);
        assertThat(answer.head()).contains("allow: GET");
    }

    @Test
    void oversizedHeadersGet431() throws IOException {
        String huge = "X-Filler: " + "x".repeat(TunnelEndpoint.MAX_HEADER_SIZE) + "\r\n";

        RawHttp.Answer answer = RawHttp.exchange(peer.port(), upgradeRequest("/tunnel?token=" + TOKEN, huge));

        assertThat(answer.status()).isEqualTo(431);
        assertThat(lookups).hasValue(0);
    }

    @Test
    void requestWithABodyGets413WithoutTokenLookup() throws IOException {
        RawHttp.Answer answer = RawHttp.exchange(peer.port(),
                upgradeRequest("/tunnel?token=" + TOKEN, "Content-Length: 5\r\n") + "hello");

        assertThat(answer.status()).isEqualTo(413);
        assertThat(lookups).hasValue(0);
    }

    @Test
    void aRequestWithALargeBodyGetsTheWhole413AndAnOrderlyClose() throws Exception {
        // 4 MiB in one chunk, sent while the answer comes: more than the socket buffers hold, and more than the
        // lingering close reads (1 MiB), so it also closes with some of it unread, after its FIN.
        String answer = refusedWhileSending("POST /tunnel HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(LARGE_BODY) + "\r\n");

        assertWholeAnswer(answer, 413, "body_not_allowed");
        assertThat(lookups).hasValue(0);
    }

    @Test
    void aRequestExpecting100ContinueGetsTheJson413AndACloseAtOnce() throws IOException {
        // Netty's aggregator answered these itself: a bare 413 without Connection: close, the connection then left
        // open until the handshake timeout, or 100 Continue for a chunked body.
        for (String body : new String[] {"Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"}) {
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), peer.port())) {
                socket.setSoTimeout(5_000);
                socket.getOutputStream().write(upgradeRequest("/tunnel?token=" + TOKEN, body + "Expect: 100-continue\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));

                assertWholeAnswer(RawHttp.readToEnd(socket.getInputStream()), 413, "body_not_allowed");
            }
        }
        assertThat(lookups).hasValue(0);
    }

    @Test
    void aBrokenPercentEncodingInTheUrlGets400NotAClosedConnection() throws IOException {
        for (String target : new String[] {"/tunnel?token=%zz", "/tunnel?token=abc%", "/tunnel%zz"}) {
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), peer.port())) {
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(upgradeRequest(target, "").getBytes(StandardCharsets.ISO_8859_1));

                String answer = RawHttp.readToEnd(socket.getInputStream());
                assertThat(answer).as(target).isNotEmpty();
                assertWholeAnswer(answer, 400, "bad_request");
            }
        }
        assertThat(lookups).hasValue(0);
    }

    @Test
    void aRefusedClientThatKeepsSendingAfterItsRequestGetsTheWhole401AndAnOrderlyClose() throws Exception {
        String answer = refusedWhileSending(upgradeRequest("/tunnel", ""));

        assertWholeAnswer(answer, 401, "unauthorized");
    }

    @Test
    void aRefusedClientThatKeepsSendingSlowlyIsCutAtTheLingerTime() throws Exception {
        peer.endpoint().linger(new LingeringClose.Bounds(Duration.ofMillis(800), Duration.ofMillis(1500), 1024 * 1024));
        ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), peer.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(upgradeRequest("/tunnel", "").getBytes(StandardCharsets.ISO_8859_1));
            String answer = RawHttp.readToEnd(socket.getInputStream());
            long answered = System.nanoTime();
            assertWholeAnswer(answer, 401, "unauthorized");
            assertThat(peer.endpoint().openConnections()).as("connections lingering after the answer").isEqualTo(1);

            // A byte every 100 ms: never 800 ms without data, so only the 1.5 s in all ends it.
            drip.scheduleAtFixedRate(() -> {
                try {
                    out.write('x');
                } catch (IOException e) {
                    throw new UncheckedIOException(e); // cut: no more drips
                }
            }, 0, 100, TimeUnit.MILLISECONDS);
            await().atMost(4, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(20))
                    .until(() -> peer.endpoint().openConnections() == 0);
            assertThat(Duration.ofNanos(System.nanoTime() - answered))
                    .as("how long the dripping client was read").isGreaterThan(Duration.ofMillis(1000));
        } finally {
            drip.shutdownNow();
        }
    }

    @Test
    void aRefusedClientThatSendsNothingMoreAndStaysIsCutAfterTheLingerIdleTime() throws Exception {
        peer.endpoint().linger(new LingeringClose.Bounds(Duration.ofSeconds(1), Duration.ofSeconds(30), 1024 * 1024));
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), peer.port())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(upgradeRequest("/tunnel", "").getBytes(StandardCharsets.ISO_8859_1));

            assertWholeAnswer(RawHttp.readToEnd(socket.getInputStream()), 401, "unauthorized");
            // Still read after the answer (an immediate close would be gone at once), then cut at the idle time.
            await().during(300, TimeUnit.MILLISECONDS).atMost(2, TimeUnit.SECONDS)
                    .until(() -> peer.endpoint().openConnections() == 1);
            await().atMost(3, TimeUnit.SECONDS).until(() -> peer.endpoint().openConnections() == 0);
        }
    }

    @Test
    void aRefusedClientThatKeepsSendingFastIsCutAfterTheLingerBytes() throws Exception {
        peer.endpoint().linger(new LingeringClose.Bounds(Duration.ofSeconds(30), Duration.ofSeconds(30), 64 * 1024));
        ExecutorService sender = Executors.newSingleThreadExecutor();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), peer.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(upgradeRequest("/tunnel", "").getBytes(StandardCharsets.ISO_8859_1));
            assertWholeAnswer(RawHttp.readToEnd(socket.getInputStream()), 401, "unauthorized");
            // Read after the answer for as long as the client sends nothing (an immediate close would be gone).
            await().during(500, TimeUnit.MILLISECONDS).atMost(2, TimeUnit.SECONDS)
                    .until(() -> peer.endpoint().openConnections() == 1);

            sender.submit(() -> {
                byte[] chunk = new byte[16 * 1024];
                for (int i = 0; i < 4096; i++) { // 64 MiB at most
                    out.write(chunk);
                }
                return null;
            });
            await().atMost(3, TimeUnit.SECONDS).until(() -> peer.endpoint().openConnections() == 0);
        } finally {
            sender.shutdownNow();
        }
    }

    /**
     * Sends {@code head}, then {@link #LARGE_BODY} bytes without waiting for the answer, and reads the answer up to
     * the server's close ({@link RefusedSender}): a reset (the server closed with the client's bytes unread) is a
     * {@code SocketException: Connection reset} here.
     */
    private String refusedWhileSending(String head) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), peer.port())) {
            socket.setSoTimeout(10_000);
            return RefusedSender.send(socket, head, LARGE_BODY);
        }
    }

    /** The status line, {@code Connection: close}, and the JSON body whole, as its Content-Length says. */
    private static void assertWholeAnswer(String answer, int status, String error) {
        int split = answer.indexOf("\r\n\r\n");
        assertThat(split).as("end of the head in: %s", answer).isPositive();
        String head = answer.substring(0, split);
        String body = answer.substring(split + 4);
        assertThat(head).startsWith("HTTP/1.1 " + status + " ");
        assertThat(head.lines()).as("the head's lines").anyMatch(line -> line.equalsIgnoreCase("connection: close"))
                .anyMatch(line -> line.equalsIgnoreCase("content-length: " + body.length()));
        assertThat(body).startsWith("{\"error\":\"" + error + "\"").endsWith("}");
    }

    @Test
    void anUnsupportedWebSocketVersionGets426NamingVersion13AndAClose() throws IOException {
        // The default handshake timeout: run first in a cold JVM, the token lookup and the handshaker can take longer
        // than the fixture's 300 ms, and the connection was closed without an answer.
        peer.restart(TunnelEndpointConfig.defaults(), RawPeerEndpoint.oneToken(TUNNEL));

        RawHttp.Answer answer = RawHttp.exchange(peer.port(), upgradeRequest("/tunnel?token=" + TOKEN, "")
                .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 99"));

        assertThat(answer.status()).isEqualTo(426);
        assertThat(answer.head().lines()).as("the head's lines")
                .anyMatch(line -> line.equalsIgnoreCase("sec-websocket-version: 13"))
                .anyMatch(line -> line.equalsIgnoreCase("connection: close"));
        assertThat(answer.body()).contains("\"error\":\"unsupported_websocket_version\"");
    }

    @Test
    void overlongRequestLineGets414() throws IOException {
        RawHttp.Answer answer = RawHttp.exchange(peer.port(),
                upgradeRequest("/tunnel?token=" + "t".repeat(TunnelEndpoint.MAX_INITIAL_LINE), ""));

        assertThat(answer.status()).isEqualTo(414);
    }

    @Test
    void connectionThatSendsNothingIsClosedAfterTheHandshakeTimeout() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), peer.port())) {
            socket.setSoTimeout(10_000);

            assertThat(socket.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void clientVersionAndHostnameAreKeptWithoutControlCharactersAndWithinTheirLimits() throws IOException {
        String version = "1.2.3\t-\u009b31m\u0085beta";
        String hostname = " build-" + "h".repeat(400) + " ";
        try (Socket upgraded = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": " + version + "\r\n"
                + TunnelHandshakeHandler.HOSTNAME_HEADER + ": " + hostname + "\r\n")) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> peer.registry().clients(TUNNEL.id()).size() == 1);

            ConnectedClient client = peer.registry().clients(TUNNEL.id()).getFirst();
            assertThat(client.version()).isEqualTo("1.2.3-31mbeta");
            assertThat(client.hostname()).hasSize(TunnelHandshakeHandler.MAX_HOSTNAME_LENGTH)
                    .startsWith("build-hhh").doesNotContain(" ");
            assertThat(client.remoteAddr()).isEqualTo("127.0.0.1:" + upgraded.getLocalPort());
            assertThat(client.id()).matches("[0-9a-f]{16}");
            assertThat(client.connectedSince()).isNotNull();
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> !peer.registry().isConnected(TUNNEL.id()));
    }

    @Test
    void clientVersionAndHostnameAreKeptWithoutInvisibleFormattingCharacters() throws IOException {
        // Header bytes are read as ISO-8859-1: 0xAD is the soft hyphen U+00AD, a Cf character most fonts do not show.
        try (Socket upgraded = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": 1.2\u00ad.3\r\n"
                + TunnelHandshakeHandler.HOSTNAME_HEADER + ": \u00adbuild\u00ad-1\u00ad\r\n")) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> peer.registry().clients(TUNNEL.id()).size() == 1);

            ConnectedClient client = peer.registry().clients(TUNNEL.id()).getFirst();
            assertThat(client.version()).isEqualTo("1.2.3");
            assertThat(client.hostname()).isEqualTo("build-1");
            assertThat(upgraded.isClosed()).isFalse();
        }
    }

    @Test
    void aTunnelNameWithALineBreakOrBidiOverrideIsLoggedWrittenOutOnConnectAndDisconnect() throws IOException {
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.INFO)) {
            try (Socket upgraded = peer.upgrade(HOSTILE_NAME.token(),
                    TunnelHandshakeHandler.VERSION_HEADER + ": 1.2.3\r\n")) {
                await().atMost(5, TimeUnit.SECONDS).until(() -> peer.registry().isConnected(HOSTILE_NAME.id()));
                assertThat(upgraded.isClosed()).isFalse();
            }
            await().atMost(5, TimeUnit.SECONDS).until(() -> log.messages(Level.INFO).size() == 2);

            assertThat(log.messages(Level.INFO)).allSatisfy(line -> assertThat(line)
                    .contains("tunnel fedcba9876543210 (demo\\nINFO forged\\u202etxt.exe): client ")
                    .doesNotContain("\n", "\u202E"));
            assertThat(log.messages(Level.INFO).getFirst()).contains("(version 1.2.3, host unknown)");
        }
    }

    @Test
    void aClientsArrivalIsLoggedWithItsAddressAsTheApiGivesItAndUnknownForWhatItDidNotSay() throws IOException {
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.INFO);
             Socket upgraded = peer.upgrade(TOKEN, "")) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> log.messages(Level.INFO).size() == 1);

            String address = peer.registry().clients(TUNNEL.id()).getFirst().remoteAddr();
            assertThat(address).isEqualTo("127.0.0.1:" + upgraded.getLocalPort());
            // Was "connected from /127.0.0.1:34248 (version null, host null)": the socket address's toString, slash
            // and all, and the headers the client did not send as Java's null, where its event says "unknown".
            assertThat(log.messages(Level.INFO).getFirst())
                    .contains(" connected from " + address + " (version unknown, host unknown), 1 connected");
        }
    }

    @Test
    void clientThatSendsNoVersionOrHostnameHasNullForThem() throws IOException {
        try (Socket upgraded = peer.upgrade(TOKEN, TunnelHandshakeHandler.VERSION_HEADER + ": \t \r\n")) {
            await().atMost(5, TimeUnit.SECONDS).until(() -> peer.registry().clients(TUNNEL.id()).size() == 1);

            ConnectedClient client = peer.registry().clients(TUNNEL.id()).getFirst();
            assertThat(client.version()).isNull();
            assertThat(client.hostname()).isNull();
            assertThat(upgraded.isClosed()).isFalse();
        }
    }

    @Test
    void aTokenStoreThatFailsGets503WithRetryAfter() throws IOException {
        RawHttp.Answer answer = RawHttp.exchange(peer.port(),
                upgradeRequest("/tunnel?token=" + BROKEN_STORE_TOKEN, ""));

        assertThat(answer.status()).isEqualTo(503);
        assertThat(answer.body()).contains("\"error\":\"unavailable\"");
        assertThat(answer.head().lines()).as("the head's lines").anyMatch(line -> line.equalsIgnoreCase(
                "Retry-After: " + TunnelHandshakeHandler.RETRY_WHEN_STORE_FAILS.toSeconds()));
    }

    @Test
    void anUpgradeWhileTheEndpointShutsDownGets503WithRetryAfter() {
        Executor stopped = task -> {
            throw new RejectedExecutionException("token lookups have stopped");
        };
        EmbeddedChannel channel = new EmbeddedChannel(new TunnelHandshakeHandler(TunnelEndpointConfig.defaults(),
                RawPeerEndpoint.oneToken(TUNNEL), peer.registry(), stopped, new FailedLogins("test", FailedLogins.TUNNEL)));
        try {
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                    "/tunnel?token=" + TOKEN);
            channel.writeInbound(request);

            FullHttpResponse response = channel.readOutbound();
            try {
                assertThat(response.status().code()).isEqualTo(503);
                // The client (TunnelConnector.RefusalErrorCode) tells the server is stopping by this error code.
                assertThat(response.content().toString(StandardCharsets.UTF_8))
                        .isEqualTo("{\"error\":\"server_stopping\",\"message\":\"the server is shutting down\"}");
                assertThat(response.headers().get(HttpHeaderNames.RETRY_AFTER))
                        .isEqualTo(String.valueOf(TunnelHandshakeHandler.RETRY_WHEN_SHUTTING_DOWN.toSeconds()));
            } finally {
                response.release();
            }
            assertThat(request.refCnt()).as("the request is released").isZero();
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void startingTwiceOnTheSamePortSaysWhichAddressIsTaken() {
        TunnelEndpoint second = new TunnelEndpoint(TunnelEndpointConfig.defaults(),
                TunnelTokens.of(token -> Optional.empty(), id -> Optional.empty()),
                peer.registry(), peer.group(), peer.group());
        try {
            assertThatThrownBy(() -> second.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), peer.port())))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("cannot listen for tunnel clients on 127.0.0.1:" + peer.port());
        } finally {
            second.close();
        }
    }
}
