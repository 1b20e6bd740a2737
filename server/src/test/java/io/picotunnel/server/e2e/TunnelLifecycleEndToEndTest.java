package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.tunnel.TunnelClient;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.server.api.ApiClient;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.server.tunnel.TunnelRegistry;
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Tunnels across server restarts, token changes, deletion and competing clients; real server and clients. */
class TunnelLifecycleEndToEndTest {

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private EchoServer echo;
    private String tunnelId;
    private String token;
    private int servicePort;

    @BeforeEach
    void start() {
        testbed = new Testbed(dataDir);
        echo = new EchoServer();
        JsonNode tunnel = testbed.createTunnel("lifecycle");
        tunnelId = tunnel.get("id").asText();
        token = tunnel.get("token").asText();
        servicePort = testbed.createTcpServiceOnFreePort(tunnelId, echo.address()).port();
    }

    @AfterEach
    void stop() {
        testbed.close();
        echo.close();
    }

    @Test
    void connectionIsClosedAtOnceWhileNoClientIsConnected() throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
            socket.setSoTimeout(10_000);

            assertThat(socket.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(echo.acceptedConnections()).isZero();
    }

    @Test
    void tcpServiceOnATakenPortIsRefusedWith409AndNotStored() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            ApiClient.Response response = testbed.api().post("/api/tunnels/" + tunnelId + "/services",
                    "{\"type\":\"tcp\",\"listen_addr\":\"127.0.0.1:" + taken.getLocalPort()
                            + "\",\"target_addr\":\"" + echo.address() + "\",\"enabled\":true}");

