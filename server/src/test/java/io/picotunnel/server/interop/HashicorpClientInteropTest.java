package io.picotunnel.server.interop;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.e2e.RecordingTarget;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.testkit.GoPeer;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.SilentPeer;
import io.picotunnel.testkit.StallingServer;
import io.picotunnel.testkit.TcpTarget;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Our server with a hashicorp/yamux client over a gorilla WebSocket (the Go peer's tunnel-client mode): a
 * tunnel and a TCP service created through the API, traffic through the service's port.
 */
class HashicorpClientInteropTest {

    private static final int MIB = 1024 * 1024;
    /**
     * What a stalled upload may have in flight: hashicorp's window, the client's and the server's buffers and the
     * kernel's socket buffers on loopback (each can grow to several MiB); an upload that ignored backpressure would
     * have it all.
     */
    private static final long IN_FLIGHT_BOUND = 48L * MIB;

    @TempDir
    Path dataDir;

    private HashicorpClientServer bed;
    private PicoTunnelServer server;
    private ApiClient api;
    private TcpTarget target;
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @BeforeEach
    void setUp() {
        bed = new HashicorpClientServer(dataDir);
        server = bed.server;
        api = bed.api;
        target = TcpTarget.echo();
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        bed.stopClients();
        threads.shutdownNow();
        threads.awaitTermination(10, TimeUnit.SECONDS);
        target.close();
        bed.close();
    }

    @Test
    void hashicorpClientServesATcpServiceByteExact() throws Exception {
        JsonNode tunnel = createTunnel();
        int port = tcpService(tunnel.get("id").asText()).port();
        GoPeer client = bed.connectedClient(tunnel);

        List<Future<Boolean>> transfers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            transfers.add(threads.submit(() -> echoesExactly(port, 8 * MIB)));
        }

        for (Future<Boolean> transfer : transfers) {
            assertThat(transfer.get(120, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(client.awaitLine("STREAM ")).isEqualTo("STREAM " + target.address() + " ok");
    }

    /**
     * Visitors that send a few bytes and reset their connection at once, through the hashicorp client: the server's
     * relay starts while the visitor's socket may be gone already, and each stream must end all the same (none left
     * open on the session), with the service serving the next visitor byte-exact.
     */
    @Test
    void visitorsThatResetAtOnceThroughTheHashicorpClientLeaveNoStreamOpen() throws Exception {
        JsonNode tunnel = createTunnel();
        String tunnelId = tunnel.get("id").asText();
        int port = tcpService(tunnelId).port();
        GoPeer client = bed.connectedClient(tunnel);

        for (int i = 0; i < 200; i++) {
            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
                visitor.getOutputStream().write(("visitor " + i).getBytes(StandardCharsets.US_ASCII));
                visitor.setSoLinger(true, 0);
            }
        }

        var session = server.registry().connections(tunnelId).getFirst().session();
        await().atMost(Duration.ofSeconds(20)).until(() -> session.activeStreams() == 0);
        assertThat(echoesExactly(port, MIB)).isTrue();
    }

    @Test
    void hashicorpClientKilledMidDownloadResetsTheVisitorInsteadOfEndingTheData() throws Exception {
        long size = 1024L * MIB;
        // A target that streams (bounded, 1 GiB) until its connection breaks: the download is always in flight.
        ServerSocket source = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        threads.submit(() -> {
            try (source; Socket accepted = source.accept(); OutputStream out = accepted.getOutputStream()) {
                byte[] chunk = new byte[64 * 1024];
                for (long sent = 0; sent < size; sent += chunk.length) {
                    out.write(chunk);
                }
            }
            return null;
        });
        JsonNode tunnel = createTunnel();
        int port = tcpService(tunnel.get("id").asText(), "127.0.0.1:" + source.getLocalPort()).port();
        GoPeer client = bed.connectedClient(tunnel);

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
            visitor.setSoTimeout(60_000);
            InputStream in = visitor.getInputStream();
            byte[] buffer = new byte[64 * 1024];
            long received = 0;
            while (received < MIB) {
                int n = in.read(buffer);
                assertThat(n).as("data before the client dies").isPositive();
                received += n;
            }
            client.kill();
            long[] total = {received};
            assertThatThrownBy(() -> {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    total[0] += n;
                }
            }).as("a reset, never a clean end of data").isInstanceOf(SocketException.class);
            assertThat(total[0]).isLessThan(size);
            source.close();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> !server.registry().isConnected(tunnel.get("id").asText()));
    }

    /**
     * An upload through an http service to a target that takes the connection and never reads: the hashicorp client
     * stops reading its stream, the server's stream runs out of send window, and the proxy stops reading the
     * visitor, whose writes stall at what the sockets' buffers and the window hold, far below the body.
     */
    @Test
    void uploadToATargetThatDoesNotReadStallsTheVisitorThroughTheHashicorpClient() throws Exception {
        long body = 256L * MIB;
        try (SilentPeer stalled = SilentPeer.readingNothing()) {
            JsonNode tunnel = createTunnel();
            httpService(tunnel.get("id").asText(), "up.test", stalled.port());
            bed.connectedClient(tunnel);

            AtomicLong written = new AtomicLong();
            Socket visitor = new Socket(InetAddress.getLoopbackAddress(), server.httpPort());
            try {
                OutputStream out = visitor.getOutputStream();
                out.write("POST /upload HTTP/1.1\r\nHost: up.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                byte[] chunk = ("10000\r\n" + "x".repeat(0x10000) + "\r\n").getBytes(StandardCharsets.US_ASCII);
                Future<?> writer = threads.submit(() -> {
                    while (written.get() < body) {
                        out.write(chunk);
                        written.addAndGet(chunk.length);
                    }
                    return null;
                });
                await("the visitor's writes stall far below the body").pollDelay(Duration.ofSeconds(1))
                        .during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(30))
                        .until(() -> written.get() < body / 8 && !writer.isDone());
            } finally {
                visitor.close(); // ends the blocked writer
            }
        }
    }

    /**
     * A visitor uploads far more than the buffers hold through a tcp service, then FIN, to a target behind the
     * hashicorp client that reads nothing: hashicorp stops taking our stream's data once its window is full, our
     * stream becomes unwritable and the relay stops reading the visitor, whose writes stall with a bounded amount in
     * flight; once the target reads, every byte arrives and then EOF, the visitor's FIN behind its last byte.
     */
    @Test
    void aVisitorsUploadAndFinToAStalledTargetBehindTheHashicorpClientStayBoundedThenArriveWhole() throws Exception {
        long size = 256L * MIB;
        try (StallingServer stalled = new StallingServer()) {
            JsonNode tunnel = createTunnel();
            int port = tcpService(tunnel.get("id").asText(), stalled.address()).port();
            bed.connectedClient(tunnel);

            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
                AtomicLong written = new AtomicLong();
                Future<String> upload = threads.submit(() -> uploadThenFin(visitor, size, written));
                await("the visitor's writes held back far below the upload").pollDelay(Duration.ofSeconds(1))
                        .during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(30))
                        .untilAsserted(() -> {
                            assertThat(stalled.connected()).as("the target connected").isTrue();
                            assertThat(written.get()).as("written by the visitor").isPositive().isLessThan(IN_FLIGHT_BOUND);
                            assertThat(upload.isDone()).as("the upload stalled").isFalse();
                        });
                assertThat(stalled.receivedBytes()).isZero();

                stalled.release();

                String sent = upload.get(60, TimeUnit.SECONDS);
                assertThat(stalled.awaitSha256(60)).as("every byte, then EOF").isEqualTo(sent);
                assertThat(stalled.receivedBytes()).isEqualTo(size);
            }
        }
    }

    /**
     * A request whose stream crosses the hashicorp client's GoAway: the client refuses it with an RST before its ACK
     * that carries no reason (hashicorp/yamux has no codes), which after its GoAway can only be the refusal of every
     * SYN it makes once it sent one. With no other client, the visitor gets 503 client_stopping with Retry-After, as
     * from our own client, and the log says the client refused it; the app saw nothing, and the server goes on serving.
     */
    @Test
    void aStreamTheOnlyHashicorpClientRefusesAfterItsGoAwayGets503ClientStopping() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        try (ServerSocket service = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
             LogCapture exchanges = new LogCapture("io.picotunnel.server.proxy.http.Exchange", Level.INFO)) {
            threads.submit(() -> {
                for (int i = 0; i < 100; i++) { // ends when the socket closes
                    service.accept().close();
                    accepted.incrementAndGet();
                }
                return null;
            });
            JsonNode tunnel = createTunnel();
            String tunnelId = tunnel.get("id").asText();
            httpService(tunnelId, "gone.test", service.getLocalPort());
            GoPeer client = bed.connectedClient(tunnel);
            var session = server.registry().connections(tunnelId).getFirst().session();

            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
                visitor.setSoTimeout(30_000);
                sendGetAcrossTheGoAway(client, session, visitor, "gone.test");

                String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertThat(answer).startsWith("HTTP/1.1 503 ").contains("\"error\":\"client_stopping\"")
                        .containsIgnoringCase("retry-after: 5");
            }
            assertThat(accepted.get()).as("connections the target saw").isZero();
            assertThat(exchanges.messages(Level.INFO)).as("the log").anySatisfy(line -> assertThat(line)
                    .contains("refused").contains("stopping").doesNotContain("ended the stream before a response"));
            await().atMost(Duration.ofSeconds(30)).until(() -> session.activeStreams() == 0);

            GoPeer next = secondConnectedClient(tunnel);
            next.send("PING");
            assertThat(next.awaitLine("PONG")).matches("PONG \\d+");
            assertThat(api.get("/api/tunnels").status()).isEqualTo(200);
        }
    }

    /**
     * As above with a second client serving the tunnel: the stream the first refused after its GoAway went nowhere,
     * so the request goes to the other client and the visitor gets the app's answer, the app seeing it once.
     */
    @Test
    void aStreamTheHashicorpClientRefusesAfterItsGoAwayGoesToTheTunnelsOtherClient() throws Exception {
        try (RecordingTarget app = new RecordingTarget()) {
            JsonNode tunnel = createTunnel();
            String tunnelId = tunnel.get("id").asText();
            httpService(tunnelId, "moved.test", portOf(app));
            GoPeer client = bed.connectedClient(tunnel);
            var session = server.registry().connections(tunnelId).getFirst().session();

            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
                visitor.setSoTimeout(30_000);
                sendGetAcrossTheGoAway(client, session, visitor, "moved.test", () -> secondConnectedClient(tunnel));

                assertThat(new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .startsWith("HTTP/1.1 200").endsWith("hello");
            }
            assertThat(app.uris()).as("what the app saw").containsExactly("/x");
        }
    }

    /**
     * A tcp visitor whose stream crosses a hashicorp client's GoAway: refused with a bare RST before the ACK, it goes
     * to the tunnel's other client with the bytes it sent, and its echo comes back whole, the target seeing one
     * connection.
     */
    @Test
    void aTcpVisitorWhoseStreamTheHashicorpClientRefusesAfterItsGoAwayGoesToTheTunnelsOtherClient() throws Exception {
        JsonNode tunnel = createTunnel();
        String tunnelId = tunnel.get("id").asText();
        TcpServicePorts.Created service = tcpService(tunnelId);
        GoPeer client = bed.connectedClient(tunnel);
        var session = server.registry().connections(tunnelId).getFirst().session();
        client.send("HOLD");
        client.awaitLine("HELD");
        client.send("GOAWAY");
        client.awaitLine("GOAWAY_SENT");

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), service.port())) {
            visitor.setSoTimeout(30_000);
            byte[] sent = "carried across the GoAway".getBytes(StandardCharsets.US_ASCII);
            visitor.getOutputStream().write(sent);
            await().atMost(Duration.ofSeconds(30)).until(() -> session.activeStreams() > 0);
            secondConnectedClient(tunnel);
            client.send("RELEASE");
            client.awaitLine("RELEASED");

            assertThat(visitor.getInputStream().readNBytes(sent.length)).isEqualTo(sent);
        }
        assertThat(target.accepted()).as("connections the target saw").isEqualTo(1);
    }

    private void sendGetAcrossTheGoAway(GoPeer client, YamuxSession session, Socket visitor, String host)
            throws Exception {
        sendGetAcrossTheGoAway(client, session, visitor, host, () -> null);
    }

    /**
     * Sends a GET for {@code host}'s /x whose stream crosses {@code client}'s GoAway: the GoAway stays on the client's
     * side until the server opened the visitor's stream on {@code session}, then {@code meanwhile} runs, then the
     * client's writes (its GoAway, then its RST of the stream) go out.
     */
    private void sendGetAcrossTheGoAway(GoPeer client, YamuxSession session, Socket visitor, String host,
                                        Callable<?> meanwhile) throws Exception {
        client.send("HOLD");
        client.awaitLine("HELD");
        client.send("GOAWAY");
        client.awaitLine("GOAWAY_SENT");
        sendGet(visitor, host, "/x", "close");
        await().atMost(Duration.ofSeconds(30)).until(() -> session.activeStreams() > 0);
        meanwhile.call();
        client.send("RELEASE");
        client.awaitLine("RELEASED");
    }

    /**
     * The tunnel's only client is a hashicorp client that takes the visitor's SYN and data but never accepts the
     * stream, so never acknowledges it, and is killed then: the visitor, who sent 100 KiB (the server passed on 64 KiB
     * or more of them and keeps what it read until the ACK), is reset, never given a clean end, and nothing stays open
     * on the server, which serves the next visitor through the next client.
     */
    @Test
    void aVisitorWhoseOnlyHashicorpClientIsKilledBeforeItsAckIsResetAndTheServerGoesOn() throws Exception {
        JsonNode tunnel = createTunnel();
        String tunnelId = tunnel.get("id").asText();
        TcpServicePorts.Created service = tcpService(tunnelId);
        GoPeer silent = bed.connectedClient(tunnel, "-no-accept");
        var session = server.registry().connections(tunnelId).getFirst().session();

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), service.port())) {
            sendUnacknowledged(visitor, silent);
            silent.kill();

            assertIsReset(visitor);
        }
        assertNothingStaysOpenAfterTheKill(tunnelId, session, service);

        GoPeer next = bed.connectedClient(tunnel);
        assertThat(echoesExactly(service.port(), MIB)).isTrue();
    }

    /**
     * As above, with the client stopped (SIGSTOP) before it is killed while a second visitor's stream opens: that
     * stream's frames wait unread in the client's socket (on loopback they reach it at once), so its connection ends
     * with a TCP reset rather than a FIN; both visitors are reset all the same, and nothing stays open.
     */
    @Test
    void visitorsWhoseHashicorpClientIsKilledWithUnreadFramesBeforeTheirAcksAreReset() throws Exception {
        JsonNode tunnel = createTunnel();
        String tunnelId = tunnel.get("id").asText();
        TcpServicePorts.Created service = tcpService(tunnelId);
        GoPeer silent = bed.connectedClient(tunnel, "-no-accept");
        var session = server.registry().connections(tunnelId).getFirst().session();

        try (Socket first = new Socket(InetAddress.getLoopbackAddress(), service.port());
             Socket second = new Socket(InetAddress.getLoopbackAddress(), service.port())) {
            sendUnacknowledged(first, silent);
            silent.pause();
            second.getOutputStream().write(new byte[64 * 1024]);
            await().atMost(Duration.ofSeconds(30)).until(() -> session.activeStreams() == 2);
            silent.kill();

            assertIsReset(first);
            assertIsReset(second);
        }
        assertNothingStaysOpenAfterTheKill(tunnelId, session, service);
    }

    /**
     * As above with a second client serving the tunnel when the first is killed: the lost session is no refusal (an
     * ACK may have been lost with it while the bytes reached the target), so the visitor is reset and nothing it sent
     * goes to the other client's target, which serves the next visitor byte-exact.
     */
    @Test
    void aVisitorWhoseHashicorpClientIsKilledBeforeItsAckIsResetEvenWithAnotherClientAndNothingIsSentTwice()
            throws Exception {
        JsonNode tunnel = createTunnel();
        String tunnelId = tunnel.get("id").asText();
        TcpServicePorts.Created service = tcpService(tunnelId);
        GoPeer silent = bed.connectedClient(tunnel, "-no-accept");

        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), service.port())) {
            sendUnacknowledged(visitor, silent);
            secondConnectedClient(tunnel);
            silent.kill();

            assertIsReset(visitor);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> server.registry().connections(tunnelId).size() == 1);
        await().atMost(Duration.ofSeconds(30)).until(() -> activeConnections(tunnelId, service.id()) == 0);
        assertThat(server.registry().connections(tunnelId).getFirst().session().activeStreams()).isZero();
        assertThat(target.accepted()).as("connections the target saw").isZero();

        assertThat(echoesExactly(service.port(), 100 * 1024)).isTrue();
        assertThat(target.accepted()).isEqualTo(1);
    }

    /**
     * An HTTP request whose stream the hashicorp client takes (SYN and data) but never accepts, so never acknowledges:
     * after the stream open timeout (2 s here, 30 s by default) the server resets the stream and the visitor gets 504
     * tunnel_not_answering; the app saw nothing. The session lives on: it answers a ping, keeps no stream open, and carries the next
     * request's stream to the client (which holds it unaccepted as the first).
     */
    @Test
    void aRequestWhoseStreamTheHashicorpClientNeverAcknowledgesGets504TunnelNotAnsweringAndTheSessionGoesOn()
            throws Exception {
        restartWith(Map.of(Setting.STREAM_OPEN_TIMEOUT, "2s"));
        try (RecordingTarget app = new RecordingTarget()) {
            JsonNode tunnel = createTunnel();
            String tunnelId = tunnel.get("id").asText();
            httpService(tunnelId, "silent.test", portOf(app));
            GoPeer silent = bed.connectedClient(tunnel, "-no-accept");
            var session = server.registry().connections(tunnelId).getFirst().session();

            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
                visitor.setSoTimeout(20_000); // below the 30 s default
                sendGet(visitor, "silent.test", "/", "close");
                String first = silent.awaitLine("SYN ");

                String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer).startsWith("HTTP/1.1 504").contains("\"error\":\"tunnel_not_answering\"");
                assertThat(app.uris()).as("the app saw nothing").isEmpty();
                await().atMost(Duration.ofSeconds(10)).until(() -> session.activeStreams() == 0);
                assertThat(server.registry().isConnected(tunnelId)).isTrue();
                silent.send("PING");
                assertThat(silent.awaitLine("PONG")).matches("PONG \\d+");
                silent.send("STREAMS");
                assertThat(silent.awaitLine("STREAMS ")).as("the reset stream is gone on hashicorp's side too")
                        .isEqualTo("STREAMS 0");

                try (Socket next = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
                    sendGet(next, "silent.test", "/next", "close");
                    assertThat(silent.awaitLine("SYN ")).as("the next request's stream").isNotEqualTo(first);
                }
            }
        }
    }

    /**
     * A GET that takes the idle keep-alive stream on a hashicorp client, which is killed (SIGKILL) while the app holds
     * the GET: the visitor gets 502 tunnel_lost, and the GET is not sent again to the tunnel's other client (the app
     * sees it once).
     */
    @Test
    void aGetOnAReusedStreamWhoseHashicorpClientIsKilledWhileTheAppHoldsItGets502TunnelLostAndIsNotSentAgain()
            throws Exception {
        try (RecordingTarget app = new RecordingTarget()) {
            JsonNode tunnel = createTunnel();
            String tunnelId = tunnel.get("id").asText();
            httpService(tunnelId, "keep.test", portOf(app));
            GoPeer chosen = bed.connectedClient(tunnel);
            var chosenSession = server.registry().connections(tunnelId).getFirst().session();
            try (Socket first = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
                first.setSoTimeout(30_000);
                sendGet(first, "keep.test", "/", "close");
                assertThat(new String(first.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .startsWith("HTTP/1.1 200").endsWith("hello");
            }
            await("the idle keep-alive stream").atMost(Duration.ofSeconds(10))
                    .until(() -> chosenSession.activeStreams() == 1);
            secondConnectedClient(tunnel);
            var otherSession = server.registry().connections(tunnelId).stream().map(c -> c.session())
                    .filter(s -> s != chosenSession).findFirst().orElseThrow();
            app.holdNextRequest();

            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
                visitor.setSoTimeout(30_000);
                sendGet(visitor, "keep.test", "/held", "close");
                await().atMost(Duration.ofSeconds(10)).until(() -> app.uris().size() == 2);
                assertThat(chosenSession.activeStreams()).as("the GET took the idle stream").isEqualTo(1);
                assertThat(otherSession.activeStreams()).as("no stream on the other client").isZero();

                chosen.kill();

                String answer = new String(visitor.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer).startsWith("HTTP/1.1 502").contains("\"error\":\"tunnel_lost\"");
            }
            assertThat(app.uris()).as("the app saw it once").containsExactly("/", "/held");
            await().atMost(Duration.ofSeconds(30)).until(() -> server.registry().connections(tunnelId).size() == 1);
        }
    }

    /**
     * The server drains (stop with a grace period) with a hashicorp client connected: the request in flight, held by
     * the app, finishes through the client after the server's GoAway, and a request sent meanwhile on a connection
     * opened before the drain gets 503 server_stopping and never reaches the app; the stop ends with the last stream.
     */
    @Test
    void whileTheServerDrainsARequestInFlightThroughTheHashicorpClientFinishesAndTheNextGets503ServerStopping()
            throws Exception {
        try (RecordingTarget app = new RecordingTarget();
             LogCapture drain = new LogCapture("io.picotunnel.server.tunnel.TunnelEndpoint", Level.INFO)) {
            JsonNode tunnel = createTunnel();
            httpService(tunnel.get("id").asText(), "drain.test", portOf(app));
            bed.connectedClient(tunnel);
            app.holdNextRequest();

            try (Socket waiting = new Socket(InetAddress.getLoopbackAddress(), server.httpPort());
                 Socket fresh = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
                waiting.setSoTimeout(30_000);
                fresh.setSoTimeout(30_000);
                sendGet(waiting, "drain.test", "/held", "close");
                await().atMost(Duration.ofSeconds(10)).until(() -> app.uris().size() == 1);

                Thread stopping = Thread.ofPlatform().daemon().name("server-stop")
                        .start(() -> server.stop(Duration.ofSeconds(30)));
                await("the server drains").atMost(Duration.ofSeconds(10))
                        .until(() -> drain.messages(Level.INFO).stream().anyMatch(m -> m.startsWith("draining: ")));

                sendGet(fresh, "drain.test", "/next", "close");
                assertThat(new String(fresh.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .startsWith("HTTP/1.1 503").contains("\"error\":\"server_stopping\"");
                assertThat(app.uris()).as("the app never saw it").containsExactly("/held");

                app.answerHeldRequest();
                assertThat(new String(waiting.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .as("the request in flight finishes").startsWith("HTTP/1.1 200").endsWith("hello");
                stopping.join(Duration.ofSeconds(20));
                assertThat(stopping.isAlive()).as("the drain ends with the last stream").isFalse();
            }
        }
    }

    /** Stops the server and starts it anew on its data with {@code settings}, before any client. */
    private void restartWith(Map<Setting, String> settings) {
        bed.close();
        bed = new HashicorpClientServer(dataDir, settings);
        server = bed.server;
        api = bed.api;
    }

    private static int portOf(RecordingTarget app) {
        return Integer.parseInt(app.address().substring(app.address().lastIndexOf(':') + 1));
    }

    private static void sendGet(Socket visitor, String host, String path, String connection) throws IOException {
        visitor.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host
                + "\r\nAccept: application/json\r\nConnection: " + connection + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        visitor.getOutputStream().flush();
    }

    /**
     * The visitor sends 100 KiB at once; returns once the client that does not accept streams has the stream's SYN
     * and the 64 KiB or more the server passes on before the ACK (once it keeps 64 KiB it reads no more until then).
     */
    private void sendUnacknowledged(Socket visitor, GoPeer silent) throws Exception {
        byte[] sent = new byte[100 * 1024];
        new Random(11).nextBytes(sent);
        // All written before the kill, none while the reset comes: Linux reports a reset to one call only, and a
        // write that took it would leave the visitor's read an end of data.
        threads.submit(() -> {
            visitor.getOutputStream().write(sent);
            return null;
        }).get(30, TimeUnit.SECONDS);
        String stream = silent.awaitLine("SYN ").substring("SYN ".length());
        long received = 0; // the stream header's bytes too
        for (int frames = 0; frames < 10_000 && received < 64 * 1024; frames++) {
            received = Long.parseLong(silent.awaitLine("DATA " + stream + " ").split(" ")[2]);
        }
        assertThat(received).as("bytes the client got on its stream").isGreaterThanOrEqualTo(64 * 1024);
    }

    /** The visitor's connection ends with a reset, never with a clean end of data. */
    private static void assertIsReset(Socket visitor) throws IOException {
        visitor.setSoTimeout(30_000);
        InputStream in = visitor.getInputStream();
        long[] echoed = {0};
        assertThatThrownBy(() -> {
            byte[] buffer = new byte[16 * 1024];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                echoed[0] += n;
            }
        }).as("a reset, never a clean end of data").isInstanceOf(SocketException.class)
                .hasMessageContaining("reset");
        assertThat(echoed[0]).as("bytes echoed").isZero();
    }

    /**
     * Once the killed client's session has ended, none of its streams is open, the service counts no connection and
     * the target never saw one.
     */
    private void assertNothingStaysOpenAfterTheKill(String tunnelId, YamuxSession session,
            TcpServicePorts.Created service) {
        await().atMost(Duration.ofSeconds(30)).until(() -> !server.registry().isConnected(tunnelId));
        assertThat(session.activeStreams()).isZero();
        await().atMost(Duration.ofSeconds(30)).until(() -> activeConnections(tunnelId, service.id()) == 0);
        assertThat(target.accepted()).as("connections the target saw").isZero();
    }

    private long activeConnections(String tunnelId, String serviceId) {
        for (JsonNode service : api.get("/api/tunnels/" + tunnelId + "/services").json()) {
            if (service.get("id").asText().equals(serviceId)) {
                return service.get("active_connections").asLong();
            }
        }
        throw new AssertionError("no service " + serviceId);
    }

    @Test
    void wrongTokenIsRefusedWith401() throws Exception {
        createTunnel();
        GoPeer client = bed.startClient("0".repeat(64));

        assertThat(client.awaitLine("REJECTED")).isEqualTo("REJECTED 401");
        assertThat(client.awaitExit(Duration.ofSeconds(30))).isEqualTo(3);
    }

    @Test
    void hashicorpPingIsAnswered() {
        JsonNode tunnel = createTunnel();
        GoPeer client = bed.startClient(tunnel.get("token").asText());
        client.awaitLine("CONNECTED");

        client.send("PING");

        assertThat(client.awaitLine("PONG")).matches("PONG \\d+");
    }

    @Test
    void regeneratingTheTokenDisconnectsTheHashicorpClient() {
        JsonNode tunnel = createTunnel();
        GoPeer client = bed.startClient(tunnel.get("token").asText());
        client.awaitLine("CONNECTED");

        ApiClient.Response regenerated = api.post("/api/tunnels/" + tunnel.get("id").asText() + "/regenerate", "{}");

        assertThat(regenerated.status()).as(regenerated.toString()).isEqualTo(200);
        client.awaitLine("DISCONNECTED");
    }

    private JsonNode createTunnel() {
        return bed.createTunnel("go-interop");
    }

    private TcpServicePorts.Created tcpService(String tunnelId) {
        return tcpService(tunnelId, target.address());
    }

    private TcpServicePorts.Created tcpService(String tunnelId, String targetAddress) {
        return bed.tcpService(tunnelId, targetAddress);
    }

    /** An http service of the tunnel to the target on {@code targetPort}, without health checks. */
    private void httpService(String tunnelId, String domain, int targetPort) {
        ApiClient.Response created = api.post("/api/tunnels/" + tunnelId + "/services",
                "{\"type\":\"http\",\"domain\":\"" + domain + "\",\"target_addr\":\"127.0.0.1:"
                        + targetPort + "\",\"enabled\":true,\"health_check\":false}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
    }

    /** A hashicorp client of {@code tunnel} that has one already, once the server has both. */
    private GoPeer secondConnectedClient(JsonNode tunnel) {
        GoPeer peer = bed.startClient(tunnel.get("token").asText());
        peer.awaitLine("CONNECTED");
        String tunnelId = tunnel.get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> server.registry().connections(tunnelId).size() == 2);
        return peer;
    }

    /** Streams {@code size} random bytes through the service, half-closes, and checks the echo to EOF by digest. */
    private static boolean echoesExactly(int port, int size) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(60_000);
            ExecutorService reader = Executors.newSingleThreadExecutor();
            try {
                Future<Digest> echoed = reader.submit(() -> digestToEof(socket.getInputStream()));
                String sent = uploadThenFin(socket, size, new AtomicLong());
                Digest back = echoed.get(60, TimeUnit.SECONDS);
                return back.bytes() == size && HexFormat.of().formatHex(back.sha256()).equals(sent);
            } finally {
                reader.shutdownNow();
            }
        }
    }

    /** Writes {@code size} random bytes, counting them in {@code written}, then FIN; returns their SHA-256 (hex). */
    private static String uploadThenFin(Socket socket, long size, AtomicLong written) throws Exception {
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        Random random = new Random();
        byte[] chunk = new byte[64 * 1024];
        OutputStream out = socket.getOutputStream();
        for (long left = size; left > 0; left -= chunk.length) {
            random.nextBytes(chunk);
            int n = (int) Math.min(left, chunk.length);
            out.write(chunk, 0, n);
            sent.update(chunk, 0, n);
            written.addAndGet(n);
        }
        socket.shutdownOutput();
        return HexFormat.of().formatHex(sent.digest());
    }

    private record Digest(long bytes, byte[] sha256) {
    }

    private static Digest digestToEof(InputStream in) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = in.read(buffer)) >= 0) {
            digest.update(buffer, 0, n);
            total += n;
        }
        return new Digest(total, digest.digest());
    }
}
