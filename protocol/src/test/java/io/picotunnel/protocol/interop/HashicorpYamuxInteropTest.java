package io.picotunnel.protocol.interop;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.GoAwayCode;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Our yamux session in both roles against hashicorp/yamux (Debian's golang-github-hashicorp-yamux-dev) over a
 * plain TCP connection, driven through the Go peer in {@code interop/go/peer}.
 */
class HashicorpYamuxInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private EventLoopGroup group;
    private Channel server;
    private Channel channel;
    private GoPeer peer;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (peer != null) {
            peer.close();
        }
        if (channel != null) {
            channel.close().await(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.close().await(5, TimeUnit.SECONDS);
        }
        if (group != null) {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void ourStreamsAreEchoedByteExactInParallel(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);
        List<StreamExchange> exchanges = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            StreamExchange exchange = new StreamExchange(new byte[] {'e'}, 2 * 1024 * 1024);
            exchanges.add(exchange);
            session.openStream(exchange).get(10, TimeUnit.SECONDS);
        }

        for (StreamExchange exchange : exchanges) {
            StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(received.reset()).isFalse();
            assertThat(received.bytes()).isEqualTo(2 * 1024 * 1024);
            assertThat(received.sha256()).isEqualTo(exchange.sent().getNow(null));
        }
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void largeTransferArrivesByteExactAndThePeerAnswersAfterOurFin(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);
        long size = 24L * 1024 * 1024;
        StreamExchange exchange = new StreamExchange(new byte[] {'d'}, size);

        session.openStream(exchange).get(10, TimeUnit.SECONDS);

        StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.text()).isEqualTo(size + " " + exchange.sent().getNow(null) + "\n");
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void streamsOpenedByHashicorpAreServedByteExact(YamuxRole role) {
        connect(role);

        for (int i = 1; i <= 5; i++) {
            peer.send("OPEN s" + i + " " + (1024 * 1024) + " - echo");
        }

        for (int i = 1; i <= 5; i++) {
            GoPeer.StreamResult result = peer.awaitResult("s" + i);
            assertThat(result.echoedExactly()).as(result.toString()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void pingsAreAnsweredBothWays(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);

        Duration rtt = session.ping().get(10, TimeUnit.SECONDS);
        peer.send("PING");

        assertThat(rtt.isNegative()).isFalse();
        assertThat(peer.awaitLine("PONG")).matches("PONG \\d+");
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void ourGoAwayRefusesNewStreamsButOpenOnesFinish(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);
        long size = 8L * 1024 * 1024;
        StreamExchange open = new StreamExchange(new byte[] {'d'}, size);
        session.openStream(open).get(10, TimeUnit.SECONDS);

        channel.eventLoop().submit(() -> session.goAway(GoAwayCode.NORMAL)).sync();
        peer.send("OPEN late 10 - echo");

        // Refused either by hashicorp itself (it saw our GoAway) or by our RST to a SYN that crossed it.
        assertThat(peer.awaitResult("late").end()).matches("reset|error:.*");
        assertThat(session.isGoingAway()).isTrue();
        assertThat(open.received().get(WAIT.toSeconds(), TimeUnit.SECONDS).text())
                .isEqualTo(size + " " + open.sent().getNow(null) + "\n");
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpGoAwayMakesOurOpenStreamFail(YamuxRole role) {
        YamuxSession session = connect(role);

        peer.send("GOAWAY");
        peer.awaitLine("GOAWAY_SENT");

        await().atMost(WAIT).until(session::isGoingAway);
        Future<YamuxStreamChannel> opened = session.openStream(new StreamExchange(new byte[] {'e'}, 1)).awaitUninterruptibly();
        assertThat(opened.isSuccess()).isFalse();
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpAcceptsOurResetWithAReasonInItsLength(YamuxRole role) throws Exception {
        YamuxSession session = connect(role);
        for (ResetReason reason : ResetReason.values()) {
            YamuxStreamChannel stream = session.openStream(new ChannelInboundHandlerAdapter()).get(10, TimeUnit.SECONDS);
            stream.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'e', 'x'})).sync();
            stream.reset(reason).sync();
        }

        // The session lives on: a new stream is echoed byte-exact and pings are answered.
        StreamExchange exchange = new StreamExchange(new byte[] {'e'}, 64 * 1024);
        session.openStream(exchange).get(10, TimeUnit.SECONDS);
        StreamExchange.Received received = exchange.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.reset()).isFalse();
        assertThat(received.sha256()).isEqualTo(exchange.sent().getNow(null));
        peer.send("PING");
        assertThat(peer.awaitLine("PONG")).matches("PONG \\d+");
        assertThat(session.isGoingAway()).isFalse();
        assertThat(channel.isActive()).isTrue();
    }

    /** Connects our session in {@code role} to a Go peer in the other role. */
    private YamuxSession connect(YamuxRole role) {
        group = Transport.newEventLoopGroup(1, "interop");
        ChannelInitializer<Channel> initializer = new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new YamuxSession(role, YamuxConfig.defaults(), new EchoStreamHandler()));
            }
        };
        try {
            if (role == YamuxRole.CLIENT) {
                peer = GoPeer.start("yamux", "-role", "server", "-addr", "127.0.0.1:0");
                String[] address = peer.awaitListening().split(":");
                channel = new Bootstrap().group(group).channel(Transport.socketChannel()).handler(initializer)
                        .connect(address[0], Integer.parseInt(address[1])).sync().channel();
            } else {
                CompletableFuture<Channel> accepted = new CompletableFuture<>();
                server = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                        .childHandler(new ChannelInitializer<>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                ch.pipeline().addLast(new YamuxSession(role, YamuxConfig.defaults(), new EchoStreamHandler()));
                                accepted.complete(ch);
                            }
                        })
                        .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
                int port = ((InetSocketAddress) server.localAddress()).getPort();
                peer = GoPeer.start("yamux", "-role", "client", "-addr", "127.0.0.1:" + port);
                channel = accepted.get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new AssertionError("cannot connect to the Go peer: " + e + (peer == null ? "" : "\n" + peer.stderr()), e);
        }
        peer.awaitLine("READY");
        return YamuxSession.of(channel);
    }
}
