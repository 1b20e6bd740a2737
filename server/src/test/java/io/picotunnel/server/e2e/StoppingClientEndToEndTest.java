package io.picotunnel.server.e2e;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tunnel.TcpStreamBridge;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.awaitility.Awaitility.await;

/**
 * A tunnel client that stops while a request is still open: its stream outlives the client's shutdown grace, and the
 * visitor is told the client stopped. Real server, client and target.
 */
class StoppingClientEndToEndTest {

    private static final String HOST = "stopping.test";
    /** What a tcp visitor says as soon as it is connected. */
    private static final String SPOKEN = "hello before any ACK";

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private HttpServer target;
    /** Holds every request the target takes until the test ends (bounded). */
    private final CountDownLatch answer = new CountDownLatch(1);
    private final CountDownLatch requestTaken = new CountDownLatch(1);
    /** "METHOD /path" of every request the target took. */
    private final List<String> paths = new CopyOnWriteArrayList<>();
    /** Each visitor on a thread of its own: one waiting for its answer must not hold up the next. */
    private final ExecutorService visitors = Executors.newVirtualThreadPerTaskExecutor();
    private String token;
    private String tunnelId;
    /** The clients the tests started themselves, by their connection at the server. */
    private final Map<TunnelRegistry.Connection, TunnelClient> clients = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws Exception {
        testbed = new Testbed(dataDir);
        target = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        target.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        target.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            paths.add(exchange.getRequestMethod() + " " + path);
            if (!path.equals("/slow")) {
                byte[] body = "hello".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
                return;
            }
            requestTaken.countDown();
            try {
                answer.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        target.start();
        JsonNode tunnel = testbed.createTunnel("stopping");
        token = tunnel.get("token").asText();
        testbed.createHttpService(tunnel.get("id").asText(), HOST, "127.0.0.1:" + target.getAddress().getPort());
        tunnelId = tunnel.get("id").asText();
    }

    @AfterEach
    void stop() {
        answer.countDown();
        testbed.close();
        target.stop(0);
        visitors.shutdownNow();
    }

    @Test
    void aRequestStillOpenWhenTheClientsGracePeriodEndsGets503ClientStoppingWithRetryAfter() throws Exception {
        TunnelClient client = testbed.connect(tunnelId, token);

        CompletableFuture<Visitor.Response> response = slowRequest();
        assertThat(client.activeStreams()).isEqualTo(1);

        client.stop(Duration.ofMillis(200)).get(10, TimeUnit.SECONDS);

        Visitor.Response page = response.get(10, TimeUnit.SECONDS);
        assertThat(page.status()).as(page.body()).isEqualTo(503);
        assertThat(page.header("retry-after")).isEqualTo("5");
        assertThat(page.body()).contains("\"error\":\"client_stopping\"").contains("client is stopping");
    }

    @Test
    void aRequestWhoseStreamCrossedTheStoppingClientsGoAwayGoesToAnotherClient() throws Exception {
        CrossedGoAway crossed = postCrossingTheGoAwayOfAStoppingClient();
        testbed.startClient(token);
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.server().registry().connections(tunnelId).size() == 2);
        try (LogCapture log = new LogCapture("io.picotunnel.server.proxy.http.Exchange", Level.INFO)) {
            crossed.held().release();

            Visitor.Response page = crossed.post().get(10, TimeUnit.SECONDS);
            assertThat(page.status()).as(page.body()).isEqualTo(200);
            assertThat(page.body()).isEqualTo("hello");
            assertThat(log.messages(Level.INFO)).as("one line, once the other client took it").singleElement()
                    .asString().contains("the tunnel's client is stopping: it refused the stream, opened as it sent GoAway")
                    .endsWith(" went to another client").contains("POST ");
        }
        assertThat(paths).containsExactly("GET /slow", "POST /form");
        answer.countDown();
        assertThat(crossed.slow().get(10, TimeUnit.SECONDS).status()).isEqualTo(204);
    }

