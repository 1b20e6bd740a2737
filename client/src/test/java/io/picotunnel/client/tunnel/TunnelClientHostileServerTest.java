package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.spi.ILoggingEvent;
import io.netty.handler.codec.DateFormatter;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentListener;
import io.picotunnel.testkit.SocketEnding;
import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.picotunnel.client.tunnel.ScriptedTunnelServer.answer101;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.drainUntilEof;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.wsFrame;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The real client against tunnel servers that misbehave, played by scripts on raw sockets. */
class TunnelClientHostileServerTest extends AgainstAScriptedServer {

    private void start(ScriptedTunnelServer.Script script) {
        start(script, new Backoff());
    }

    /** As the server does: opens stream {@code id} toward {@code target}; answers the stream header's length. */
    private static int openTcpStream(Socket socket, int id, String target) throws IOException {
        write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(1, 1, id, 0, null)));
        ByteBuf header = new StreamHeader(StreamType.TCP, target).encode(UnpooledByteBufAllocator.DEFAULT);
        byte[] headerBytes = ByteBufUtil.getBytes(header);
        header.release();
        write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(0, 0, id, headerBytes.length, headerBytes)));
        return headerBytes.length;
    }

    /** As the server does for a visitor's upload: opens stream 2 toward {@code target} and sends it 1000 bytes. */
    private static void openStreamAndUpload1000Bytes(Socket socket, String target) throws IOException {
        openTcpStream(socket, 2, target);
        write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(0, 0, 2, 1000, new byte[1000])));
    }

    /**
     * Accepts the upgrade; plays {@code script} on the first connection only and keeps every later one (the client's
     * redials) open without a word until the client closes it.
     */
    private ScriptedTunnelServer.Script onTheFirstConnection(ScriptedTunnelServer.Script script) {
        return (socket, key, connection) -> {
            answer101(socket, key);
            if (connection > 1) {
                drainUntilEof(socket);
                return;
            }
            script.run(socket, key, connection);
        };
    }

    /**
     * The target's side of a 1000-byte upload: reads it (telling the server's script "target read 1000"), then how the
     * stream ended after it.
     */
    private SocketEnding readUploadThenEnd(Socket accepted, String bytesBefore) throws IOException {
        InputStream in = accepted.getInputStream();
        assertThat(in.readNBytes(1000)).as(bytesBefore).hasSize(1000);
        server.events.add("target read 1000");
        return SocketEnding.readToEndOrReset(in);
    }

    /** Accepts the upgrade and says GoAway(normal) at once; keeps the connection until the client closes it. */
    private static void goAwayAtOnce(java.net.Socket socket, String key, int connection) throws Exception {
        answer101(socket, key);
        write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(3, 0, 0, 0, null)));
        drainUntilEof(socket);
    }

    /** The server killed mid-transfer, its connection ended by a FIN (process killed) or a RST (host lost). */
    @Test
    void aTargetMidTransferIsResetNotEndedCleanlyWhenTheServersConnectionEndsAbruptly() throws Exception {
        for (boolean rst : List.of(false, true)) {
            try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
                String targetAddress = "127.0.0.1:" + target.getLocalPort();
                start(onTheFirstConnection((socket, key, connection) -> {
                    openStreamAndUpload1000Bytes(socket, targetAddress);
                    // Half an upload, then the server is gone.
                    await().atMost(Duration.ofSeconds(10)).until(() -> server.events.contains("target read 1000"));
                    if (rst) {
                        socket.setSoLinger(true, 0);
                    }
                    socket.close();
                }));
                try (Socket accepted = target.accept()) {
                    accepted.setSoTimeout(20_000);
                    SocketEnding end = readUploadThenEnd(accepted, "bytes before the cut");
                    assertThat(end).as(rst ? "RST from the server" : "FIN from the server")
                            .isEqualTo(new SocketEnding(0, "reset: Connection reset"));
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() >= 2);
            } finally {
                stopClientAndServer();
            }
        }
    }

    /**
     * The server says GoAway with a stream open (a restart), and the server that answers the reconnect rejects
     * the token (a database restored from before the token): the client ends, and the target of the stream it
     * still carried must see a reset, not a clean end of an upload cut short.
     */
    @Test
    void aTokenRejectedWhileAnOldConnectionStillCarriesAStreamResetsItsTarget() throws Exception {
        try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String targetAddress = "127.0.0.1:" + target.getLocalPort();
            start((socket, key, connection) -> {
                if (connection > 1) {
                    write(socket, ScriptedTunnelServer.TOKEN_REFUSAL);
                    drainUntilEof(socket);
                    return;
                }
                answer101(socket, key);
                openStreamAndUpload1000Bytes(socket, targetAddress);
                await().atMost(Duration.ofSeconds(10)).until(() -> server.events.contains("target read 1000"));
                write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(3, 0, 0, 0, null)));
                drainUntilEof(socket);
            });
            try (Socket accepted = target.accept()) {
                accepted.setSoTimeout(30_000);
                SocketEnding end = readUploadThenEnd(accepted, "bytes before the GoAway");
                assertThat(end).isEqualTo(new SocketEnding(0, "reset: Connection reset"));
                await().atMost(Duration.ofSeconds(10)).until(() -> client.terminated().isDone());
                assertThat(client.terminated()).as("ended on the rejected token").isCompletedExceptionally();
            }
        }
    }

    @Test
    void aTargetThatRefusesEveryConnectionIsLoggedOnceAMinuteNotOncePerStream() throws Exception {
        int streams = 40;
        AtomicLong resets = new AtomicLong();
        String refusing;
        try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            refusing = "127.0.0.1:" + closed.getLocalPort();
        }
        try (LogCapture lines = new LogCapture(TargetDialer.class, null)) {
            start((socket, key, connection) -> {
                answer101(socket, key);
                for (int id = 2; id < 2 + 2 * streams; id += 2) {
                    openTcpStream(socket, id, refusing);
                }
                ScriptedTunnelServer.ClientFrames frames = new ScriptedTunnelServer.ClientFrames(socket);
                for (int i = 0; i < 10_000 && resets.get() < streams; i++) {
                    long[] f = frames.next();
                    if (f[0] == 1 && (f[1] & 8) != 0) {
                        resets.incrementAndGet();
                    }
                }
                drainUntilEof(socket);
            });
            await().atMost(Duration.ofSeconds(20)).until(() -> resets.get() >= streams);

            assertThat(lines.events().stream().filter(e -> e.getFormattedMessage().contains(refusing)))
                    .as("warnings about %s for %d refused streams", refusing, streams).hasSize(1);
        }
    }

    @Test
    void aSlowLookupOfTheServersNameDoesNotHoldTheClientsThread() {
        server = new ScriptedTunnelServer(TunnelClientHostileServerTest::goAwayAtOnce);
        int port = Integer.parseInt(server.address().substring(server.address().lastIndexOf(':') + 1));
        int lookups = SlowDnsResolverProvider.SLOW_NAMES.lookupsBegun();
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://tunnel.slow.test:" + port), TOKEN)
                .withShutdownGrace(Duration.ZERO), YamuxConfig.defaults(), new Backoff());
        client.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> SlowDnsResolverProvider.SLOW_NAMES.lookupsBegun() > lookups);

        // The client's one thread also carries the streams of connections still open and the targets' sockets:
        // while the name is looked up it must go on answering (here: a stop, at once).
        long start = System.nanoTime();
        client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        client = null;

        assertThat(tookMillis).as("stop during a lookup of %d ms", SlowDnsResolverProvider.DELAY.toMillis())
                .isLessThan(2_000);
    }

    @Test
    void aServerThatSaysGoAwayAsSoonAsConnectedIsRedialledWithGrowingDelays() {
        start(TunnelClientHostileServerTest::goAwayAtOnce);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= 5);
        // The first GoAway redialled within a second, then a backoff of 1, 2 and 4 s, a fifth less at most: before,
        // every GoAway was redialled within a second.
        assertThat(ScriptedTunnelServer.gapsMillis(server.connectionsNanos).subList(0, 4))
                .satisfies(gaps -> assertThat(gaps.get(2)).isGreaterThanOrEqualTo(1500))
                .satisfies(gaps -> assertThat(gaps.get(3)).isGreaterThanOrEqualTo(3000));
    }

    /**
     * Answers the upgrade with 503 and {@code retryAfter}, as a server whose token store fails does (error
     * {@code unavailable}), or a proxy in front of a server that restarts. Not a server shutting down: its 503 says
     * {@code server_stopping}, which the client names on its own (TunnelClientOldConnectionTest).
     */
    private static ScriptedTunnelServer.Script unavailable(java.util.function.Supplier<String> retryAfter) {
        return (socket, key, connection) -> {
            String body = "{\"error\":\"unavailable\",\"message\":\"the server cannot check tokens right now\"}";
            write(socket, ("HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + retryAfter.get()
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                    + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
            socket.close();
        };
    }

    @Test
    void aRefusalWithRetryAfterInSecondsIsNotRedialledSoonerAndTheRetryLineSaysSo() {
        List<ILoggingEvent> logged;
        try (LogCapture log = new LogCapture(TunnelClient.class, null)) {
            // Without the server's wait the backoff (no jitter) would redial after 1 s.
            start(unavailable(() -> "3"), new Backoff(() -> 0.0));
            await().atMost(Duration.ofSeconds(20)).until(() -> server.connections() >= 2);
            logged = log.events();
        }
        assertThat(ScriptedTunnelServer.gapsMillis(server.connectionsNanos).getFirst()).isGreaterThanOrEqualTo(3000);
        assertThat(logged).map(ILoggingEvent::getFormattedMessage)
                .anySatisfy(line -> assertThat(line).contains("HTTP 503 Service Unavailable")
                        .contains("unavailable for now, shutting down, restarting or overloaded")
                        .contains("asked to wait 3 s (Retry-After): retrying in 3 s."));
    }

    @Test
    void aStopDuringAnUnansweredUpgradeEndsAtOnceAndClosesTheAttemptsConnection() {
        java.util.concurrent.atomic.AtomicBoolean closedByTheClient = new java.util.concurrent.atomic.AtomicBoolean();
        start((socket, key, connection) -> closedByTheClient.set(drainUntilEof(socket)));
        await().atMost(Duration.ofSeconds(20)).until(() -> server.connections() >= 1);
        long start = System.nanoTime();

        client.stop(Duration.ofSeconds(60)).orTimeout(20, TimeUnit.SECONDS).join();

        // Neither the grace (no stream is open) nor the upgrade's 10 s timeout is waited out.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(client.state()).isEqualTo(TunnelClient.State.STOPPED);
        await().atMost(Duration.ofSeconds(10)).untilTrue(closedByTheClient);
        // No redial after the stop: the first would come within a second of the attempt's end (Backoff).
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> server.connections() == 1);
    }

    /** A front proxy's refusal: {@code status} with Retry-After: 3 and an HTML page of {@code pageBytes}. */
    private static ScriptedTunnelServer.Script frontProxyPage(String status, int pageBytes, boolean contentLength) {
        return (socket, key, connection) -> {
            String page = "<html><body><h1>" + status + "</h1>" + "<p>".repeat((pageBytes - 40) / 3)
                    + "</body></html>";
            write(socket, ("HTTP/1.1 " + status + "\r\nRetry-After: 3\r\nContent-Type: text/html\r\n"
                    + (contentLength ? "Content-Length: " + page.length() + "\r\n" : "")
                    + "Connection: close\r\n\r\n" + page).getBytes(StandardCharsets.US_ASCII));
            socket.close();
        };
    }

    private List<String> loggedWhileTwoConnectionsCome(ScriptedTunnelServer.Script script) {
        try (LogCapture log = new LogCapture(TunnelClient.class, null)) {
            start(script, new Backoff(() -> 0.0));
            await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= 2);
            return log.events().stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }

    /** The front proxy's page ({@link #frontProxyPage}) is told by its status and its Retry-After is waited out. */
    private void assertToldAndItsRetryAfterWaitedOut(String status, int pageBytes, boolean contentLength) {
        List<String> lines = loggedWhileTwoConnectionsCome(frontProxyPage(status, pageBytes, contentLength));

        assertThat(ScriptedTunnelServer.gapsMillis(server.connectionsNanos).getFirst()).isGreaterThanOrEqualTo(3000);
        assertThat(lines).anySatisfy(line -> assertThat(line).contains("HTTP " + status)
                .contains("asked to wait 3 s (Retry-After): retrying in 3 s."));
    }

    @Test
    void aFrontProxysBigErrorPageStillTellsItsStatusAndItsRetryAfterIsWaitedOut() {
        assertToldAndItsRetryAfterWaitedOut("503 Service Unavailable", 200_000, true);
    }

    @Test
    void aFrontProxysBigErrorPageEndedByTheConnectionsCloseStillTellsItsStatusAndItsRetryAfterIsWaitedOut() {
        // No Content-Length: the first 64 KiB are aggregated before the page is found too big, then released.
        assertToldAndItsRetryAfterWaitedOut("503 Service Unavailable", 200_000, false);
    }

    @Test
    void aFrontProxysErrorPageEndedByTheConnectionsCloseTellsItsStatusAndItsRetryAfterIsWaitedOut() {
        assertToldAndItsRetryAfterWaitedOut("429 Too Many Requests", 2_000, false);
    }

    @Test
    void aFrontProxysForbiddenIsLoggedAsSuchAndRetriedNotTakenForARejectedToken() {
        List<String> lines = loggedWhileTwoConnectionsCome(frontProxyPage("403 Forbidden", 2_000, true));

        assertThat(client.state()).isNotEqualTo(TunnelClient.State.STOPPED);
        assertThat(lines).anySatisfy(line -> assertThat(line).contains("HTTP 403 Forbidden"));
    }

    @Test
    void aFrontProxysBasicAuth401IsLoggedAsSuchAndRetriedNotTakenForARejectedToken() {
        List<String> lines = loggedWhileTwoConnectionsCome((socket, key, connection) -> {
            write(socket, ("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"intranet\"\r\n"
                    + "Content-Type: text/html\r\nContent-Length: 25\r\n\r\n<h1>401 Unauthorized</h1>")
                    .getBytes(StandardCharsets.US_ASCII));
            socket.close();
        });

        assertThat(client.state()).isNotIn(TunnelClient.State.TOKEN_REJECTED, TunnelClient.State.STOPPED);
        assertThat(lines).anySatisfy(line -> assertThat(line).contains("HTTP 401 Unauthorized")
                .contains("without the PicoTunnel server's refusal of the token")
                .contains("a proxy or access gateway in front of the server asks for credentials of its own"));
        assertThat(lines).noneSatisfy(line -> assertThat(line).contains("rejected the token"));
    }

    @Test
    void aRefusalWithRetryAfterAsAnHttpDateIsNotRedialledBeforeThatDate() {
        // Whole seconds only: at least 4 s after the connection came, so the wait is more than 3 s.
        start(unavailable(() -> DateFormatter.format(
                Date.from(Instant.now().truncatedTo(ChronoUnit.SECONDS).plusSeconds(5)))), new Backoff(() -> 0.0));
        await().atMost(Duration.ofSeconds(20)).until(() -> server.connections() >= 2);
        assertThat(ScriptedTunnelServer.gapsMillis(server.connectionsNanos).getFirst()).isGreaterThanOrEqualTo(3000);
    }

    @Test
    void oldConnectionsWithStreamsLeftAfterGoAwayStayFew() {
        // Every connection counts as lasting (redialled at once): a stream whose header never ends keeps each open.
        Backoff atOnce = new Backoff(() -> 0.0, Duration.ZERO, System::nanoTime);
        start((socket, key, connection) -> {
            answer101(socket, key);
            write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(1, 1, 2, 0, null)));
            write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(0, 0, 2, 1, new byte[] {0})));
            write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(3, 0, 0, 0, null)));
            drainUntilEof(socket);
        }, atOnce);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= 20);
        // Before: one more open connection (and stream) for every GoAway.
        assertThat(client.openConnections()).isLessThanOrEqualTo(TunnelClient.MAX_RETIRING + 1);
    }

    @Test
    void pingsFromAServerThatDoesNotReadAreAnsweredWithinTheConnectionsBuffers() {
        AtomicLong pingBytes = new AtomicLong();
        AtomicLong pongBytes = new AtomicLong(-1);
        start(onTheFirstConnection((socket, key, connection) -> {
            byte[] ping = wsFrame(0x9, true, false, new byte[125]);
            byte[] batch = new byte[ping.length * 1000];
            for (int i = 0; i < 1000; i++) {
                System.arraycopy(ping, 0, batch, i * ping.length, ping.length);
            }
            for (int i = 0; i < 400 && !socket.isClosed(); i++) { // 51 MB of pings, nothing read meanwhile
                write(socket, batch);
                pingBytes.addAndGet(batch.length);
            }
            // Now read what the client queued for us, until it has had 2 s of quiet.
            socket.setSoTimeout(2_000);
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[65536];
            long read = 0;
            try {
                for (int i = 0; i < 10_000_000; i++) {
                    int n = in.read(buffer);
                    if (n < 0) {
                        break;
                    }
                    read += n;
                }
            } catch (SocketTimeoutException quiet) {
                // all that was queued has come
            }
            pongBytes.set(read);
            drainUntilEof(socket);
        }));
        await().atMost(Duration.ofSeconds(60)).until(() -> pongBytes.get() >= 0);
        assertThat(pingBytes.get()).isEqualTo(400L * 127_000);
        // Before: a pong for every ping, 51 MB queued in the client for a server that did not read. Now what the
        // sockets' buffers held, and the latest ping's pong once the connection drained.
        assertThat(pongBytes.get()).as("pong bytes the client had queued").isPositive().isLessThan(16L * 1024 * 1024);
    }

    /**
     * The client stops while a stream's target is still being dialled (its SYNs dropped): once the grace period is
     * over, that dial is abandoned with the stream, and a target that could answer later (its accept queue freed)
     * never gets a connection from it, let alone the bytes the stream held.
     */
    @Test
    void aDialStillUnderwayWhenTheClientStopsNeverReachesItsTargetAfterTheStop() throws Exception {
        try (SilentListener target = new SilentListener()) {
            String targetAddress = target.address();
            start(onTheFirstConnection((socket, key, connection) -> {
                openStreamAndUpload1000Bytes(socket, targetAddress);
                server.events.add("stream opened");
                drainUntilEof(socket);
            }));
            await().atMost(Duration.ofSeconds(10)).until(() -> server.events.contains("stream opened"));
            client.stop(Duration.ofSeconds(1)).orTimeout(20, TimeUnit.SECONDS).join();
            assertThat(client.state()).isEqualTo(TunnelClient.State.STOPPED);
            // The target can answer now: a dial still alive would get through at its next SYN (after 1 s, 3 s).
            target.startAnswering();
            assertThat(target.accept(Duration.ofSeconds(5))).as("a connection of the stopped client's dial").isNull();
        }
    }

    @Test
    void streamsFilledTowardATargetStillBeingDialledAreResetPastTheSessionBufferLimit() throws Exception {
        int streams = 6;
        int chunk = 16 * 1024;
        List<long[]> resets = new CopyOnWriteArrayList<>();
        AtomicLong pingAnswer = new AtomicLong(-1);
        try (SilentListener target = new SilentListener()) {
            String targetAddress = target.address();
            start(onTheFirstConnection((socket, key, connection) -> {
                for (int id = 2; id < 2 + 2 * streams; id += 2) {
                    int headerLength = openTcpStream(socket, id, targetAddress);
                    // The rest of the stream's first window, the spec's 256 KiB, toward a target not connected yet.
                    int left = YamuxConfig.INITIAL_STREAM_WINDOW - headerLength;
                    for (; left > 0; left -= chunk) {
                        int n = Math.min(chunk, left);
                        write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(0, 0, id, n, new byte[n])));
                    }
                }
                write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(2, 1, 0, 4242, null)));
                ScriptedTunnelServer.ClientFrames frames = new ScriptedTunnelServer.ClientFrames(socket);
                for (int i = 0; i < 10_000 && pingAnswer.get() < 0; i++) {
                    long[] f = frames.next();
                    if (f[0] == 1 && (f[1] & 8) != 0) {
                        resets.add(f);
                    } else if (f[0] == 2 && f[1] == 2 && f[3] == 4242) {
                        pingAnswer.set(f[3]);
                    }
                }
                drainUntilEof(socket);
            }), new Backoff(), YamuxConfig.defaults().withSessionBufferLimit(1024 * 1024));
            // Within the dial timeout (10 s): the resets come from the limit, not from a target that timed out.
            await().atMost(Duration.ofSeconds(8)).until(() -> pingAnswer.get() >= 0);
            // Six streams of 256 KiB held against a limit of 1 MiB: two of them were reset (a third
            // only if the first bytes of each stream went to its dialler, not counted, before the holding began).
            assertThat(resets).as("RST frames before the answer to our ping").hasSizeBetween(2, 3)
                    .allSatisfy(f -> assertThat(f[3]).as("the buffer limit's reason, not a dial failure's")
                            .isEqualTo(ResetReason.BUFFER_LIMIT.code()));
            assertThat(server.connections()).as("the connection lives on").isEqualTo(1);
        }
    }
    /**
     * A server that sends a yamux frame of version 1 after a stream is open: the client answers GoAway(protocol
     * error), closes that connection and dials again, instead of hanging or dying.
     */
    @Test
    void aMalformedFrameFromTheServerGetsGoAwayProtocolErrorAndTheClientDialsAgain() {
        AtomicLong goAwayCode = new AtomicLong(-1);
        start(onTheFirstConnection((socket, key, connection) -> {
            write(socket, wsFrame(0x2, true, false, ScriptedTunnelServer.yamux(1, 1, 2, 0, null)));
            byte[] badVersion = ScriptedTunnelServer.yamux(2, 1, 0, 7, null);
            badVersion[0] = 1;
            write(socket, wsFrame(0x2, true, false, badVersion));
            ScriptedTunnelServer.ClientFrames frames = new ScriptedTunnelServer.ClientFrames(socket);
            for (int i = 0; i < 100 && goAwayCode.get() < 0; i++) {
                long[] f = frames.next();
                if (f[0] == 3) {
                    goAwayCode.set(f[3]);
                }
            }
            drainUntilEof(socket);
        }));

        await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= 2);
        assertThat(goAwayCode.get()).as("the GoAway's code, protocol error").isEqualTo(1);
        assertThat(server.events).as("the script's errors").isEmpty();
    }
}
