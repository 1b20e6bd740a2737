package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.picotunnel.protocol.net.Transport;
import io.netty.util.concurrent.Future;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ProxyUrl;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ConnectFailuresTest {

    private static final ServerAddress SERVER = ServerAddress.parse("ws://127.0.0.1:8443");

    /** The event loop of the tests that connect, made by the first attempt. */
    private EventLoopGroup group;

    @AfterEach
    void closeEventLoop() throws InterruptedException {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Starts a client of {@code server} whose attempts time out after 3 s, and stops it again once it logged a WARN:
     * the first WARN {@code log} caught.
     */
    private static String firstWarning(String server, LogCapture log) {
        TunnelClient client = new TunnelClient(ClientConfig.of(ServerAddress.parse(server), "e".repeat(64))
                .withShutdownGrace(Duration.ZERO), YamuxConfig.defaults(), new Backoff(), Duration.ofSeconds(3));
        client.start();
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            return log.messages(Level.WARN).getFirst();
        } finally {
            client.stop(Duration.ZERO).join();
        }
    }

    /** A connector to {@code address} with default settings; {@code serverTls} for a wss server, else null. */
    private static TunnelConnector connector(ServerAddress address, SslContext serverTls) {
        return new TunnelConnector(ClientConfig.of(address, "e".repeat(64)), serverTls, YamuxConfig.defaults(),
                new ChannelInboundHandlerAdapter(), null, null);
    }

    /** Starts one attempt of {@code connector} on this test's event loop. */
    private Future<Channel> attempt(TunnelConnector connector) {
        if (group == null) {
            group = Transport.newEventLoopGroup(1, "failures-test");
        }
        return connector.connect(group.next(), Runnable::run);
    }

    @Test
    void aProxyIsNamedWithItsSchemeAndWithoutItsUserOrPassword() {
        ServerAddress wss = ServerAddress.parse("wss://tunnel.test:8443");
        java.net.ConnectException refused = new java.net.ConnectException("Connection refused");
        String viaHttp = ConnectFailures.explain(wss, ConnectFailures.ProxyFailedException.of(
                ProxyUrl.parse("http://alice:s3cret@proxy.test:3128", "HTTP_PROXY"), wss, refused,
                ClientConfig.DEFAULT_CONNECT_TIMEOUT), ClientConfig.DEFAULT_CONNECT_TIMEOUT);
        String viaHttps = ConnectFailures.explain(wss, ConnectFailures.ProxyFailedException.of(
                ProxyUrl.parse("https://alice:s3cret@proxy.test:3128", "HTTPS_PROXY"), wss, refused,
                ClientConfig.DEFAULT_CONNECT_TIMEOUT), ClientConfig.DEFAULT_CONNECT_TIMEOUT);
        String viaSocks = ConnectFailures.explain(wss, ConnectFailures.ProxyFailedException.of(
                ProxyUrl.parse("socks5h://[::1]", "--proxy"), wss, refused,
                ClientConfig.DEFAULT_CONNECT_TIMEOUT), ClientConfig.DEFAULT_CONNECT_TIMEOUT);

        assertThat(viaHttp).startsWith("Nothing accepts connections on the proxy http://proxy.test:3128 (HTTP_PROXY)");
        assertThat(viaHttps).startsWith("Nothing accepts connections on the proxy https://proxy.test:3128 (HTTPS_PROXY)");
        assertThat(viaSocks).startsWith("Nothing accepts connections on the proxy socks5h://[::1]:1080 (--proxy)");
        assertThat(viaHttp + viaHttps).doesNotContain("alice").doesNotContain("s3cret");
    }

    @Test
    void theServersOwn503WhileItShutsDownOrIsOverloadedIsNotCalledAWrongEndpoint() {
        String why = ConnectFailures.explain(SERVER,
                new ConnectFailures.UpgradeRefusedException(503, "Service Unavailable"), ClientConfig.DEFAULT_CONNECT_TIMEOUT);

        assertThat(why).contains("HTTP 503 Service Unavailable", "unavailable for now")
                .doesNotContain("not a PicoTunnel tunnel endpoint", "--tunnel-addr");
    }

    @Test
    void theServersOwn503WhileItDrainsSaysItIsShuttingDown() {
        String why = ConnectFailures.explain(SERVER, new ConnectFailures.UpgradeRefusedException(503,
                "Service Unavailable", Duration.ofSeconds(5), "server_stopping"), ClientConfig.DEFAULT_CONNECT_TIMEOUT);

        // Before: "unavailable for now, shutting down, restarting or overloaded", as for any 503.
        assertThat(why).contains("HTTP 503 Service Unavailable", "the server is shutting down")
                .doesNotContain("restarting or overloaded", "not a PicoTunnel tunnel endpoint");
    }

    @Test
    void onlyAJsonBodyWhoseErrorIsServerStoppingTellsTheDrain() {
        assertThat(errorCode("{\"error\":\"server_stopping\",\"message\":\"anything\"}")).isEqualTo("server_stopping");
        assertThat(errorCode("{\"error\":\"unavailable\",\"message\":\"the server is shutting down\"}"))
                .isEqualTo("unavailable");
        assertThat(errorCode("the server is shutting down")).isNull();
        assertThat(errorCode("<html>server_stopping</html>")).isNull();
        assertThat(errorCode("{\"message\":\"server_stopping\"}")).isNull();
        assertThat(errorCode("{\"error\":{\"code\":\"server_stopping\"}}")).isNull();
        assertThat(errorCode("[\"server_stopping\"]")).isNull();
        assertThat(errorCode("")).isNull();
        assertThat(errorCode("{\"error\":\"server_stopping\",\"pad\":\""
                + "x".repeat(TunnelConnector.RefusalErrorCode.MAX_BODY) + "\"}")).as("too big").isNull();
    }

    private static String errorCode(String body) {
        ByteBuf buf = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        try {
            return TunnelConnector.RefusalErrorCode.errorCode(buf);
        } finally {
            buf.release();
        }
    }

    @Test
    void aProxysBadGatewayWhileTheServerRestartsIsNotCalledAWrongEndpoint() {
        String why = ConnectFailures.explain(SERVER, new ConnectFailures.UpgradeRefusedException(502, "Bad Gateway"),
                ClientConfig.DEFAULT_CONNECT_TIMEOUT);

        assertThat(why).contains("HTTP 502 Bad Gateway", "proxy").doesNotContain("not a PicoTunnel tunnel endpoint");
    }

    /** Before, every 429 said "too many open, or too many wrong tokens sent from it", a proxy's rate limit too. */
    @Test
    void a429SaysTheCauseItsErrorCodeNames() {
        String wrongTokens = explain429("too_many_attempts");
        String openConnections = explain429("too_many_connections");
        String proxys = explain429(null);

        assertThat(proxys).contains("HTTP 429", "a proxy in front of the server (or the server) limits the rate")
                .doesNotContain("wrong tokens", "open from it", "not a PicoTunnel tunnel endpoint");
        assertThat(wrongTokens).contains("HTTP 429", "too many wrong tokens were sent from it")
                .doesNotContain("open from it", "proxy", "not a PicoTunnel tunnel endpoint");
        assertThat(openConnections).contains("HTTP 429", "too many are open from it")
                .doesNotContain("wrong tokens", "proxy", "not a PicoTunnel tunnel endpoint");
    }

    private static String explain429(String error) {
        return ConnectFailures.explain(SERVER, new ConnectFailures.UpgradeRefusedException(429, "Too Many Requests",
                Duration.ofSeconds(10), error), ClientConfig.DEFAULT_CONNECT_TIMEOUT);
    }

    @Test
    void answersThatAreNotHttpAtAllAreNotCalledAnUnavailableServer() throws Exception {
        for (String answer : List.of("SSH-2.0-OpenSSH_9.6\r\n", "hello\r\n\r\n", "HTTP/1.1 abc\r\n\r\n",
                "HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n")) {
            try (ScriptedTunnelServer server = new ScriptedTunnelServer((socket, key, connection) -> {
                ScriptedTunnelServer.write(socket, answer.getBytes(StandardCharsets.US_ASCII));
                socket.close();
            })) {
                ServerAddress address = ServerAddress.parse("ws://" + server.address());
                Future<Channel> attempt = attempt(connector(address, null));
                assertThat(attempt.await(20_000)).as("the attempt ends").isTrue();
                assertThat(attempt.isSuccess()).as(answer).isFalse();

                assertThat(ConnectFailures.explain(address, attempt.cause(), ClientConfig.DEFAULT_CONNECT_TIMEOUT)).as(answer)
                        .contains("not a PicoTunnel tunnel endpoint").doesNotContain("unavailable for now");
            }
        }
    }

    @Test
    void aServerNameThatDoesNotResolveIsSaidSo() throws Exception {
        ServerAddress address = ServerAddress.parse("ws://tunnel.nxdomain.test:8443");
        Future<Channel> attempt = attempt(connector(address, null));
        assertThat(attempt.await(20_000)).as("the attempt ends").isTrue();

        assertThat(ConnectFailures.explain(address, attempt.cause(), ClientConfig.DEFAULT_CONNECT_TIMEOUT))
                .isEqualTo("The server name tunnel.nxdomain.test does not resolve (DNS): check the name in --server.");
    }

    @Test
    void aServerThatTakesTheConnectionAndNeverAnswersIsGivenUpOnAfterTheHandshakeTimeout() throws Exception {
        try (ScriptedTunnelServer server = new ScriptedTunnelServer((socket, key, connection) -> ScriptedTunnelServer.drainUntilEof(socket))) {
            ServerAddress address = ServerAddress.parse("ws://" + server.address());
            TunnelConnector connector = connector(address, null);
            long start = System.nanoTime();
            Future<Channel> attempt = attempt(connector);

            assertThat(attempt.await(TunnelConnector.HANDSHAKE_TIMEOUT.toMillis() + 5_000)).isTrue();
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TunnelConnector.HANDSHAKE_TIMEOUT.toNanos() - 1_000_000_000L);
            assertThat(ConnectFailures.explain(address, attempt.cause(), ClientConfig.DEFAULT_CONNECT_TIMEOUT))
                    .isEqualTo(server.address() + " took the connection but did not answer the tunnel's WebSocket"
                            + " upgrade within 10 s: check that --server names the server's tunnel port (its"
                            + " --tunnel-addr, 8443 by default) and that the server is not overloaded.");
        }
    }

    @Test
    void aServerThatTricklesItsAnswerAByteAtATimeIsGivenUpOnAtTheHandshakeTimeoutNotKeptByEachByte() throws Exception {
        AtomicBoolean cutOff = new AtomicBoolean();
        // 306 bytes 0.1 s apart, for 30 s at most: far past the handshake timeout (2 s), which must cut them off.
        byte[] answer = ("HTTP/1.1 101 Switching Protocols\r\n" + "X-Padding: slow\r\n".repeat(16))
                .getBytes(StandardCharsets.US_ASCII);
        try (ScriptedTunnelServer server = new ScriptedTunnelServer((socket, key, connection) -> {
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            try {
                for (int i = 0; i < answer.length && System.nanoTime() - until < 0; i++) {
                    socket.getOutputStream().write(answer[i]);
                    socket.getOutputStream().flush();
                    Thread.sleep(100); // the server's pace, not a wait for the client
                }
            } catch (java.io.IOException closedByTheClient) {
                cutOff.set(true);
            }
        })) {
            ServerAddress address = ServerAddress.parse("ws://" + server.address());
            TunnelConnector connector = connector(address, null).withHandshakeTimeout(Duration.ofSeconds(2));
            long start = System.nanoTime();
            Future<Channel> attempt = attempt(connector);

            assertThat(attempt.await(15_000)).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
            assertThat(attempt.cause()).isInstanceOf(ConnectFailures.UpgradeTimeoutException.class);
            await().atMost(Duration.ofSeconds(10)).untilTrue(cutOff);
        }
    }

    @Test
    void aWssServerThatTakesTheConnectionAndNeverCompletesTlsIsSaidSoNotCalledPlain() throws Exception {
        try (ScriptedTunnelServer server = new ScriptedTunnelServer((socket, key, connection) -> ScriptedTunnelServer.drainUntilEof(socket))) {
            ServerAddress address = ServerAddress.parse("wss://" + server.address());
            TunnelConnector connector = connector(address, TunnelClient.sslContext(true, null))
                    .withHandshakeTimeout(Duration.ofSeconds(1));
            Future<Channel> attempt = attempt(connector);

            assertThat(attempt.await(10_000)).isTrue();
            assertThat(ConnectFailures.explain(address, attempt.cause(), ClientConfig.DEFAULT_CONNECT_TIMEOUT))
                    .isEqualTo(server.address() + " took the connection but did not complete the TLS handshake"
                            + " within 1 s: check that --server names the server's tunnel port (its --tunnel-addr,"
                            + " 8443 by default) and that the server is not overloaded.");
        }
    }

    @Test
    void anUnansweredUpgradeNamesItsTimeoutAsOtherMessagesWriteDurations() {
        ConnectFailures.UpgradeTimeoutException timeout = new ConnectFailures.UpgradeTimeoutException(Duration.ofMillis(1500));

        assertThat(timeout).hasMessage("no answer to the WebSocket upgrade within 1.5 s");
        assertThat(ConnectFailures.explain(SERVER, timeout, ClientConfig.DEFAULT_CONNECT_TIMEOUT))
                .startsWith("127.0.0.1:8443 took the connection but did not answer the tunnel's WebSocket upgrade"
                        + " within 1.5 s: check");
        assertThat(ConnectFailures.explain(SERVER, new ConnectFailures.UpgradeTimeoutException(Duration.ofSeconds(90)),
                ClientConfig.DEFAULT_CONNECT_TIMEOUT)).contains(" upgrade within 1 min 30 s: check");
    }

    @Test
    void aServerThatDoesNotAnswerIsSaidNotToWithinTheConnectTimeoutTheAttemptHad() throws Exception {
        try (SilentListener silent = new SilentListener();
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + silent.address(), log))
                    .contains("No answer from " + silent.address() + " within 3 s: check the address in --server");
        }
    }

    @Test
    void aRefusalsReasonPhraseIsWrittenOutAndCutInTheLogLine() throws Exception {
        // On the wire a reason phrase is bytes, read one character each: the UTF-8 of U+202E arrives as "â", the C1
        // control U+0080 and "®"; ESC is a control character a terminal would act on.
        byte[] reason = ("Gone \u001b[2K\u00e2\u0080\u00ae" + "r".repeat(400)).getBytes(StandardCharsets.ISO_8859_1);
        try (ScriptedTunnelServer server = new ScriptedTunnelServer((socket, key, connection) -> {
            ScriptedTunnelServer.write(socket, "HTTP/1.1 503 ".getBytes(StandardCharsets.US_ASCII));
            ScriptedTunnelServer.write(socket, reason);
            ScriptedTunnelServer.write(socket, "\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        });
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log))
                    .contains("answered HTTP 503 Gone \\u001b[2K\u00e2\\u0080\u00ae" + "r".repeat(188)
                            + "...(412 chars) to the tunnel's WebSocket upgrade")
                    .doesNotContain("\u001b", "\u0080", "r".repeat(189));
        }
    }

    @Test
    void aProxysReasonPhraseWithANextLineIsWrittenOutNotPrintedRaw() throws Exception {
        // 0x85 is NEL, a line terminator to java.util.regex: the phrase read as one character each holds U+0085.
        byte[] reason = ("Forbidden\u0085by\u001b[2K rule" + "r".repeat(400)).getBytes(StandardCharsets.ISO_8859_1);
        try (ScriptedTunnelServer proxy = new ScriptedTunnelServer((socket, key, connection) -> {
            ScriptedTunnelServer.write(socket, "HTTP/1.1 403 ".getBytes(StandardCharsets.US_ASCII));
            ScriptedTunnelServer.write(socket, reason);
            ScriptedTunnelServer.write(socket, "\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        });
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            TunnelClient client = new TunnelClient(ClientConfig.of(SERVER, "e".repeat(64))
                    .withShutdownGrace(Duration.ZERO).withProxy(ProxyUrl.parse("http://" + proxy.address(), "--proxy")),
                    YamuxConfig.defaults(), new Backoff(), Duration.ofSeconds(3));
            client.start();
            try {
                await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());

                assertThat(log.messages(Level.WARN).getFirst())
                        .contains("The proxy refused the connection: the proxy http://" + proxy.address()
                                + " (--proxy) answered HTTP 403 Forbidden\\u0085by\\u001b[2K rule")
                        .doesNotContain("\u0085", "\u001b", "r".repeat(400));
            } finally {
                client.stop(Duration.ZERO).join();
            }
        }
    }

    @Test
    void anExceptionsMessageIsWrittenOutAndCutWhateverTheFailure() {
        // A message can carry what the network sent: the proxy's phrase of a refusal Netty reports in other words.
        String sent = "went away\u0085\u001b[2K\u202e" + "m".repeat(400);
        String refused = ConnectFailures.explain(SERVER, new java.net.ConnectException(sent),
                ClientConfig.DEFAULT_CONNECT_TIMEOUT);
        String tls = ConnectFailures.explain(SERVER, new javax.net.ssl.SSLException(sent),
                ClientConfig.DEFAULT_CONNECT_TIMEOUT);
        String other = ConnectFailures.explain(SERVER, new java.io.IOException(sent), ClientConfig.DEFAULT_CONNECT_TIMEOUT);

        for (String why : List.of(refused, tls, other)) {
            assertThat(why).contains("went away\\u0085\\u001b[2K\\u202e" + "m".repeat(180))
                    .doesNotContain("\u0085", "\u001b", "\u202e", "m".repeat(201));
        }
    }

    /** A server answering every upgrade {@code status} with a {@code Location: location} (a front proxy's redirect). */
    private static ScriptedTunnelServer redirecting(String status, UnaryOperator<String> location) {
        return new ScriptedTunnelServer((socket, key, connection) -> ScriptedTunnelServer.write(socket,
                ("HTTP/1.1 " + status + "\r\nLocation: " + location.apply("127.0.0.1")
                        + "\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void aRedirectToHttpsOnTheSameHostSaysToUseWssOnHttpsPort() throws Exception {
        // Not wss:// on the port that answered plain HTTP: that attempt would be told to use ws:// there again.
        try (ScriptedTunnelServer server = redirecting("301 Moved Permanently", host -> "https://" + host + "/tunnel");
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log)).contains(server.address()
                    + " answered HTTP 301 Moved Permanently to the tunnel's WebSocket upgrade, redirecting to"
                    + " https://127.0.0.1/tunnel, and the client follows no redirect: the server (or a proxy in front"
                    + " of it) wants TLS, use --server wss://127.0.0.1:443.")
                    .doesNotContain("not a PicoTunnel tunnel endpoint");
        }
    }

    @Test
    void aRedirectToHttpsOnTheSameHostWithAPortSaysToUseWssOnThatPort() throws Exception {
        try (ScriptedTunnelServer server = redirecting("308 Permanent Redirect",
                host -> "https://" + host + ":8443/tunnel");
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log)).contains("redirecting to"
                    + " https://127.0.0.1:8443/tunnel, and the client follows no redirect: the server (or a proxy in"
                    + " front of it) wants TLS, use --server wss://127.0.0.1:8443.");
        }
    }

    @Test
    void aRedirectToHttpsOnAnIpv6ServerNamesItsAddressInBrackets() {
        ServerAddress ipv6 = ServerAddress.parse("ws://[::1]:80");
        String sameHost = ConnectFailures.explain(ipv6, new ConnectFailures.UpgradeRefusedException(301,
                "Moved Permanently", null, null, "https://[::1]:8443/tunnel"), ClientConfig.DEFAULT_CONNECT_TIMEOUT);
        String withoutPort = ConnectFailures.explain(ipv6, new ConnectFailures.UpgradeRefusedException(301,
                "Moved Permanently", null, null, "wss://[::1]?from=plain"), ClientConfig.DEFAULT_CONNECT_TIMEOUT);
        String otherHost = ConnectFailures.explain(ipv6, new ConnectFailures.UpgradeRefusedException(301,
                "Moved Permanently", null, null, "https://[::1:2]/tunnel"), ClientConfig.DEFAULT_CONNECT_TIMEOUT);

        assertThat(sameHost).startsWith("[::1]:80 answered HTTP 301 Moved Permanently")
                .endsWith("wants TLS, use --server wss://[::1]:8443.");
        assertThat(withoutPort).endsWith("wants TLS, use --server wss://[::1]:443.");
        assertThat(otherHost).endsWith("give --server the address of the server's tunnel endpoint itself (its"
                + " --tunnel-addr).");
    }

    @Test
    void aRedirectElsewhereIsNamedWrittenOutAndNotTakenForAWishForTls() throws Exception {
        try (ScriptedTunnelServer server = redirecting("302 Found",
                host -> "https://login.example/start?next=" + "x".repeat(300));
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log))
                    .contains("answered HTTP 302 Found to the tunnel's WebSocket upgrade, redirecting to"
                            + " https://login.example/start?next=xxx", "and the client follows no redirect:"
                            + " give --server the address of the server's tunnel endpoint itself (its --tunnel-addr).")
                    .doesNotContain("x".repeat(300), "wants TLS");
        }
    }

    @Test
    void aNotFoundStillPointsAtTheTunnelPort() {
        String why = ConnectFailures.explain(SERVER, new ConnectFailures.UpgradeRefusedException(404, "Not Found"),
                ClientConfig.DEFAULT_CONNECT_TIMEOUT);

        assertThat(why).contains("not a PicoTunnel tunnel endpoint", "--tunnel-addr");
    }
    @Test
    void aFrontProxysForbiddenIsNamedAsARefusalInFrontOfTheServerNotAWrongEndpoint() throws Exception {
        try (ScriptedTunnelServer server = new ScriptedTunnelServer((socket, key, connection) ->
                ScriptedTunnelServer.write(socket, ("HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n"
                        + "Content-Length: 22\r\n\r\n<h1>403 Forbidden</h1>").getBytes(StandardCharsets.US_ASCII)));
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log)).contains(server.address()
                    + " answered HTTP 403 Forbidden to the tunnel's WebSocket upgrade, which the PicoTunnel server"
                    + " never answers it with: a proxy, firewall or access gateway in front of the server refuses it")
                    .doesNotContain("not a PicoTunnel tunnel endpoint");
        }
    }

    @Test
    void aForbiddenWithAPicoTunnelJsonErrorStillPointsAtTheTunnelPort() {
        // The server's HTTP proxy port answers a service's access rule with its JSON 403.
        String why = ConnectFailures.explain(SERVER, new ConnectFailures.UpgradeRefusedException(403, "Forbidden",
                null, "forbidden"), ClientConfig.DEFAULT_CONNECT_TIMEOUT);

        assertThat(why).contains("not a PicoTunnel tunnel endpoint", "--tunnel-addr").doesNotContain("in front of");
    }

    /** A server answering every upgrade 101 with the headers {@code head} makes of the client's key. */
    private static ScriptedTunnelServer switching(UnaryOperator<String> head) {
        return new ScriptedTunnelServer((socket, key, connection) -> ScriptedTunnelServer.write(socket,
                ("HTTP/1.1 101 Switching Protocols\r\n" + head.apply(key) + "\r\n")
                        .getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void aSwitchWithoutTheTunnelSubprotocolIsNamedSo() throws Exception {
        try (ScriptedTunnelServer server = switching(key -> "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + ScriptedTunnelServer.accept(key) + "\r\n");
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log)).contains(server.address()
                    + " answered the tunnel's WebSocket upgrade with HTTP 101 Switching Protocols, but without a"
                    + " subprotocol where a PicoTunnel server answers with \"tunnel\"", "dropped the header");
        }
    }

    @Test
    void aSwitchToAnotherSubprotocolNamesIt() throws Exception {
        try (ScriptedTunnelServer server = switching(key -> "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + ScriptedTunnelServer.accept(key) + "\r\nSec-WebSocket-Protocol: mqtt\r\n");
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log))
                    .contains("101 Switching Protocols, but with the subprotocol mqtt where a PicoTunnel server");
        }
    }

    @Test
    void aSwitchWithAWrongAcceptKeyIsNamedAnAlteredHandshake() throws Exception {
        try (ScriptedTunnelServer server = switching(key -> "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + ScriptedTunnelServer.accept("not" + key)
                + "\r\nSec-WebSocket-Protocol: tunnel\r\n");
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log)).contains(server.address()
                    + " answered the tunnel's WebSocket upgrade with HTTP 101 Switching Protocols, but with a"
                    + " Sec-WebSocket-Accept that does not match the key the client sent")
                    .doesNotContain("not a PicoTunnel tunnel endpoint");
        }
    }

    @Test
    void aSwitchToAnotherProtocolThanWebSocketIsNamedSo() throws Exception {
        try (ScriptedTunnelServer server = switching(key -> "Upgrade: h2c\r\nConnection: Upgrade\r\n");
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            assertThat(firstWarning("ws://" + server.address(), log))
                    .contains("101 Switching Protocols, but not to WebSocket");
        }
    }
    @Test
    void aSwitchThatAnnouncesABigBodyStillUpgradesSinceA101HasNone() throws Exception {
        // A 1xx answer has no content whatever its headers say (RFC 9110, 8.6): what follows is the tunnel's.
        AtomicBoolean pingAnswered = new AtomicBoolean();
        try (ScriptedTunnelServer server = new ScriptedTunnelServer((socket, key, connection) -> {
            ScriptedTunnelServer.write(socket, ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Accept: " + ScriptedTunnelServer.accept(key)
                    + "\r\nSec-WebSocket-Protocol: tunnel\r\nContent-Length: 200000\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            ScriptedTunnelServer.write(socket, ScriptedTunnelServer.wsFrame(0x2, true, false,
                    ScriptedTunnelServer.yamux(2, 1, 0, 77, null)));
            new ScriptedTunnelServer.ClientFrames(socket).awaitFrame(2, 2, 0);
            pingAnswered.set(true);
            ScriptedTunnelServer.drainUntilEof(socket);
        })) {
            Future<Channel> attempt = attempt(connector(ServerAddress.parse("ws://" + server.address()), null));

            assertThat(attempt.await(15_000)).isTrue();
            assertThat(attempt.isSuccess()).as("%s", attempt.cause()).isTrue();
            await().atMost(Duration.ofSeconds(10)).untilTrue(pingAnswered);
            attempt.getNow().close();
        }
    }
}