    @Test
    void aRequestWhoseStreamCrossedTheGoAwayOfTheOnlyClientGets503ClientStoppingWithRetryAfter() throws Exception {
        CrossedGoAway crossed = postCrossingTheGoAwayOfAStoppingClient();
        crossed.held().release();

        Visitor.Response page = crossed.post().get(10, TimeUnit.SECONDS);
        assertThat(page.status()).as(page.body()).isEqualTo(503);
        assertThat(page.header("retry-after")).isEqualTo("5");
        assertThat(page.body()).contains("\"error\":\"client_stopping\"").contains("did not reach the app");
        assertThat(paths).as("the target never had the request").containsExactly("GET /slow");
        answer.countDown();
        assertThat(crossed.slow().get(10, TimeUnit.SECONDS).status()).isEqualTo(204);
    }

    @Test
    void aRequestWhoseStreamOpenFindsTheOnlyClientGoneAfterItsGoAwayGets503ClientStopping() throws Exception {
        Visitor.Response page = requestChoosingAClientThatIsGoneBeforeItsStreamOpens(false);

        assertThat(page.status()).as(page.body()).isEqualTo(503);
        assertThat(page.header("retry-after")).isEqualTo("5");
        assertThat(page.body()).contains("\"error\":\"client_stopping\"").contains("did not reach the app");
        assertThat(paths).as("the target never had the request").containsExactly("GET /slow");
    }

    @Test
    void aRequestWhoseStreamOpenFindsTheChosenClientGoneAfterItsGoAwayGoesToAnotherClient() throws Exception {
        Visitor.Response page = requestChoosingAClientThatIsGoneBeforeItsStreamOpens(true);

        assertThat(page.status()).as(page.body()).isEqualTo(200);
        assertThat(page.body()).isEqualTo("hello");
        assertThat(paths).containsExactly("GET /slow", "GET /after");
    }

