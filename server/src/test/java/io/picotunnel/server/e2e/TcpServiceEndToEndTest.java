package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.server.proxy.tcp.TcpTraffic;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tunnel.TunnelRegistry;
import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.testkit.ClientHellos;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.EpollInterest;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.StallingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A tcp service end to end: a public socket on the server's port, the server, the WebSocket tunnel, our client,
 * and a real TCP target behind it.
 */
class TcpServiceEndToEndTest {

    private static final long MiB = 1024 * 1024;

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private EchoServer echo;
    private String tunnelId;
    private int servicePort;

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        echo = new EchoServer();
        JsonNode tunnel = testbed.createTunnel("e2e");
        tunnelId = tunnel.get("id").asText();
        testbed.connect(tunnelId, tunnel.get("token").asText());
        servicePort = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
    }

    @AfterEach
    void stop() {
        testbed.close();
        echo.close();
    }

    @Test
    void sixtyFourMebibytesEachWayArriveByteExact() throws Exception {
        Transfers.Result result = Transfers.roundTrip(servicePort, 64 * MiB, 42);

        assertThat(result.receivedBytes()).isEqualTo(64 * MiB);
        assertThat(result.receivedSha256()).isEqualTo(result.sentSha256());
    }

    @Test
    void theVisitorsAndTheTargetsSocketsProbeAVanishedPeerWithKeepalive() throws Exception {
        try (ExecutorService acceptor = Executors.newSingleThreadExecutor();
                java.net.ServerSocket target = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                Socket visitor = new Socket()) {
            Future<Socket> accepted = acceptor.submit(target::accept);
            int port = testbed.createTcpServiceOnFreePort(tunnelId, "127.0.0.1:" + target.getLocalPort()).port();
            visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
            visitor.getOutputStream().write('x');
            try (Socket targetSide = accepted.get(30, TimeUnit.SECONDS)) {
                assertThat(targetSide.getInputStream().read()).isEqualTo('x');
                // ss lists a socket's keepalive timer; the server's end of the visitor's connection, and the
                // client's end of the target's. Before: no timer, and a peer that vanished was held for ever.
                String sockets = new String(new ProcessBuilder("ss", "-tnoH", "state", "established")
                        .redirectErrorStream(true).start().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(socketLine(sockets, "127.0.0.1:" + port, "127.0.0.1:" + visitor.getLocalPort()))
                        .contains("timer:(keepalive");
                assertThat(socketLine(sockets, "127.0.0.1:" + targetSide.getPort(),
                        "127.0.0.1:" + targetSide.getLocalPort())).contains("timer:(keepalive");
            }
        }
    }

    @Test
    void aClientWithTargetThreadsThatStopsResetsItsTargetsConnections() throws Exception {
        JsonNode pooled = testbed.createTunnel("pooled");
        String pooledId = pooled.get("id").asText();
        try (ExecutorService acceptor = Executors.newSingleThreadExecutor();
                java.net.ServerSocket target = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = testbed.createTcpServiceOnFreePort(pooledId, "127.0.0.1:" + target.getLocalPort()).port();
            TunnelClient client = testbed.startClient(pooled.get("token").asText(), c -> c.withTargetThreads(2));
            await().atMost(30, TimeUnit.SECONDS).until(() -> testbed.isConnected(pooledId));
            List<Socket> visitors = new ArrayList<>();
            List<Socket> targets = new ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) {
                    Future<Socket> accepted = acceptor.submit(target::accept);
                    Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port);
                    visitors.add(visitor);
                    visitor.getOutputStream().write('x');
                    Socket targetSide = accepted.get(30, TimeUnit.SECONDS);
                    targets.add(targetSide);
                    targetSide.setSoTimeout(30_000);
                    assertThat(targetSide.getInputStream().read()).isEqualTo('x');
                }
                client.close();
                // Before: the target pool's shutdown closed them (FIN) before the relays' resets ran.
                for (Socket targetSide : targets) {
                    assertThatThrownBy(() -> targetSide.getInputStream().read())
                            .isInstanceOf(SocketException.class).hasMessageContaining("reset");
                }
            } finally {
                for (Socket socket : visitors) {
                    socket.close();
                }
                for (Socket socket : targets) {
                    socket.close();
                }
            }
        }
    }

    @Test
    void aVisitorThatHalfClosesAndThenResetsIsLetGoThoughTheTargetIsQuiet() throws Exception {
        // NIO reads an input-shut socket no more (Java's read returns the end without asking the kernel) and cannot
        // look at its error: the reset is found at the next write to it, which a quiet target never asks for.
        assumeTrue(Transport.isEpoll(), "the epoll transport: on NIO the reset is found at the first write to it");
        try (ExecutorService acceptor = Executors.newSingleThreadExecutor();
                java.net.ServerSocket target = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Future<Socket> accepted = acceptor.submit(target::accept);
            TcpServicePorts.Created created = testbed.createTcpServiceOnFreePort(tunnelId,
                    "127.0.0.1:" + target.getLocalPort());
            int port = created.port();
            String serviceId = created.id();
            Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port);
            visitor.getOutputStream().write("req".getBytes(StandardCharsets.US_ASCII));
            visitor.shutdownOutput();
            try (Socket targetSide = accepted.get(30, TimeUnit.SECONDS)) {
                targetSide.setSoTimeout(30_000);
                assertThat(targetSide.getInputStream().readAllBytes()).hasSize(3); // the request, then its FIN
                visitor.setSoLinger(true, 0);
                visitor.close(); // a reset after the FIN: the target, quiet, writes nothing that would fail
                // Before: the connection, its stream and the target's connection were held for ever.
                await().atMost(30, TimeUnit.SECONDS)
                        .until(() -> testbed.server().tcpServices().openConnections(serviceId) == 0);
            }
        }
    }

    @Test
    void aServiceChangedWhileTheServerDrainsForItsShutdownTakesNoNewVisitors() throws Exception {
        TcpServicePorts.Created created = testbed.createTcpServiceOnFreePort(tunnelId, echo.address());
        int port = created.port();
        String serviceId = created.id();
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write('x');
            assertThat(visitor.getInputStream().read()).isEqualTo('x');
            // The open connection holds the drain open while the API still takes changes.
            Thread stopping = Thread.ofVirtual().name("server-stop").start(() -> testbed.server().stop(Duration.ofSeconds(60)));
            await().atMost(10, TimeUnit.SECONDS).until(() -> !testbed.server().tcpServices().accepting());

            ApiClient.Response changed = testbed.api().patch("/api/services/" + serviceId,
                    "{\"target_addr\":\"127.0.0.1:" + Ports.freePort() + "\"}");
            assertThat(changed.status()).as(changed.toString()).isEqualTo(200);

            // Before: the change bound the port again, and visitors were taken in (and reset) during the shutdown.
            assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
                    .isInstanceOf(ConnectException.class);
            visitor.shutdownOutput();
            assertThat(visitor.getInputStream().read()).isEqualTo(-1);
            stopping.join(Duration.ofSeconds(30));
            assertThat(stopping.isAlive()).isFalse();
        }
    }

    /**
     * As nginx on a graceful quit: when the drain begins the service's port closes, so a new visitor is refused at once
     * (and goes to another instance), while an open connection relays both ways until it ends.
     */
    @Test
    void whileTheServerDrainsAnOpenConnectionRelaysBothWaysAndANewOneIsRefused() throws Exception {
        TcpServicePorts.Created created = testbed.createTcpServiceOnFreePort(tunnelId, echo.address());
        int port = created.port();
        try (LogCapture warnings = new LogCapture("io.picotunnel", Level.WARN);
                Socket visitor = new Socket(InetAddress.getLoopbackAddress(), port)) {
            Thread stopping = drainAfterAnEcho(visitor, port);

            assertThat(echoed(visitor, "while it drains")).isEqualTo("while it drains");
            // Before: "active": false, "error": "not listening: the server is stopping or lost the port".
            JsonNode service = serviceJson(created.id());
            assertThat(service.get("active").asBoolean()).as("%s", service).isTrue();
            assertThat(service.get("error").isNull()).as("%s", service).isTrue();
            assertTheStopEndsOnceTheConnectionEnds(visitor, stopping);
            assertThat(warnings.events()).as("warnings and errors while the server drained").isEmpty();
        }
    }

    /**
     * A tcp service created while the server drains is stored but not bound (it would take visitors in only to reset
     * them): the API says it is not listening, and why, while one that was listening before the drain stays active.
     */
    @Test
    void aServiceCreatedWhileTheServerDrainsIsShownNotListeningBecauseTheServerIsStopping() throws Exception {
        TcpServicePorts.Created before = testbed.createTcpServiceOnFreePort(tunnelId, echo.address());
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), before.port())) {
            Thread stopping = drainAfterAnEcho(visitor, before.port());

            TcpServicePorts.Created during = testbed.createTcpServiceOnFreePort(tunnelId, echo.address());

            assertThat(Ports.refuses(during.port())).isTrue();
            // Before: "active": true, "error": null, though nothing listened on its port.
            JsonNode created = serviceJson(during.id());
            assertThat(created.get("active").asBoolean()).as("%s", created).isFalse();
            assertThat(created.get("error").asText()).as("%s", created)
                    .isEqualTo("not listening: the server is stopping; it listens from the next start");
            JsonNode draining = serviceJson(before.id());
            assertThat(draining.get("active").asBoolean()).as("%s", draining).isTrue();
            assertTheStopEndsOnceTheConnectionEnds(visitor, stopping);
        }
    }

    /**
     * A tcp service moved while the server drains is stored at its new address but not bound there: the API says it
     * is not listening, and why, as for one created during the drain.
     */
    @Test
    void aServiceMovedWhileTheServerDrainsIsShownNotListeningBecauseTheServerIsStopping() throws Exception {
        TcpServicePorts.Created moved = testbed.createTcpServiceOnFreePort(tunnelId, echo.address());
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), moved.port())) {
            Thread stopping = drainAfterAnEcho(visitor, moved.port());

            int newPort = Ports.freePort();
            ApiClient.Response changed = testbed.api().patch("/api/services/" + moved.id(),
                    "{\"listen_addr\":\"127.0.0.1:" + newPort + "\"}");
            assertThat(changed.status()).as(changed.toString()).isEqualTo(200);

            assertThat(Ports.refuses(newPort)).isTrue();
            // Before: "active": true, "error": null, though nothing listened on its new address.
            JsonNode service = serviceJson(moved.id());
            assertThat(service.get("listen_addr").asText()).isEqualTo("127.0.0.1:" + newPort);
            assertThat(service.get("active").asBoolean()).as("%s", service).isFalse();
            assertThat(service.get("error").asText()).as("%s", service)
                    .isEqualTo("not listening: the server is stopping; it listens from the next start");
            assertThat(echoed(visitor, "while it drains")).isEqualTo("while it drains");
            assertTheStopEndsOnceTheConnectionEnds(visitor, stopping);
        }
    }

    /**
     * Reads an echo through the open {@code visitor}, then stops the server on a thread of its own, returned, once
     * {@code port} no longer takes connections: the server drains with the visitor's connection open.
     */
    private Thread drainAfterAnEcho(Socket visitor, int port) throws IOException {
        visitor.setSoTimeout(10_000);
        assertThat(echoed(visitor, "before the drain")).isEqualTo("before the drain");
        Thread stopping = Thread.ofVirtual().name("server-stop").start(() -> testbed.server().stop(Duration.ofSeconds(60)));
        await().atMost(10, TimeUnit.SECONDS).until(() -> Ports.refuses(port));
        return stopping;
    }

    private static void assertTheStopEndsOnceTheConnectionEnds(Socket visitor, Thread stopping) throws Exception {
        visitor.shutdownOutput();
        assertThat(visitor.getInputStream().read()).isEqualTo(-1);
        stopping.join(Duration.ofSeconds(30));
        assertThat(stopping.isAlive()).as("the stop ends once the connection ended").isFalse();
    }

    private JsonNode serviceJson(String serviceId) {
        for (JsonNode service : testbed.api().get("/api/services").json()) {
            if (service.get("id").asText().equals(serviceId)) {
                return service;
            }
        }
        throw new AssertionError("no service " + serviceId);
    }

    /** Writes {@code text} and a newline, and reads back as many bytes and a newline from an echo target. */
    private static String echoed(Socket socket, String text) throws IOException {
        socket.getOutputStream().write((text + "\n").getBytes(StandardCharsets.UTF_8));
        byte[] back = socket.getInputStream().readNBytes(text.length() + 1);
        return new String(back, StandardCharsets.UTF_8).strip();
    }

    /** The line of {@code ss} for the socket with this local and peer address. */
    private static String socketLine(String ss, String local, String peer) {
        for (String line : ss.split("\n")) {
            String[] columns = line.trim().replace("[::ffff:", "").replace("]", "").split("\\s+");
            if (columns.length >= 4 && columns[2].equals(local) && columns[3].equals(peer)) {
                return line;
            }
        }
        throw new AssertionError("no socket " + local + " -> " + peer + " in:\n" + ss);
    }

    @Test
    void visitorsThatSendAndEndAtOnceGetTheirWholeAnswer() throws Exception {
        // Bytes and FIN are queued before the server even accepts: the epoll transport reads both at once, before
        // the stream is open; they must wait for the relay, not be dropped with the connection.
        for (int i = 0; i < 20; i++) {
            String text = "one-shot visitor " + i;
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
                socket.shutdownOutput();
                assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .as("visitor %d", i).isEqualTo(text);
            }
        }
    }

    @Test
    void aTargetThatSpeaksAndClosesAtOnceIsReceivedWhole() throws Exception {
        // Like a daytime or banner service: the target's bytes and its FIN arrive while the client is still
        // finishing the dial, and must wait for the relay.
        // The target closes first (resources close in reverse order), which ends the acceptor's accept().
        try (ExecutorService acceptor = Executors.newSingleThreadExecutor();
                java.net.ServerSocket target = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            acceptor.submit(() -> {
                for (int i = 0; i < 20; i++) {
                    try (Socket accepted = target.accept()) {
                        accepted.getOutputStream().write(("banner " + i).getBytes(StandardCharsets.UTF_8));
                    }
                }
                return null;
            });
            int port = testbed.createTcpServiceOnFreePort(tunnelId, "127.0.0.1:" + target.getLocalPort()).port();
            for (int i = 0; i < 20; i++) {
                try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    socket.setSoTimeout(10_000);
                    assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                            .as("visitor %d", i).isEqualTo("banner " + i);
                }
            }
        }
    }

    @Test
    void bothEndsSendingAndEndingAtOnceEachGetTheOthersWholeBytes() throws Exception {
        // The worst order for the holds: the visitor's bytes and FIN wait in the client's hold while the target is
        // dialled, and the target's bytes and FIN in the hold on its socket; passing the visitor's FIN on shuts the
        // target's output while its own bytes and FIN are still held, so that socket has ended both ways on the
        // wire before they go on. Neither may be dropped.
        List<String> heardByTarget = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ExecutorService acceptor = Executors.newSingleThreadExecutor();
                java.net.ServerSocket target = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            acceptor.submit(() -> {
                for (int i = 0; i < 20; i++) {
                    try (Socket accepted = target.accept()) {
                        accepted.setSoTimeout(10_000);
                        accepted.getOutputStream().write(("banner " + i).getBytes(StandardCharsets.UTF_8));
                        accepted.shutdownOutput();
                        heardByTarget.add(new String(accepted.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                    }
                }
                return null;
            });
            int port = testbed.createTcpServiceOnFreePort(tunnelId, "127.0.0.1:" + target.getLocalPort()).port();
            for (int i = 0; i < 20; i++) {
                try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    socket.setSoTimeout(10_000);
                    socket.getOutputStream().write(("one-shot visitor " + i).getBytes(StandardCharsets.UTF_8));
                    socket.shutdownOutput();
                    assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                            .as("visitor %d", i).isEqualTo("banner " + i);
                }
                int heard = i + 1;
                await().atMost(10, TimeUnit.SECONDS).until(() -> heardByTarget.size() >= heard);
                assertThat(heardByTarget.get(i)).as("target %d", i).isEqualTo("one-shot visitor " + i);
            }
        }
    }

    @Test
    void twoHundredConcurrentConnectionsEachGetTheirOwnBytesBack() throws Exception {
        int connections = 200;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Transfers.Result>> results = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                long seed = i;
                results.add(pool.submit(() -> Transfers.roundTrip(servicePort, 64 * 1024 + seed, seed)));
            }
            for (int i = 0; i < connections; i++) {
                Transfers.Result result = results.get(i).get(120, TimeUnit.SECONDS);
                assertThat(result.receivedBytes()).as("connection %d", i).isEqualTo(64 * 1024 + i);
                assertThat(result.receivedSha256()).as("connection %d", i).isEqualTo(result.sentSha256());
            }
        }
        assertThat(echo.acceptedConnections()).isEqualTo(connections);
    }

    @Test
    void aClientWithTargetsOnThreadsOfTheirOwnRelaysConcurrentConnectionsByteExact() throws Exception {
        JsonNode tunnel = testbed.createTunnel("pooled");
        String pooledTunnel = tunnel.get("id").asText();
        testbed.startClient(tunnel.get("token").asText(), config -> config.withTargetThreads(2));
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(pooledTunnel));
        int port = testbed.createTcpServiceOnFreePort(pooledTunnel, echo.address()).port();

        // Every byte crosses from the tunnel's loop to a target's loop and back.
        Transfers.Result bulk = Transfers.roundTrip(port, 16 * MiB, 3);
        assertThat(bulk.receivedBytes()).isEqualTo(16 * MiB);
        assertThat(bulk.receivedSha256()).isEqualTo(bulk.sentSha256());
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Transfers.Result>> results = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                long seed = i;
                results.add(pool.submit(() -> Transfers.roundTrip(port, 256 * 1024 + seed, seed)));
            }
            for (int i = 0; i < results.size(); i++) {
                Transfers.Result result = results.get(i).get(120, TimeUnit.SECONDS);
                assertThat(result.receivedBytes()).as("connection %d", i).isEqualTo(256 * 1024 + i);
                assertThat(result.receivedSha256()).as("connection %d", i).isEqualTo(result.sentSha256());
            }
        }
    }

    @Test
    void halfClosedConnectionStillReadsTheReply() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write("ping after which I stop writing".getBytes(StandardCharsets.UTF_8));
            socket.shutdownOutput();

            String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            assertThat(reply).isEqualTo("ping after which I stop writing");
        }
    }

    @Test
    void unreachableTargetEndsThatConnectionWhileTheTunnelStaysUp() throws IOException {
        int nothingListens = Ports.freePort();
        int brokenPort = testbed.createTcpServiceOnFreePort(tunnelId, "127.0.0.1:" + nothingListens).port();

        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), brokenPort)) {
            socket.setSoTimeout(20_000);
            assertThat(readUntilEndOrReset(socket.getInputStream())).isZero();
        }

        assertThat(testbed.isConnected(tunnelId)).isTrue();
        assertThat(Transfers.echo(servicePort, "still working")).isEqualTo("still working");
    }

    /**
     * Upper bound of the bytes between the server's public socket and the target while the target reads nothing:
     * the server's stream queue (64 KiB), the stream's receive window on the client (auto-tuned while the client
     * could still write to the target's socket, so up to its cap), the client's queue towards the target, the
     * client's kernel send buffer to it (Linux grows it to at most 4 MiB) and the target's small receive buffer.
     */
    private static final long MAX_BYTES_IN_FLIGHT = YamuxConfig.DEFAULT_MAX_STREAM_WINDOW + 8 * MiB;

    @Test
    void slowTargetHoldsTheSenderBackWithBoundedBytesInFlight() throws Exception {
        long total = Math.max(64 * MiB, moreThanTheBytesInFlightAndTheVisitorsKernelBuffers());
        try (StallingServer target = new StallingServer()) {
            TcpServicePorts.Created slowService = testbed.createTcpServiceOnFreePort(tunnelId, target.address());
            int port = slowService.port();
            String slowServiceId = slowService.id();
            TcpTraffic traffic = testbed.server().tcpServices().traffic(slowServiceId).orElseThrow();
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                AtomicLong written = new AtomicLong();
                CompletableFuture<String> sent = Transfers.writeRandomInBackground(socket, total, 7, written);

                // The pipe fills up to at least one stream window, then the server stops reading the public
                // socket: what it has taken in stays bounded by windows and buffers, not by the 64 MiB offered.
                await().atMost(30, TimeUnit.SECONDS).until(() -> traffic.receivedBytes() >= 256 * 1024);
                await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                        assertThat(traffic.receivedBytes() - target.receivedBytes()).as("bytes in flight")
                                .isLessThanOrEqualTo(MAX_BYTES_IN_FLIGHT));
                assertThat(written.get()).isLessThan(total);
                // The server only sends here: what one of its streams holds is what waits for the send window,
                // bounded by the write high-water mark even though the visitor's socket is on another event loop.
                YamuxSession session = testbed.server().registry().connections(tunnelId).getFirst().session();
                assertThat(session.peakStreamBufferedBytes()).as("bytes one stream held on the server")
                        .isLessThanOrEqualTo(YamuxConfig.INITIAL_STREAM_WINDOW + 64 * 1024);

                target.release();
                String sentSha = sent.get(60, TimeUnit.SECONDS);
                assertThat(target.awaitSha256(60)).isEqualTo(sentSha);
                assertThat(target.receivedBytes()).isEqualTo(total);
            }
        }
    }

    /**
     * A visitor that writes mebibytes before its stream is acknowledged, to a target that reads nothing: until the ACK
     * the server reads no more than its 64 KiB keep limit plus one read, at the ACK one read more for the relay, and
     * from then on only while the stream is writable. What one stream held on the server stays within its window and
     * write mark, as for a visitor whose stream was acknowledged at once.
     */
    @Test
    void aVisitorWritingMebibytesBeforeItsStreamIsAcknowledgedIsHeldBackWithBoundedBytesInFlight() throws Exception {
        long total = moreThanTheBytesInFlightAndTheVisitorsKernelBuffers();
        try (StallingServer target = new StallingServer()) {
            TcpServicePorts.Created slowService = testbed.createTcpServiceOnFreePort(tunnelId, target.address());
            TcpTraffic traffic = testbed.server().tcpServices().traffic(slowService.id()).orElseThrow();
            TunnelRegistry.Connection client = testbed.server().registry().connections(tunnelId).getFirst();
            HeldInbound ack = HeldInbound.holdWhatComesFrom(client);
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), slowService.port())) {
                AtomicLong written = new AtomicLong();
                CompletableFuture<String> sent = Transfers.writeRandomInBackground(socket, total, 11, written);
                // The client dialled the target and acknowledged the stream; the server has not read the ACK, and the
                // visitor's writes stopped: the server keeps 64 KiB and a read, the kernel buffers hold the rest.
                await().atMost(30, TimeUnit.SECONDS).until(() -> target.connected() && ack.count() > 0);
                AtomicLong seen = new AtomicLong(-1);
                await().pollInterval(Duration.ofMillis(100)).during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(20))
                        .until(() -> written.get() == seen.getAndSet(written.get()));
                assertThat(written.get()).as("written before the ACK").isGreaterThan(MiB);
                // Before the ACK no relay runs: the listener alone keeps epoll from reading the visitor to its end at
                // its FIN. Checked before that FIN is on its way, as Netty stops asking for the event once it came.
                if (Transport.isEpoll()) {
                    assertThat(EpollInterest.asksForThePeersEnd(slowService.port(), socket.getLocalPort()))
                            .as("the server's socket asks epoll for the visitor's end (EPOLLRDHUP), at which Netty"
                                    + " reads it to its end whatever auto-read says").isFalse();
                }

                ack.release();
                await().atMost(30, TimeUnit.SECONDS).until(() -> traffic.receivedBytes() >= 256 * 1024);
                await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                        assertThat(traffic.receivedBytes() - target.receivedBytes()).as("bytes in flight")
                                .isLessThanOrEqualTo(MAX_BYTES_IN_FLIGHT));
                assertThat(written.get()).isLessThan(total);
                assertThat(client.session().peakStreamBufferedBytes()).as("bytes one stream held on the server")
                        .isLessThanOrEqualTo(YamuxConfig.INITIAL_STREAM_WINDOW + 64 * 1024);

                target.release();
                String sentSha = sent.get(60, TimeUnit.SECONDS);
                assertThat(target.awaitSha256(60)).isEqualTo(sentSha);
                assertThat(target.receivedBytes()).isEqualTo(total);
            }
        }
    }

    /**
     * A TLS passthrough visitor that writes on after its ClientHello, then its FIN, while its stream waits for its ACK:
     * no relay runs yet, and TunnelPassthrough alone keeps epoll from reading the visitor to its end at the FIN (the
     * HTTPS listener's sockets ask for EPOLLRDHUP, as Netty sets them up). Then all of it reaches the target.
     */
    @Test
    void aPassthroughVisitorWritingMebibytesBeforeItsStreamIsAcknowledgedIsNotReadToItsEndAtItsFin() throws Exception {
        long total = 32 * MiB;
        String domain = "pass.test";
        try (StallingServer target = new StallingServer()) {
            testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"" + domain + "\","
                    + "\"tls_mode\":\"passthrough\",\"target_addr\":\"" + target.address() + "\"}");
            TunnelRegistry.Connection client = testbed.server().registry().connections(tunnelId).getFirst();
            HeldInbound ack = HeldInbound.holdWhatComesFrom(client);
            int httpsPort = testbed.server().httpsPort();
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), httpsPort)) {
                byte[] hello = ClientHellos.record(domain);
                socket.getOutputStream().write(hello);
                AtomicLong written = new AtomicLong();
                CompletableFuture<String> sent = Transfers.writeRandomInBackground(socket, total, 12, written);
                await().atMost(30, TimeUnit.SECONDS).until(() -> target.connected() && ack.count() > 0);
                AtomicLong seen = new AtomicLong(-1);
                await().pollInterval(Duration.ofMillis(100)).during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(20))
                        .until(() -> written.get() == seen.getAndSet(written.get()));
                assertThat(written.get()).as("written before the ACK").isGreaterThan(MiB);
                assertThat(sent).as("the visitor's FIN is not on its way yet").isNotDone();
                if (Transport.isEpoll()) {
                    assertThat(EpollInterest.asksForThePeersEnd(httpsPort, socket.getLocalPort()))
                            .as("the server's socket asks epoll for the visitor's end (EPOLLRDHUP), at which Netty"
                                    + " reads it to its end whatever auto-read says").isFalse();
                }

                ack.release();
                target.release();
                sent.get(60, TimeUnit.SECONDS);
                await().atMost(60, TimeUnit.SECONDS).until(target::reachedEof);
                assertThat(target.receivedBytes()).isEqualTo(hello.length + total);
            }
        }
    }

    /**
     * A visitor's bytes that cannot all be taken in while the target reads nothing, whatever this machine's socket
     * buffers up to {@link #LARGEST_TCP_BUFFER_TESTED}: {@link #MAX_BYTES_IN_FLIGHT}, the server's receive buffer for
     * the visitor (auto-tuned up to tcp_rmem's maximum as the relay reads, 32 MiB on some hosts) and the visitor's
     * send buffer (up to tcp_wmem's), and 8 MiB more. Before, a fixed 32 MiB could all be written on NIO, and on epoll
     * too with a large tcp_rmem.
     */
    private static long moreThanTheBytesInFlightAndTheVisitorsKernelBuffers() throws IOException {
        return MAX_BYTES_IN_FLIGHT + largestTcpBuffer("tcp_rmem") + largestTcpBuffer("tcp_wmem") + 8 * MiB;
    }

    /** The most a kernel buffer may hold for the tests that write past them, so that they write a bounded amount. */
    private static final long LARGEST_TCP_BUFFER_TESTED = 64 * MiB;

    /**
     * The maximum of a Linux auto-tuned TCP buffer, or 16 MiB where the kernel does not tell; the test is skipped
     * where it is above {@link #LARGEST_TCP_BUFFER_TESTED}.
     */
    private static long largestTcpBuffer(String name) throws IOException {
        Path setting = Path.of("/proc/sys/net/ipv4", name);
        if (!Files.isReadable(setting)) {
            return 16 * MiB;
        }
        // readAllLines, not readString: for a /proc file (size 0) that returned "4" of "4096 131072 33554432" on JDK 25
        String[] minDefaultMax = Files.readAllLines(setting).getFirst().trim().split("\\s+");
        long largest = Long.parseLong(minDefaultMax[minDefaultMax.length - 1]);
        assumeTrue(largest <= LARGEST_TCP_BUFFER_TESTED, () -> name + " lets a socket buffer grow to " + largest
                + " bytes, over the " + LARGEST_TCP_BUFFER_TESTED + " this test writes past: with kernel buffers that"
                + " large it cannot tell bounded bytes in flight from the kernel's buffering within its waits");
        return largest;
    }

    /** Reads to EOF or a reset; returns the number of bytes read. */
    private static int readUntilEndOrReset(InputStream in) throws IOException {
        int count = 0;
        try {
            while (in.read() >= 0) {
                count++;
            }
        } catch (SocketException reset) {
            // a reset is how an aborted stream shows on the public side
        }
        return count;
    }
}
