package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.yamux.SessionLimits;
import io.picotunnel.server.proxy.http.BodyCopyBudget;
import io.picotunnel.server.proxy.http.BodyCopyBudgetReservation;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.server.tunnel.TcpStreamBridge;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A tunnel client at its {@code --max-streams}: it refuses the server's next stream at its SYN, and the visitor's
 * request goes to another client of the tunnel, or the visitor learns that the tunnel is busy, not that the app failed.
 * Real server, clients and targets.
 */
class ClientStreamLimitEndToEndTest extends AgainstAServicedTunnel {

    private static final String HOST = "busy.test";
    private static final int MAX_STREAMS = 2;
    /** Streams the client without a limit carries in {@link #anUnlimitedClientThenFullOnes}: more than a full one. */
    private static final int UNLIMITED_CARRIES = MAX_STREAMS + 1;
    /** The HTTP proxy's exchanges log a request's refusals. */
    private static final String EXCHANGE_LOG = "io.picotunnel.server.proxy.http.Exchange";
    private static final String AT_ITS_LIMIT = "refused the stream: it had as many streams open as its --max-streams"
            + " allows";

    @BeforeEach
    void start() {
        startTestbed(Map.of(), "busy", HOST);
    }

    /** Starts the client whose --max-streams is {@link #MAX_STREAMS}; waits until the tunnel has {@code clients}. */
    private void startLimitedClient(int clients) {
        startLimitedClient();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> testbed.server().registry().connections(tunnel.id).size() == clients);
    }

    @Test
    void aRequestRefusedByTheOnlyClientAtItsStreamLimitGets503TunnelBusyAfterAskingItOnce() throws Exception {
        startLimitedClient();
        await().atMost(Duration.ofSeconds(10)).until(() -> testbed.isConnected(tunnel.id));
        TunnelRegistry.Connection full = testbed.server().registry().connections(tunnel.id).getFirst();
        HeldStreams held = HeldStreams.of(tunnel, MAX_STREAMS);
        try (held; LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            String answer = tunnel.get();

            assertThat(answer).startsWith("HTTP/1.1 503").contains("tunnel_busy").contains("did not reach the app")
                    .containsIgnoringCase("Retry-After: 5");
            assertThat(tunnel.web.requestCount()).isZero();
            assertThat(full.streamsOpened()).as("streams asked of the full client: its two, then the request's once")
                    .isEqualTo(MAX_STREAMS + 1);
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("the tunnel's client " + AT_ITS_LIMIT)
                    .endsWith("GET " + HOST + " from 127.0.0.1 is answered 503 tunnel_busy");
        }
    }

    @Test
    void aRequestRefusedByAClientAtItsStreamLimitGets200FromTheTunnelsOtherClient() throws Exception {
        try (TwoClients clients = twoClientsTheFullOneLeastLoaded();
             LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            String answer = tunnel.get();

            assertThat(log.messages(Level.INFO)).as("one line, once the other client took it").singleElement()
                    .asString().contains("the tunnel's client " + AT_ITS_LIMIT)
                    .endsWith("GET " + HOST + " from 127.0.0.1 went to another client");

            assertThat(answer).startsWith("HTTP/1.1 200").endsWith("hello");
            assertThat(tunnel.web.requestCount()).isEqualTo(1);
            assertThat(clients.full().streamsOpened()).as("the full client refused the request's stream once")
                    .isEqualTo(MAX_STREAMS + 1);
            assertThat(clients.other().streamsOpened()).as("the other client took it").isEqualTo(UNLIMITED_CARRIES + 1);
        }
    }

    /**
     * The full client's refusal may be read before the stream's open is told to the proxy (the visitor on another
     * loop than the client): the request goes on to the other client all the same. Many requests, as the order is
     * a race.
     */
    @Test
    void requestsRefusedAtOnceByAClientAtItsStreamLimitAllGet200FromTheTunnelsOtherClient() throws Exception {
        int requests = 40;
        tunnel.web.answerWithHeader("Connection", "close"); // no idle stream to reuse: each request opens a stream
        try (TwoClients clients = twoClientsTheFullOneLeastLoaded()) {
            for (int i = 0; i < requests; i++) {
                assertThat(tunnel.get()).as("request %d", i).startsWith("HTTP/1.1 200");
            }

            assertThat(clients.full().streamsOpened()).as("each refused by the full client first")
                    .isEqualTo(MAX_STREAMS + requests);
        }
    }

    @Test
    void aPostWithASmallBodyRefusedByAClientAtItsStreamLimitGoesWholeToTheTunnelsOtherClient() throws Exception {
        try (TwoClients clients = twoClientsTheFullOneLeastLoaded()) {
            String answer = post("name=picotunnel&note=" + "x".repeat(1000));

            assertThat(answer).startsWith("HTTP/1.1 200").endsWith("hello");
            assertThat(tunnel.web.bodies()).containsExactly("name=picotunnel&note=" + "x".repeat(1000));
            assertThat(clients.full().streamsOpened()).as("the full client refused the request's stream once")
                    .isEqualTo(MAX_STREAMS + 1);
        }
    }

    /**
     * A chunked POST whose visitor sent the head and one chunk and holds the rest until it is answered: the full
     * client's refusal is read only once that chunk went up its stream, so the body is neither whole nor kept, and the
     * request cannot go to the other client (the visitor would wait there for an answer the target waits to give).
     */
    @Test
    void aChunkedPostRefusedWithItsBodyUnfinishedGets503TunnelBusyAtOnceNotAnotherClient() throws Exception {
        try (TwoClients clients = twoClientsTheFullOneLeastLoaded();
             LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            long other = clients.other().streamsOpened();
            String chunk = "name=picotunnel";
            HeldInbound refusal = HeldInbound.holdWhatComesFrom(clients.full());
            long received = testbed.server().traffic().tunnel(tunnel.id).bytesIn();
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write(("POST / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(chunk.length()) + "\r\n" + chunk
                    + "\r\n").getBytes(StandardCharsets.US_ASCII));
            await().atMost(Duration.ofSeconds(10)).until(
                    () -> testbed.server().traffic().tunnel(tunnel.id).bytesIn() >= received + chunk.length());

            refusal.release();
            long released = System.nanoTime();
            String answer = answer(visitor);

            assertThat(Duration.ofNanos(System.nanoTime() - released)).as("answered at the refusal, not by a timer")
                    .isLessThan(Duration.ofSeconds(5));
            assertThat(answer).startsWith("HTTP/1.1 503").contains("tunnel_busy").containsIgnoringCase("Retry-After: 5");
            assertThat(log.messages(Level.INFO)).singleElement().asString().contains(AT_ITS_LIMIT)
                    .endsWith("is answered 503 tunnel_busy (its body went up the refused stream, and the proxy kept"
                            + " no copy to send again)");
            assertThat(tunnel.web.requestCount()).isZero();
            assertThat(clients.full().streamsOpened()).as("the full client was asked once").isEqualTo(MAX_STREAMS + 1);
            assertThat(clients.other().streamsOpened()).as("the other client was not asked").isEqualTo(other);
        }
    }

    /**
     * A POST with a finished body over 64 KiB, refused once all of it went up its stream (the full client's refusal is
     * read only then): too big to keep, it cannot go again, and the visitor gets 503 tunnel_busy, not the other client.
     */
    @Test
    void aPostWithABodyOver64KiBRefusedAfterItWentUpWholeGets503TunnelBusyNotAnotherClient() throws Exception {
        try (TwoClients clients = twoClientsTheFullOneLeastLoaded()) {
            long other = clients.other().streamsOpened();

            String answer = refusedOnceItWentUp(clients.full(), "x".repeat(96 * 1024));

            assertThat(answer).startsWith("HTTP/1.1 503").contains("tunnel_busy").containsIgnoringCase("Retry-After: 5");
            assertThat(tunnel.web.requestCount()).isZero();
            assertThat(clients.other().streamsOpened()).as("the other client was not asked").isEqualTo(other);
        }
    }

    /**
     * A chunked POST of thousands of one-byte chunks, refused once all of it went up its stream: the body kept, one
     * byte per piece, goes whole and in order to the other client.
     */
    @Test
    void aChunkedPostOfOneByteChunksRefusedAfterItWentUpWholeGoesExactlyToTheTunnelsOtherClient() throws Exception {
        StringBuilder body = new StringBuilder();
        StringBuilder chunks = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            char one = (char) ('a' + i % 26);
            body.append(one);
            chunks.append("1\r\n").append(one).append("\r\n");
        }
        try (TwoClients clients = twoClientsTheFullOneLeastLoaded()) {
            String answer = refusedOnceItWentUp(clients.full(), "Transfer-Encoding: chunked", chunks + "0\r\n\r\n");

            assertThat(answer).startsWith("HTTP/1.1 200").endsWith("hello");
            assertThat(tunnel.web.bodies()).containsExactly(body.toString());
            assertThat(clients.full().streamsOpened()).as("the full client refused the request's stream once")
                    .isEqualTo(MAX_STREAMS + 1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> testbed.server().bodyCopies().held() == 0);
    }

    /**
     * The bodies kept to be sent again are bounded server-wide. With all but 4 KiB of the bound taken, a 16 KiB body
     * (under 64 KiB, over what the bound has left) is not kept: sent where nothing refuses it, it reaches the target
     * once; refused, it gets 503 tunnel_busy and no other client is asked. A 1 KiB form refused by the full client
     * still goes whole to the other. What the bodies counted goes back: the bound holds nothing at the end.
     */
    @Test
    void aBodyOverWhatTheServerWideBoundHasLeftIsNotSentAgainButGoesOnOnceWhereNotRefused() throws Exception {
        tunnel.web.answerWithHeader("Connection", "close"); // no idle stream to reuse: each request opens a stream
        BodyCopyBudget bound = testbed.server().bodyCopies();
        String form = "name=picotunnel&note=" + "x".repeat(1000);
        String big = "y".repeat(16 * 1024);
        try (BodyCopyBudgetReservation taken = BodyCopyBudgetReservation.allBut(bound, 4096)) {
            testbed.connect(tunnel.id, tunnel.token);
            assertThat(post(big)).as("sent to the only client, which takes it").startsWith("HTTP/1.1 200");
            try (TwoClients clients = new TwoClients(withFullClients(HeldStreams.of(tunnel, UNLIMITED_CARRIES), 1))) {
                long other = clients.other().streamsOpened();

                String refused = refusedOnceItWentUp(clients.full(), big);

                assertThat(refused).startsWith("HTTP/1.1 503").contains("tunnel_busy");
                assertThat(clients.full().streamsOpened()).isEqualTo(MAX_STREAMS + 1);
                assertThat(clients.other().streamsOpened()).as("the other client was not asked").isEqualTo(other);
                assertThat(refusedOnceItWentUp(clients.full(), form)).startsWith("HTTP/1.1 200").endsWith("hello");
                assertThat(clients.full().streamsOpened()).isEqualTo(MAX_STREAMS + 2);
                assertThat(clients.other().streamsOpened()).as("the form went to the other").isEqualTo(other + 1);
            }

            assertThat(tunnel.web.bodies()).containsExactly(big, form);
            await().atMost(Duration.ofSeconds(10)).until(() -> bound.held() == taken.bytes());
        }
        assertThat(bound.held()).isZero();
    }

    /** {@link #refusedOnceItWentUp(TunnelRegistry.Connection, String, String)} of a body with its length. */
    private String refusedOnceItWentUp(TunnelRegistry.Connection full, String body) throws Exception {
        return refusedOnceItWentUp(full, "Content-Length: " + body.length(), body);
    }

    /**
     * The answer to a POST whose head has {@code framing} and whose {@code body} the visitor sends at once, the
     * {@code full} client's refusal read only once the request went up its stream whole: a count of the body's bytes
     * would not do, as a chunked body's last chunk, which has none, may be read after them.
     */
    private String refusedOnceItWentUp(TunnelRegistry.Connection full, String framing, String body) throws Exception {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort());
             RequestsSentUp sentUp = RequestsSentUp.watch(full)) {
            HeldInbound refusal = HeldInbound.holdWhatComesFrom(full);
            visitor.setSoTimeout(10_000);
            OutputStream out = visitor.getOutputStream();
            out.write(("POST / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json\r\n" + framing
                    + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().atMost(Duration.ofSeconds(10)).until(() -> sentUp.whole() == 1);

            refusal.release();
            return answer(visitor);
        }
    }

    /** The answer on {@code visitor}'s connection: its head, and its body by its Content-Length. */
    private static String answer(Socket visitor) throws IOException {
        InputStream in = visitor.getInputStream();
        String head = HttpHead.read(in);
        Matcher length = Pattern.compile("(?im)^content-length:\\s*(\\d+)").matcher(head);
        assertThat(length.find()).as("a Content-Length in %s", head).isTrue();
        return head + new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.UTF_8);
    }

    /**
     * Two clients of the tunnel: one without a limit carrying {@link #UNLIMITED_CARRIES} tcp streams, then one at its
     * {@code --max-streams} with fewer: the server takes the full one for the least loaded, and asks it first.
     */
    private TwoClients twoClientsTheFullOneLeastLoaded() throws Exception {
        TwoClients clients = new TwoClients(anUnlimitedClientThenFullOnes(1));
        try {
            assertThat(clients.full().streamsOpened()).as("the limited client is full").isEqualTo(MAX_STREAMS);
            return clients;
        } catch (Exception | AssertionError e) {
            clients.close();
            throw e;
        }
    }

    /** The tunnel's two clients, the other first, and the tcp visitors holding their streams open. */
    private final class TwoClients implements AutoCloseable {
        private final HeldStreams held;

        TwoClients(HeldStreams held) {
            this.held = held;
        }

        TunnelRegistry.Connection other() {
            return testbed.server().registry().connections(tunnel.id).get(0);
        }

        TunnelRegistry.Connection full() {
            return testbed.server().registry().connections(tunnel.id).get(1);
        }

        @Override
        public void close() throws IOException {
            held.close();
        }
    }

    /**
     * A client without a limit carrying {@link #UNLIMITED_CARRIES} tcp streams, then {@code limited} clients each at
     * its {@code --max-streams}: those are the least loaded, so the server asks them first.
     */
    private HeldStreams anUnlimitedClientThenFullOnes(int limited) throws IOException {
        testbed.connect(tunnel.id, tunnel.token);
        return withFullClients(HeldStreams.of(tunnel, UNLIMITED_CARRIES), limited);
    }

    /** The tunnel's only clients, {@code clients} of them, each at its {@code --max-streams}. */
    private HeldStreams fullClients(int clients) throws IOException {
        HeldStreams held = withFullClients(new HeldStreams(), clients);
        try {
            assertThat(streamsOpened()).as("every client full").containsOnly((long) MAX_STREAMS);
            return held;
        } catch (AssertionError e) {
            held.close();
            throw e;
        }
    }

    /** Starts {@code clients} more clients and fills each to its {@code --max-streams} with streams {@code held}. */
    private HeldStreams withFullClients(HeldStreams held, int clients) throws IOException {
        try {
            for (int i = 0; i < clients; i++) {
                startLimitedClient(testbed.server().registry().connections(tunnel.id).size() + 1);
                held.hold(tunnel, MAX_STREAMS);
            }
            return held;
        } catch (IOException | RuntimeException | AssertionError e) {
            held.close();
            throw e;
        }
    }

    @Test
    void aTcpVisitorRefusedByAClientAtItsStreamLimitGetsItsWholeEchoFromAnotherClient() throws Exception {
        // The other client carries one connection more than the limited one: the next stream goes to the limited one,
        // the least loaded, which refuses it.
        HeldStreams open = anUnlimitedClientThenFullOnes(1);
        // More than the 64 KiB the server keeps until the ACK.
        byte[] sent = new byte[192 * 1024];
        new Random(7).nextBytes(sent);
        try (open;
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO);
             Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            // Spoken at once, before any stream could be acknowledged; written while the echo is read.
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try {
                    visitor.getOutputStream().write(sent);
                    visitor.shutdownOutput();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, Executors.newVirtualThreadPerTaskExecutor());

            assertThat(visitor.getInputStream().readAllBytes()).as("the echo, every byte once, in order")
                    .isEqualTo(sent);
            writing.get(10, TimeUnit.SECONDS);
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("refused the stream: it had as many streams open as its --max-streams allows")
                    .contains("went to another client");
        }
    }

    /**
     * A tcp visitor refused by two clients at their --max-streams in turn goes to the third, the last stream the carry
     * allows; the log says so in one line.
     */
    @Test
    void aTcpVisitorRefusedByTwoClientsInTurnGetsItsEchoFromTheThirdAndTheLogSaysSoOnce() throws Exception {
        // The other client carries one connection more than each limited one: the limited ones are asked first.
        HeldStreams open = anUnlimitedClientThenFullOnes(2);
        try (open; LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO)) {
            open.hold(tunnel, 1);

            assertThat(streamsOpened()).as("each limited client refused once; the other took it")
                    .containsExactly(UNLIMITED_CARRIES + 1L, MAX_STREAMS + 1L, MAX_STREAMS + 1L);
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("2 clients of the tunnel refused the stream in turn; the last refused the stream: it"
                            + " had as many streams open as its --max-streams allows")
                    .contains("went to another client");
        }
    }

    /**
     * With more clients at their --max-streams than the carry allows streams, a tcp visitor is refused by three of them
     * and reset then: the fourth is never asked, nothing asks again, and the log says so in one line.
     */
    @Test
    void aTcpVisitorRefusedByThreeClientsInTurnIsResetAndNoFourthIsAsked() throws Exception {
        HeldStreams open = fullClients(4);
        try (open; LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO)) {
            assertATcpVisitorIsReset();
            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.INFO).isEmpty());
            assertThreeOfTheFourClientsAskedOnceEach();
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("3 clients of the tunnel refused the stream in turn; the last refused the stream: it"
                            + " had as many streams open as its --max-streams allows")
                    .contains("is reset (no more than 3 clients are asked)");
        }
    }

    /**
     * A request refused by two clients at their --max-streams in turn goes to the third, the last one asked; the log
     * says so in one line, as for a tcp visitor.
     */
    @Test
    void aRequestRefusedByTwoClientsInTurnGets200FromTheThirdAndTheLogSaysSoOnce() throws Exception {
        // The other client carries one connection more than each limited one: the limited ones are asked first.
        HeldStreams open = anUnlimitedClientThenFullOnes(2);
        try (open; LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            assertThat(tunnel.get()).startsWith("HTTP/1.1 200").endsWith("hello");

            assertThat(streamsOpened()).as("each limited client refused once; the other took it")
                    .containsExactly(UNLIMITED_CARRIES + 1L, MAX_STREAMS + 1L, MAX_STREAMS + 1L);
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("2 clients of the tunnel refused the stream in turn; the last " + AT_ITS_LIMIT)
                    .endsWith("GET " + HOST + " from 127.0.0.1 went to another client");
        }
    }

    /**
     * With more clients at their --max-streams than a request may ask, it is refused by three of them and answered 503
     * tunnel_busy then, as a tcp visitor is reset: the fourth is never asked, and the log says so in one line.
     */
    @Test
    void aRequestRefusedByThreeClientsInTurnGets503TunnelBusyAndNoFourthIsAsked() throws Exception {
        HeldStreams open = fullClients(4);
        try (open; LogCapture log = new LogCapture(EXCHANGE_LOG, Level.INFO)) {
            assertThat(tunnel.get()).startsWith("HTTP/1.1 503").contains("tunnel_busy")
                    .containsIgnoringCase("Retry-After: 5");

            assertThreeOfTheFourClientsAskedOnceEach();
            assertThat(tunnel.web.requestCount()).isZero();
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("3 clients of the tunnel refused the stream in turn; the last " + AT_ITS_LIMIT)
                    .endsWith("GET " + HOST + " from 127.0.0.1 is answered 503 tunnel_busy (no more than 3"
                            + " clients are asked)");
        }
    }

    /**
     * A tcp visitor writes "ping" and reads: the server resets it. The reset may come before the write (the stream is
     * opened, and refused, at the connection's accept), so either may be the one that sees it.
     */
    private void assertATcpVisitorIsReset() throws IOException {
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
            visitor.setSoTimeout(10_000);
            assertThatThrownBy(() -> {
                visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                visitor.getInputStream().read();
            }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
        }
    }

    /**
     * Of the tunnel's four full clients, three were asked for one stream more each and the fourth never; nothing asks
     * again for half a second.
     */
    private void assertThreeOfTheFourClientsAskedOnceEach() {
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                .until(() -> streamsOpened().stream().mapToLong(Long::longValue).sum() == 4L * MAX_STREAMS + 3);
        assertThat(streamsOpened()).as("three clients asked once each, the fourth never")
                .containsExactlyInAnyOrder(MAX_STREAMS + 1L, MAX_STREAMS + 1L, MAX_STREAMS + 1L, (long) MAX_STREAMS);
    }

    /** Streams the server opened on each of the tunnel's clients, in their order of arrival. */
    private List<Long> streamsOpened() {
        return testbed.server().registry().connections(tunnel.id).stream()
                .map(TunnelRegistry.Connection::streamsOpened).toList();
    }

    /** Starts a client that takes at most {@link #MAX_STREAMS} streams. */
    private void startLimitedClient() {
        SessionLimits defaults = SessionLimits.DEFAULTS;
        testbed.startClient(tunnel.token, config -> config.withLimits(
                new SessionLimits(defaults.maxStreamWindow(), defaults.sessionWindowBudget(), MAX_STREAMS)));
    }

    @Test
    void aTcpVisitorRefusedByTheOnlyClientAtItsStreamLimitIsResetAndTheLogSaysWhyOnce() throws Exception {
        startLimitedClient(1);
        HeldStreams held = HeldStreams.of(tunnel, MAX_STREAMS);
        try (held; LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO)) {
            assertATcpVisitorIsReset();
            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.INFO).isEmpty());
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("refused the stream: it had as many streams open as its --max-streams allows")
                    .contains("is reset");
        }
    }

    /** {@code POST /} with {@code body} to the HTTP service, as one raw answer (head and body). */
    private String post(String body) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), testbed.server().httpPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            out.write(("POST / HTTP/1.1\r\nHost: " + HOST + "\r\nAccept: application/json\r\nConnection: close\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + bytes.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