    /**
     * A GET /after whose visitor's loop chose a stopping client (its GoAway not read yet, a GET /slow holding it open)
     * whose connection's loop, busy meanwhile, reads the GoAway and loses the connection before it opens the stream.
     * With {@code another}, a second client of the tunnel, busier (two tcp streams), was connected first.
     */
    private Visitor.Response requestChoosingAClientThatIsGoneBeforeItsStreamOpens(boolean another) throws Exception {
        // As the server sizes its IO loops: with one, visitor and client share it, and the race cannot happen.
        assumeTrue(Integer.getInteger("io.netty.eventLoopThreads", Runtime.getRuntime().availableProcessors()) > 1,
                "the server has one IO loop");
        TunnelRegistry registry = testbed.server().registry();
        // Accepted while the only client connected is another tunnel's: the visitor is served on that client's loop.
        String otherTunnel = testbed.createConnectedTunnel("elsewhere");
        EventLoop visitorLoop = registry.connections(otherTunnel).getFirst().session().parent().eventLoop();
        Visitor visitor = new Visitor("127.0.0.1");
        try (EchoServer echo = new EchoServer(); Socket early = visitor.connect(testbed.server().httpPort())) {
            List<Socket> held = new ArrayList<>();
            try {
                if (another) {
                    testbed.connect(tunnelId, token);
                    int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
                    for (int i = 0; i < 2; i++) {
                        held.add(relayed(port));
                    }
                }
                TunnelRegistry.Connection stopping = connectOffLoop(visitorLoop, registry.connections(tunnelId).size());
                CompletableFuture<Visitor.Response> slow = slowRequest();
                HeldInbound goAway = HeldInbound.holdWhatComesFrom(stopping);
                clientOf(stopping).stop(Duration.ofSeconds(20));
                await().atMost(10, TimeUnit.SECONDS).until(() -> goAway.count() >= 1);

                Channel connection = stopping.session().parent();
                CountDownLatch chosen = new CountDownLatch(1);
                Future<?> busy = connection.eventLoop().submit(() -> {
                    chosen.await(10, TimeUnit.SECONDS);
                    goAway.releaseNow();
                    connection.close();
                    return null;
                });
                int openBefore = testbed.server().openTunnelRequests(tunnelId);
                CompletableFuture<Visitor.Response> after = CompletableFuture.supplyAsync(() -> {
                    try {
                        return visitor.send(early, "GET", HOST, "/after", "Accept: application/json");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, visitors);
                await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.server().openTunnelRequests(tunnelId) > openBefore
                        && ((SingleThreadEventExecutor) connection.eventLoop()).pendingTasks() > 0);
                chosen.countDown();
                busy.get(10, TimeUnit.SECONDS);

                Visitor.Response page = after.get(10, TimeUnit.SECONDS);
                answer.countDown();
                slow.get(10, TimeUnit.SECONDS);
                return page;
            } finally {
                for (Socket socket : held) {
                    socket.close();
                }
            }
        }
    }

    /**
     * Connects a client of the tunnel, its {@code before + 1}th, whose connection is not on {@code loop} (a client
     * that is, is closed and another tried), and returns it.
     */
    private TunnelRegistry.Connection connectOffLoop(EventLoop loop, int before) {
        TunnelRegistry registry = testbed.server().registry();
        for (int attempt = 0; attempt < 8; attempt++) {
            TunnelClient client = testbed.startClient(token);
            await().atMost(10, TimeUnit.SECONDS).until(() -> registry.connections(tunnelId).size() == before + 1);
            TunnelRegistry.Connection connection = registry.connections(tunnelId).getLast();
            if (connection.session().parent().eventLoop() != loop) {
                clients.put(connection, client);
                return connection;
            }
            client.close();
            await().atMost(10, TimeUnit.SECONDS).until(() -> registry.connections(tunnelId).size() == before);
        }
        throw new AssertionError("every client connected on the visitor's loop");
    }

    private TunnelClient clientOf(TunnelRegistry.Connection connection) {
        return clients.get(connection);
    }

    /** A tcp visitor of {@code port} whose stream is open on a client: its bytes came back from the echo target. */
    private static Socket relayed(int port) throws Exception {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(socket.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
        return socket;
    }

    @Test
    void aTcpConnectionStillOpenWhenTheClientStopsIsResetAndTheLogSaysWhyOnce() throws Exception {
        TunnelClient client = testbed.connect(tunnelId, token);
        try (EchoServer echo = new EchoServer();
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO);
             Socket visitor = new Socket()) {
            int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
            visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
            visitor.setSoTimeout(10_000);
            visitor.getOutputStream().write('x');
            assertThat(visitor.getInputStream().read()).isEqualTo('x');

            client.stop(Duration.ofMillis(200)).get(10, TimeUnit.SECONDS);

            assertThatThrownBy(() -> visitor.getInputStream().read())
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.INFO).isEmpty());
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("tunnel " + tunnelId).contains(echo.address())
                    .contains("is stopping: it reset the stream, still open at the end of its --shutdown-grace")
                    .contains("is reset");
        }
    }

    @Test
    void aTcpVisitorWhoseStreamCrossedTheStoppingClientsGoAwayGetsItsEchoFromAnotherClient() throws Exception {
        try (EchoServer echo = new EchoServer();
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO)) {
            int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
            CrossedTcp crossed = tcpVisitorCrossingTheGoAwayOfAStoppingClient(port);
            testbed.startClient(token);
            await().atMost(10, TimeUnit.SECONDS)
                    .until(() -> testbed.server().registry().connections(tunnelId).size() == 2);
            crossed.held().release();

            try (Socket visitor = crossed.visitor()) {
                assertThat(new String(visitor.getInputStream().readNBytes(SPOKEN.length()), StandardCharsets.US_ASCII))
                        .isEqualTo(SPOKEN);
                visitor.shutdownOutput();
                assertThat(visitor.getInputStream().read()).as("nothing more: what it said came back once").isEqualTo(-1);
            }
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("is stopping: it refused the stream, opened as it sent GoAway")
                    .contains("went to another client");
            assertThat(echo.acceptedConnections()).as("one connection to the target, from the other client").isEqualTo(1);
            answer.countDown();
            assertThat(crossed.slow().get(10, TimeUnit.SECONDS).status()).isEqualTo(204);
        }
    }

    @Test
    void aTcpVisitorWhoseStreamCrossedTheGoAwayOfTheOnlyClientIsResetAndTheLogSaysWhyOnce() throws Exception {
        try (EchoServer echo = new EchoServer();
             LogCapture log = new LogCapture(TcpStreamBridge.class, Level.INFO)) {
            int port = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
            CrossedTcp crossed = tcpVisitorCrossingTheGoAwayOfAStoppingClient(port);
            crossed.held().release();

            try (Socket visitor = crossed.visitor()) {
                assertThatThrownBy(() -> visitor.getInputStream().read())
                        .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
            await().atMost(10, TimeUnit.SECONDS).until(() -> !log.messages(Level.INFO).isEmpty());
            assertThat(log.messages(Level.INFO)).singleElement().asString()
                    .contains("is stopping: it refused the stream, opened as it sent GoAway").contains("is reset");
            assertThat(echo.acceptedConnections()).as("the target never had the connection").isZero();
            answer.countDown();
            assertThat(crossed.slow().get(10, TimeUnit.SECONDS).status()).isEqualTo(204);
        }
    }

    /**
     * A client under a GET /slow stops, and its GoAway waits at the server, which still takes it for one that takes
     * streams; then a POST /form, whose stream the server opens on that client, which refuses it. Returns with both
     * held at the server, the connection's reads held.
     */
    private CrossedGoAway postCrossingTheGoAwayOfAStoppingClient() throws Exception {
        StoppingWithGoAwayHeld stopping = stopWithItsGoAwayHeld();
        CompletableFuture<Visitor.Response> post = request("POST", "/form");
        await().atMost(10, TimeUnit.SECONDS).until(() -> stopping.held().count() >= 2);
        return new CrossedGoAway(stopping.slow(), post, stopping.held());
    }

    /**
     * As above for a tcp visitor of the service on {@code port} who speaks first: connected and its {@link #SPOKEN}
     * sent, its stream refused by the stopping client and the refusal held at the server.
     */
    private CrossedTcp tcpVisitorCrossingTheGoAwayOfAStoppingClient(int port) throws Exception {
        StoppingWithGoAwayHeld stopping = stopWithItsGoAwayHeld();
        Socket visitor = new Socket();
        visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
        visitor.setSoTimeout(10_000);
        visitor.getOutputStream().write(SPOKEN.getBytes(StandardCharsets.US_ASCII));
        await().atMost(10, TimeUnit.SECONDS).until(() -> stopping.held().count() >= 2);
        return new CrossedTcp(stopping.slow(), visitor, stopping.held());
    }

    /** A client under a GET /slow stops; returns once its GoAway waits at the server, the connection's reads held. */
    private StoppingWithGoAwayHeld stopWithItsGoAwayHeld() throws Exception {
        TunnelClient stopping = testbed.connect(tunnelId, token);
        CompletableFuture<Visitor.Response> slow = slowRequest();
        HeldInbound held = HeldInbound.holdWhatComesFrom(testbed.server().registry().connections(tunnelId).getFirst());

        stopping.stop(Duration.ofSeconds(20));
        await().atMost(10, TimeUnit.SECONDS).until(() -> held.count() >= 1);
        return new StoppingWithGoAwayHeld(slow, held);
    }

    private record StoppingWithGoAwayHeld(CompletableFuture<Visitor.Response> slow, HeldInbound held) {
    }

    private record CrossedTcp(CompletableFuture<Visitor.Response> slow, Socket visitor, HeldInbound held) {
    }

    private record CrossedGoAway(
            CompletableFuture<Visitor.Response> slow, CompletableFuture<Visitor.Response> post, HeldInbound held) {
    }

    /** A GET /slow, which the target holds until {@link #answer}; returns once the target has it. */
    private CompletableFuture<Visitor.Response> slowRequest() throws InterruptedException {
        CompletableFuture<Visitor.Response> response = request("GET", "/slow");
        assertThat(requestTaken.await(10, TimeUnit.SECONDS)).as("the target has the request").isTrue();
        return response;
    }

    private CompletableFuture<Visitor.Response> request(String method, String path) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                Visitor visitor = new Visitor("127.0.0.1");
                int port = testbed.server().httpPort();
                return method.equals("GET") ? visitor.get(port, HOST, path, "Accept: application/json")
                        : visitor.post(port, HOST, path, "Accept: application/json");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, visitors);
    }
}
