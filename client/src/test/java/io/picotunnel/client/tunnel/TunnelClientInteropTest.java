package io.picotunnel.client.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.ws.YamuxWebSocketFrameEncoder;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxFrameEncoder;
import io.picotunnel.testkit.GoPeer;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.StallingServer;
import io.picotunnel.testkit.TcpTarget;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Our client against a hashicorp/yamux server over a gorilla WebSocket (the Go peer's tunnel-server mode),
 * with real local TCP targets.
 */
class TunnelClientInteropTest {

    private static final String TOKEN = "3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a2b4d6f8e0a1c3e5b7d9f2a4c6e8b0d1f3a";
    private static final int MIB = 1024 * 1024;
    /**
     * What a stalled upload may have in flight: hashicorp's window into our stream, our client's buffers and the
     * kernel's socket buffers on loopback (each can grow to several MiB); an upload that ignored backpressure would
     * have it all.
     */
    private static final long IN_FLIGHT_BOUND = 48L * MIB;

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private GoPeer server;
    private TunnelClient client;

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.stop(Duration.ZERO).get(30, TimeUnit.SECONDS);
        }
        for (AutoCloseable c : cleanup.reversed()) {
            c.close();
        }
    }

    @Test
    void streamsReachLocalTargetsByteExact() {
        TcpTarget target = target(TcpTarget.echo());
        connect(startServer(), AllowList.ANY);

        for (int i = 1; i <= 4; i++) {
            server.send("OPEN s" + i + " " + (4 * MIB) + " " + target.address() + " echo");
        }

        for (int i = 1; i <= 4; i++) {
            GoPeer.StreamResult result = server.awaitResult("s" + i);
            assertThat(result.echoedExactly()).as(result.toString()).isTrue();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> target.exchanges().size() == 4);
        assertThat(target.exchanges()).allSatisfy(e -> assertThat(e.received()).isEqualTo(4 * MIB));
    }

    @Test
    void targetHalfCloseReachesTheServerAndTheUploadGoesOn() {
        TcpTarget target = target(TcpTarget.sendThenReceive(MIB));
        connect(startServer(), AllowList.ANY);

        GoPeer.StreamResult result = server.open("h", 2 * MIB, target.address(), "recvfirst");

        assertThat(result.end()).isEqualTo("eof");
        await().atMost(Duration.ofSeconds(30)).until(() -> target.exchanges().size() == 1);
        TcpTarget.Exchange exchange = target.exchanges().getFirst();
        assertThat(result.received()).isEqualTo(MIB);
        assertThat(result.shaReceived()).isEqualTo(exchange.shaSent());
        assertThat(exchange.received()).isEqualTo(2 * MIB);
        assertThat(exchange.shaReceived()).isEqualTo(result.shaSent());
    }

    /**
     * hashicorp uploads far more than the buffers hold, then FIN, into a local target that reads nothing: our
     * stream's credit goes back only as the target's socket takes bytes, so hashicorp's writer stops with a bounded
     * amount in flight; once the target reads, every byte arrives and then its EOF, the FIN behind the last byte.
     */
    @Test
    void hashicorpsUploadAndFinIntoAStalledTargetStayBoundedThenArriveWhole() throws Exception {
        long upload = 256L * MIB;
        StallingServer stalled = new StallingServer();
        cleanup.add(stalled);
        connect(startServer(), AllowList.ANY);

        server.send("OPEN up " + upload + " " + stalled.address() + " send");

        await("the target connected").atMost(Duration.ofSeconds(30)).until(stalled::connected);
        await("hashicorp's writer held back far below the upload").pollDelay(Duration.ofSeconds(1))
                .during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(sentByHashicorp("up")).as("sent by hashicorp (-1: no such stream)")
                        .isPositive().isLessThan(IN_FLIGHT_BOUND));
        assertThat(stalled.receivedBytes()).isZero();

        stalled.release();

        GoPeer.StreamResult result = server.awaitResult("up");
        assertThat(result.end()).as("every Write done and FIN sent").isEqualTo("eof");
        assertThat(stalled.awaitSha256(60)).as("every byte, then EOF").isEqualTo(result.shaSent());
        assertThat(stalled.receivedBytes()).isEqualTo(upload);
    }

    /** The stalled stream's window holds its upload back; another stream of the same connection goes on meanwhile. */
    @Test
    void anotherStreamGoesOnWhileAStalledTargetsWindowHoldsItsUploadBack() throws Exception {
        StallingServer stalled = new StallingServer();
        cleanup.add(stalled);
        TcpTarget echo = target(TcpTarget.echo());
        connect(startServer(), AllowList.ANY);

        server.send("OPEN up " + 256L * MIB + " " + stalled.address() + " send");
        await("the target connected").atMost(Duration.ofSeconds(30)).until(stalled::connected);
        await("hashicorp's writer held back").pollDelay(Duration.ofSeconds(1)).during(Duration.ofSeconds(1))
                .atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(sentByHashicorp("up")).isPositive().isLessThan(IN_FLIGHT_BOUND));

        GoPeer.StreamResult other = server.open("other", 4 * MIB, echo.address(), "echo");

        assertThat(other.echoedExactly()).as(other.toString()).isTrue();
        assertThat(sentByHashicorp("up")).as("still held back").isLessThan(IN_FLIGHT_BOUND);
        assertThat(stalled.receivedBytes()).isZero();
        assertThat(client.state()).isEqualTo(TunnelClient.State.CONNECTED);
    }

    private long sentByHashicorp(String id) {
        server.send("SENT " + id);
        return Long.parseLong(server.awaitLine("SENT " + id + " ").split(" ")[2]);
    }

    @Test
    void unreachableTargetResetsOnlyThatStream() {
        TcpTarget target = target(TcpTarget.echo());
        connect(startServer(), AllowList.ANY);
        String closedPort = "127.0.0.1:" + Ports.freePort();

        GoPeer.StreamResult refused = server.open("dead", 512 * 1024, closedPort, "echo");
        GoPeer.StreamResult fine = server.open("alive", MIB, target.address(), "echo");

        assertThat(refused.end()).isEqualTo("reset");
        assertThat(fine.echoedExactly()).as(fine.toString()).isTrue();
        assertThat(client.state()).isEqualTo(TunnelClient.State.CONNECTED);
    }

    @Test
    void targetResetIsPassedOnAsStreamReset() throws Exception {
        try (ServerSocket resetting = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            connect(startServer(), AllowList.ANY);
            server.send("OPEN rst 4000000 127.0.0.1:" + resetting.getLocalPort() + " echo");
            try (Socket accepted = resetting.accept()) {
                accepted.getInputStream().readNBytes(1000);
                accepted.setSoLinger(true, 0);
            }

            assertThat(server.awaitResult("rst").end()).isEqualTo("reset");
            assertThat(client.state()).isEqualTo(TunnelClient.State.CONNECTED);
        }
    }

    @Test
    void allowListRefusesOtherTargets() {
        TcpTarget allowed = target(TcpTarget.echo());
        TcpTarget other = target(TcpTarget.echo());
        connect(startServer(), AllowList.parse(allowed.address()));

        GoPeer.StreamResult refused = server.open("other", 1000, other.address(), "echo");
        GoPeer.StreamResult fine = server.open("allowed", 1000, allowed.address(), "echo");

        assertThat(refused.end()).isEqualTo("reset");
        assertThat(other.accepted()).isZero();
        assertThat(fine.echoedExactly()).as(fine.toString()).isTrue();
    }

    @Test
    void reconnectsAfterTheServerDropsTheConnection() throws Exception {
        TcpTarget target = target(TcpTarget.echo());
        connect(startServer(), AllowList.ANY);

        server.send("DISCONNECT");
        server.awaitLine("DISCONNECTED");

        server.awaitLine("CONNECTED");
        assertThat(client.awaitConnected(Duration.ofSeconds(30))).isTrue();
        assertThat(server.open("after", MIB, target.address(), "echo").echoedExactly()).isTrue();
    }

    @Test
    void reconnectsToARestartedServer() throws Exception {
        TcpTarget target = target(TcpTarget.echo());
        String address = startServer();
        connect(address, AllowList.ANY);

        server.close();
        await().atMost(Duration.ofSeconds(30)).until(() -> client.state() != TunnelClient.State.CONNECTED);
        server = peer(GoPeer.start("tunnel-server", "-listen", address, "-token", TOKEN));
        server.awaitListening();

        server.awaitLine("CONNECTED");
        assertThat(client.awaitConnected(Duration.ofSeconds(30))).isTrue();
        assertThat(server.open("after", MIB, target.address(), "echo").echoedExactly()).isTrue();
    }

    @Test
    void rejectedTokenEndsTheClientWithoutRetrying() {
        server = peer(GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", "another-token"));
        String address = server.awaitListening();
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + address), TOKEN));

        client.start();

        assertThatThrownBy(() -> client.terminated().get(30, TimeUnit.SECONDS))
                .hasCauseInstanceOf(TokenRejectedException.class);
        assertThat(client.state()).isEqualTo(TunnelClient.State.TOKEN_REJECTED);
        server.awaitLine("UNAUTHORIZED");
    }

    @Test
    void stopRefusesNewStreamsAndLetsOpenOnesFinish() throws Exception {
        TcpTarget held = target(TcpTarget.heldUntilReleased(1000));
        TcpTarget echo = target(TcpTarget.echo());
        connect(startServer(), AllowList.ANY);
        server.send("OPEN open 5000 " + held.address() + " recvfirst");
        await().atMost(Duration.ofSeconds(30)).until(() -> held.accepted() == 1);

        var stopped = client.stop(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(30)).until(() -> client.state() == TunnelClient.State.STOPPING);
        GoPeer.StreamResult late = server.open("late", 1000, echo.address(), "echo");
        held.release();

        assertThat(late.end()).matches("reset|error:.*");
        GoPeer.StreamResult open = server.awaitResult("open");
        assertThat(open.end()).isEqualTo("eof");
        assertThat(open.received()).isEqualTo(1000);
        stopped.get(30, TimeUnit.SECONDS);
        assertThat(client.state()).isEqualTo(TunnelClient.State.STOPPED);
        server.awaitLine("DISCONNECTED");
    }

    /** The server (which here leaves the old session open) sends GoAway while a stream waits on its target. */
    @Test
    void hashicorpServersGoAwayLetsTheOpenStreamFinishWhileTheClientConnectsAnew() throws Exception {
        TcpTarget held = target(TcpTarget.heldUntilReleased(1000));
        TcpTarget echo = target(TcpTarget.echo());
        connect(startServer("-keep-old"), AllowList.ANY);
        server.send("OPEN open 5000 " + held.address() + " recvfirst");
        await().atMost(Duration.ofSeconds(30)).until(() -> held.accepted() == 1);

        server.send("GOAWAY");
        server.awaitLine("GOAWAY_SENT");
        server.awaitLine("CONNECTED");
        GoPeer.StreamResult after = server.open("after", MIB, echo.address(), "echo");
        held.release();

        assertThat(after.echoedExactly()).as(after.toString()).isTrue();
        GoPeer.StreamResult open = server.awaitResult("open");
        assertThat(open.end()).isEqualTo("eof");
        assertThat(open.received()).isEqualTo(1000);
        await().atMost(Duration.ofSeconds(30)).until(() -> held.exchanges().size() == 1);
        assertThat(held.exchanges().getFirst().received()).isEqualTo(5000);
        assertThat(held.exchanges().getFirst().shaReceived()).isEqualTo(open.shaSent());
        assertThat(client.state()).isEqualTo(TunnelClient.State.CONNECTED);
    }

    @Test
    void stopClosesStreamsThatOutlastTheGracePeriod() throws Exception {
        TcpTarget held = target(TcpTarget.heldUntilReleased(1000));
        connect(startServer(), AllowList.ANY);
        server.send("OPEN stuck 5000 " + held.address() + " recvfirst");
        await().atMost(Duration.ofSeconds(30)).until(() -> held.accepted() == 1);

        client.stop(Duration.ofMillis(200)).get(30, TimeUnit.SECONDS);

        assertThat(client.state()).isEqualTo(TunnelClient.State.STOPPED);
        assertThat(server.awaitResult("stuck").end()).isNotEqualTo("eof");
    }

    @Test
    void wssWithInsecureConnectsAndSendsSni() throws Exception {
        TcpTarget target = target(TcpTarget.echo());
        server = peer(GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN, "-tls"));
        int port = Integer.parseInt(server.awaitListening().split(":")[1]);
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("localhost:" + port), TOKEN).withInsecure(true));

        client.start();

        assertThat(server.awaitLine("SNI ")).isEqualTo("SNI localhost");
        server.awaitLine("CONNECTED");
        assertThat(client.awaitConnected(Duration.ofSeconds(30))).isTrue();
        assertThat(server.open("tls", MIB, target.address(), "echo").echoedExactly()).isTrue();
    }

    @Test
    void wssRefusesAnUntrustedCertificateAndKeepsRetrying() {
        server = peer(GoPeer.start("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN, "-tls"));
        int port = Integer.parseInt(server.awaitListening().split(":")[1]);
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("wss://localhost:" + port), TOKEN));

        client.start();

        server.awaitLine("SNI localhost");
        server.awaitLine("SNI localhost");
        assertThat(client.state()).isIn(TunnelClient.State.CONNECTING, TunnelClient.State.WAITING_TO_RECONNECT);
        assertThat(client.terminated()).isNotDone();
    }

    /** No copy of the frames through the yamux frame encoder and the byte stream codec: the performance path. */
    @Test
    void theTunnelsFramesGoStraightIntoMaskedWebSocketFrames() throws Exception {
        String address = startServer();
        EventLoopGroup group = Transport.newEventLoopGroup(1, "interop-connector");
        cleanup.add(() -> group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS));
        TunnelConnector connector = new TunnelConnector(ClientConfig.of(ServerAddress.parse("ws://" + address), TOKEN),
                null, YamuxConfig.defaults(), new ChannelInboundHandlerAdapter(), null, null);

        Future<Channel> attempt = connector.connect(group.next(), Runnable::run);

        assertThat(attempt.await(30, TimeUnit.SECONDS)).as("the attempt ends").isTrue();
        assertThat(attempt.cause()).as("the attempt's failure").isNull();
        server.awaitLine("CONNECTED");
        ChannelPipeline pipeline = attempt.getNow().pipeline();
        assertThat(pipeline.get(YamuxWebSocketFrameEncoder.class)).isNotNull();
        assertThat(pipeline.get(YamuxFrameEncoder.class)).isNull();
        attempt.getNow().close().await(10, TimeUnit.SECONDS);
    }

    private String startServer(String... flags) {
        server = peer(GoPeer.start(Stream.concat(Stream.of("tunnel-server", "-listen", "127.0.0.1:0", "-token", TOKEN),
                Stream.of(flags)).toArray(String[]::new)));
        return server.awaitListening();
    }

    private void connect(String address, AllowList allow) {
        client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + address), TOKEN).withAllow(allow));
        client.start();
        server.awaitLine("CONNECTED");
        try {
            assertThat(client.awaitConnected(Duration.ofSeconds(30))).isTrue();
        } catch (InterruptedException e) {
            throw new CompletionException(e);
        }
    }

    private GoPeer peer(GoPeer peer) {
        cleanup.add(peer);
        return peer;
    }

    private TcpTarget target(TcpTarget target) {
        cleanup.add(target);
        return target;
    }
}