            assertThat(response.status()).isEqualTo(409);
            assertThat(response.json().get("message").asText()).contains("in use");
        }
        assertThat(testbed.api().get("/api/tunnels/" + tunnelId + "/services").json()).hasSize(1);
    }

    @Test
    void afterAServerRestartTheClientReconnectsAndTheServiceWorksWithinFiveSeconds() throws Exception {
        testbed.startClient(token);
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        assertThat(Transfers.echo(servicePort, "before")).isEqualTo("before");

        testbed.restart();

        await().atMost(5, TimeUnit.SECONDS).ignoreExceptions()
                .until(() -> Transfers.echo(servicePort, "after").equals("after"));
    }

    @Test
    void regeneratedTokenDropsTheOldClientWhichCannotReconnectWhileTheNewTokenWorks() throws Exception {
        TunnelClient oldClient = testbed.startClient(token);
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));

        ApiClient.Response regenerated = testbed.api().post("/api/tunnels/" + tunnelId + "/regenerate", null);
        assertThat(regenerated.status()).isEqualTo(200);
        String newToken = regenerated.json().get("token").asText();

        await().atMost(5, TimeUnit.SECONDS).until(() -> !testbed.isConnected(tunnelId));
        await().atMost(10, TimeUnit.SECONDS).until(() -> oldClient.state() == TunnelClient.State.TOKEN_REJECTED);
        assertThat(tunnelHandshakeStatus(token)).isEqualTo(401);
        assertThat(testbed.isConnected(tunnelId)).isFalse();

        testbed.startClient(newToken);
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        assertThat(Transfers.echo(servicePort, "new token")).isEqualTo("new token");
    }

    /**
     * The client process said "the server ... is going away (GoAway): reconnecting", as for a server restart, then
     * that the token was "regenerated or the tunnel deleted": the server gave no reason, the client guessed both.
     */
    @Test
    void aClientProcessWhoseTokenIsRegeneratedSaysSoAndExitsWith3() throws Exception {
        try (ClientProcess client = ClientProcess.start(testbed.tunnelPort(), token)) {
            client.awaitConnected(() -> testbed.isConnected(tunnelId));

            assertThat(testbed.api().post("/api/tunnels/" + tunnelId + "/regenerate", null).status()).isEqualTo(200);

            await().atMost(30, TimeUnit.SECONDS).until(() -> !client.isAlive());
            assertThat(client.exitCode()).as(client.log()).isEqualTo(3);
            assertThat(client.log()).contains("ended the connection (the tunnel's token was regenerated) and now "
                            + "rejects the token (HTTP 401): set the new token in --token / PICOTUNNEL_TOKEN.")
                    .doesNotContain("is going away").doesNotContain("or the tunnel deleted")
                    .doesNotContain("may have been regenerated");
        }
    }

    @Test
    void aClientProcessWhoseTunnelIsDeletedSaysSoAndExitsWith3() throws Exception {
        try (ClientProcess client = ClientProcess.start(testbed.tunnelPort(), token)) {
            client.awaitConnected(() -> testbed.isConnected(tunnelId));

            assertThat(testbed.api().delete("/api/tunnels/" + tunnelId).status()).isEqualTo(204);

            await().atMost(30, TimeUnit.SECONDS).until(() -> !client.isAlive());
            assertThat(client.exitCode()).as(client.log()).isEqualTo(3);
            assertThat(client.log()).contains("ended the connection (the tunnel was deleted) and now rejects the "
                            + "token (HTTP 401). Not retrying.")
                    .doesNotContain("token was regenerated").doesNotContain("regenerated or the tunnel deleted");
        }
    }

    /**
     * What a client that knows nothing of our codes (a hashicorp-based one, an older one) reads: a WebSocket close
     * with a status of the private range and its reason, after the GoAway; before, the connection just closed.
     */
    @Test
    void aPlainWebSocketClientIsToldWhyTheServerEndedItsConnection() throws Exception {
        CompletableFuture<String> regenerated = plainClientClose(tunnelId, token);
        ApiClient.Response regenerate = testbed.api().post("/api/tunnels/" + tunnelId + "/regenerate", null);
        assertThat(regenerate.status()).isEqualTo(200);
        assertThat(regenerated.get(10, TimeUnit.SECONDS)).isEqualTo("4001 token regenerated");

        CompletableFuture<String> deleted = plainClientClose(tunnelId, regenerate.json().get("token").asText());
        assertThat(testbed.api().delete("/api/tunnels/" + tunnelId).status()).isEqualTo(204);
        assertThat(deleted.get(10, TimeUnit.SECONDS)).isEqualTo("4002 tunnel deleted");

        JsonNode other = testbed.createTunnel("other");
        CompletableFuture<String> stopped = plainClientClose(other.get("id").asText(), other.get("token").asText());
        testbed.close();
        assertThat(stopped.get(10, TimeUnit.SECONDS)).isEqualTo("4000 server stopping");
    }

    /** Connects a bare WebSocket with {@code tunnelToken} and completes with the close status the server sends it. */
    private CompletableFuture<String> plainClientClose(String id, String tunnelToken) throws Exception {
        CompletableFuture<String> closed = new CompletableFuture<>();
        HttpClient http = HttpClient.newHttpClient();
        URI uri = URI.create("ws://127.0.0.1:" + testbed.tunnelPort() + "/tunnel?token=" + tunnelToken);
        http.newWebSocketBuilder().subprotocols("tunnel").buildAsync(uri, new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                closed.complete(statusCode + " " + reason);
                return null;
            }

            @Override
            public void onError(WebSocket webSocket, Throwable error) {
                closed.completeExceptionally(error);
            }
        }).get(10, TimeUnit.SECONDS);
        await().atMost(10, TimeUnit.SECONDS).until(() -> !registry().connections(id).isEmpty());
        closed.whenComplete((status, error) -> http.close());
        return closed;
    }

    @Test
    void deletedTunnelLosesItsListenerAndItsClient() throws Exception {
        testbed.startClient(token);
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        assertThat(Transfers.echo(servicePort, "before")).isEqualTo("before");

        assertThat(testbed.api().delete("/api/tunnels/" + tunnelId).status()).isEqualTo(204);

        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), servicePort).close())
                .isInstanceOf(ConnectException.class);
        await().atMost(5, TimeUnit.SECONDS).until(() -> !testbed.isConnected(tunnelId));
        assertThat(tunnelHandshakeStatus(token)).isEqualTo(401);
    }

    @Test
    void secondClientWithTheSameTokenIsAddedNextToTheFirstAndBothServe() throws Exception {
        TunnelClient older = testbed.startClient(token);
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        TunnelRegistry.Connection first = registry().connections(tunnelId).getFirst();

        TunnelClient newer = testbed.startClient(token);

        await().atMost(10, TimeUnit.SECONDS).until(() -> registry().connections(tunnelId).size() == 2);
        for (int i = 0; i < 4; i++) {
            assertThat(Transfers.echo(servicePort, "round " + i)).isEqualTo("round " + i);
        }
        List<TunnelRegistry.Connection> connections = registry().connections(tunnelId);
        assertThat(connections).hasSize(2).first().isSameAs(first);
        assertThat(connections).allSatisfy(c -> assertThat(c.streamsOpened()).isEqualTo(2));
        assertThat(first.session().isGoingAway()).isFalse();
        assertThat(older.state()).isEqualTo(TunnelClient.State.CONNECTED);
        assertThat(newer.state()).isEqualTo(TunnelClient.State.CONNECTED);
    }

    @Test
    void goAwayFromTheServerMakesTheClientReconnectAtOnceWhileStreamsOnTheOldConnectionFinish() throws Exception {
        TunnelClient client = testbed.startClient(token);
        await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
        TunnelRegistry.Connection old = registry().connections(tunnelId).getFirst();
        try (Socket held = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
            held.setSoTimeout(10_000);
            assertThat(roundTrip(held, "before")).isEqualTo("before");
            assertThat(old.session().activeStreams()).isEqualTo(1);

            old.session().goAway(GoAwayCode.NORMAL);

            // A new connection within the jitter (at most 1 s) plus the handshake; the old one is still there.
            await().atMost(3, TimeUnit.SECONDS).until(() -> registry().connections(tunnelId).size() == 2);
            TunnelRegistry.Connection fresh = registry().connections(tunnelId).get(1);
            assertThat(old.session().parent().isActive()).isTrue();
            assertThat(client.openConnections()).isEqualTo(2);
            assertThat(Transfers.echo(servicePort, "new stream")).isEqualTo("new stream");
            assertThat(fresh.streamsOpened()).isEqualTo(1);
            assertThat(old.streamsOpened()).isEqualTo(1);
            assertThat(roundTrip(held, "after")).isEqualTo("after");
        }
        // Its last stream done, the old connection is closed; the new one stays.
        await().atMost(5, TimeUnit.SECONDS).until(() -> !old.session().parent().isActive());
        await().atMost(5, TimeUnit.SECONDS).until(() -> registry().connections(tunnelId).size() == 1);
        assertThat(registry().connections(tunnelId).getFirst()).isNotSameAs(old);
        assertThat(client.state()).isEqualTo(TunnelClient.State.CONNECTED);
        assertThat(client.openConnections()).isEqualTo(1);
    }

    @Test
    void handshakeUnderWayWhenTheServerBeginsToDrainIsRefusedAtOnceWith503AndRetryAfter() throws Exception {
        testbed.connect(tunnelId, token);
        try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), servicePort);
             Socket handshake = new Socket(InetAddress.getLoopbackAddress(), testbed.tunnelPort())) {
            visitor.setSoTimeout(10_000);
            handshake.setSoTimeout(10_000);
            assertThat(roundTrip(visitor, "open")).as("a stream that holds the drain open").isEqualTo("open");
            OutputStream out = handshake.getOutputStream();
            out.write("GET /tunnel HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();

            CompletableFuture<Void> stopped = CompletableFuture.runAsync(
                    () -> testbed.server().stop(Duration.ofSeconds(30)));
            await("the endpoint takes no new connections").atMost(10, TimeUnit.SECONDS)
                    .until(() -> Ports.refuses(testbed.tunnelPort()));
            out.write(("Host: 127.0.0.1:" + testbed.tunnelPort() + "\r\nAuthorization: Bearer " + token
                    + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: tunnel\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String head = HttpHead.read(handshake.getInputStream());

            assertThat(head).as("answered while the drain goes on (a stream is open)").startsWith("HTTP/1.1 503 ");
            assertThat(head.toLowerCase(java.util.Locale.ROOT)).contains("\r\nretry-after: ");
            assertThat(stopped).as("still draining").isNotDone();
            visitor.shutdownOutput(); // the echo target ends the stream, and with it the drain
            stopped.get(20, TimeUnit.SECONDS);
        }
    }

    @Test
    void tokenInQuotesFromAnEnvFileConnects() throws Exception {
        // docker run --env-file keeps the quotes of PICOTUNNEL_TOKEN="..." (Compose's env_file takes them off).
        ClientConfig config = ClientConfig.resolve(Map.of(io.picotunnel.client.config.Setting.SHUTDOWN_GRACE, "0s"),
                Map.of("PICOTUNNEL_SERVER", "ws://127.0.0.1:" + testbed.tunnelPort(),
                        "PICOTUNNEL_TOKEN", "\"" + token + "\""));
        try (TunnelClient client = new TunnelClient(config)) {
            client.start();

            assertThat(client.awaitConnected(Duration.ofSeconds(10))).as("state %s", client.state()).isTrue();
            // The client is connected once the server's 101 came; the server routes to it a moment later.
            await().atMost(10, TimeUnit.SECONDS).until(() -> testbed.isConnected(tunnelId));
            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), servicePort)) {
                visitor.setSoTimeout(10_000);
                assertThat(roundTrip(visitor, "quoted")).isEqualTo("quoted");
            }
        }
    }

    private TunnelRegistry registry() {
        return testbed.server().registry();
    }

    private static String roundTrip(Socket socket, String message) throws Exception {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        return new String(socket.getInputStream().readNBytes(bytes.length), StandardCharsets.UTF_8);
    }

    /** The HTTP status the tunnel endpoint answers a WebSocket handshake with {@code tunnelToken}. */
    private int tunnelHandshakeStatus(String tunnelToken) {
        try (HttpClient http = HttpClient.newHttpClient()) {
            URI uri = URI.create("ws://127.0.0.1:" + testbed.tunnelPort() + "/tunnel?token=" + tunnelToken);
            try {
                WebSocket ws = http.newWebSocketBuilder().subprotocols("tunnel").buildAsync(uri, new WebSocket.Listener() {
                }).orTimeout(10, TimeUnit.SECONDS).join();
                ws.abort();
                return 101;
            } catch (CompletionException e) {
                if (e.getCause() instanceof WebSocketHandshakeException handshake) {
                    return handshake.getResponse().statusCode();
                }
                throw e;
            }
        }
    }
}
