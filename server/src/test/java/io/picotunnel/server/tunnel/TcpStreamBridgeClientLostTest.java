package io.picotunnel.server.tunnel;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.server.e2e.ServicedTunnel;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.EchoServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A tcp visitor whose chosen client connection is lost, without GoAway, between the registry's choice of it and the
 * stream's open, or with the stream's SYN still queued: no SYN left, so the visitor goes to another client of the
 * tunnel, or is reset when there is none, never closed cleanly (a visitor waiting for the target to speak first would
 * take the FIN for an empty answer).
 *
 * <p>Real server, clients, sockets and target. The moment lasts as long as the test needs: the visitor is served on
 * a loop of its own (as a TLS passthrough visitor may be, or a tcp one whose client changed since its accept), so the
 * open waits behind a task of the chosen session's loop, which closes the session's connection before it runs.
 */
class TcpStreamBridgeClientLostTest {

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private ServicedTunnel tunnel;
    private EchoServer echo;
    private EventLoopGroup visitorLoop;
    private int visitorPort;

    @BeforeEach
    void start() throws Exception {
        testbed = new Testbed(dataDir);
        tunnel = new ServicedTunnel(testbed, "lost", "lost.test");
        echo = new EchoServer();
        visitorLoop = Transport.newEventLoopGroup(1, "lost-visitors");
        StreamHeader header = new StreamHeader(StreamType.TCP, echo.address());
        Channel listener = new ServerBootstrap().group(visitorLoop).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        // As TcpConnection does: a hold in front, released once the stream takes the socket.
                        Hold hold = new Hold();
                        ctx.pipeline().addLast(Hold.HANDLER_NAME, hold);
                        ctx.pipeline().remove(this);
                        TcpStreamBridge.connect(registry(), tunnel.id, header, ctx.channel()).addListener(relaying -> {
                            if (relaying.isSuccess()) {
                                hold.release();
                            } else {
                                hold.discard();
                            }
                        });
                    }

                    @Override
                    public boolean isSharable() {
                        return true;
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        visitorPort = ((InetSocketAddress) listener.localAddress()).getPort();
    }

    @AfterEach
    void stop() {
        testbed.close();
        tunnel.close();
        echo.close();
        visitorLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private TunnelRegistry registry() {
        return testbed.server().registry();
    }

    @Test
    void aVisitorWhoseOnlyClientIsLostBeforeItsStreamOpensIsResetNotClosed() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);
        TunnelRegistry.Connection only = registry().connections(tunnel.id).getFirst();
        try (Socket visitor = new Socket()) {
            lostOnceChosen(only, () -> {
                visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), visitorPort), 10_000);
                visitor.setSoTimeout(10_000);
            });

            // It sent nothing, as a visitor of a protocol where the server speaks first: a FIN would read as the end.
            assertThatThrownBy(() -> visitor.getInputStream().read())
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
        }
    }

    @Test
    void aVisitorWhoseChosenClientIsLostBeforeItsStreamOpensGetsItsEchoFromTheTunnelsOtherClient() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);
        // The first client carries a stream: the second, with none, is the one chosen.
        Socket busy = tunnel.relayed();
        try (busy) {
            testbed.startClient(tunnel.token);
            await().atMost(10, TimeUnit.SECONDS).until(() -> registry().connections(tunnel.id).size() == 2);
            TunnelRegistry.Connection other = registry().connections(tunnel.id).get(0);
            TunnelRegistry.Connection chosen = registry().connections(tunnel.id).get(1);
            long opened = other.streamsOpened();
            try (Socket visitor = new Socket()) {
                lostOnceChosen(chosen, () -> {
                    visitor.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), visitorPort), 10_000);
                    visitor.setSoTimeout(10_000);
                    visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                });

                assertThat(new String(visitor.getInputStream().readNBytes(4), StandardCharsets.US_ASCII))
                        .isEqualTo("ping");
                assertThat(other.streamsOpened()).as("the other client took the stream").isEqualTo(opened + 1);
                assertThat(chosen.streamsOpened()).as("nothing opened on the lost one").isZero();
            }
        }
    }

    /**
     * The client chosen for the visitor's stream is lost (its connection closed, no GoAway) while the stream's SYN waits
     * to be sent: its client never heard of the stream, and the visitor goes to the other client with what it sent.
     */
    @Test
    void aVisitorWhoseSynWasStillQueuedWhenItsClientWasLostGetsItsEchoFromTheTunnelsOtherClient() throws Exception {
        testbed.connect(tunnel.id, tunnel.token);
        // The first client carries a stream: the second, with none, is the one chosen.
        Socket busy = tunnel.relayed();
        try (busy) {
            testbed.startClient(tunnel.token);
            await().atMost(10, TimeUnit.SECONDS).until(() -> registry().connections(tunnel.id).size() == 2);
            TunnelRegistry.Connection other = registry().connections(tunnel.id).get(0);
            TunnelRegistry.Connection chosen = registry().connections(tunnel.id).get(1);
            long opened = other.streamsOpened();
            Channel connection = chosen.session().parent();
            connection.eventLoop().submit(() -> connection.pipeline().addFirst(new UnsentWrites()))
                    .get(10, TimeUnit.SECONDS);
            try (Socket visitor = new Socket(InetAddress.getLoopbackAddress(), tunnel.tcpPort)) {
                visitor.setSoTimeout(10_000);
                visitor.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                await().atMost(10, TimeUnit.SECONDS).until(() -> chosen.streamsOpened() == 1);

                connection.close();

                assertThat(new String(visitor.getInputStream().readNBytes(4), StandardCharsets.US_ASCII))
                        .isEqualTo("ping");
                assertThat(other.streamsOpened()).as("the other client took the stream").isEqualTo(opened + 1);
            }
        }
    }

    /** Sends nothing of what is written to a client's connection: a close fails it, as the unsent rest of a socket's. */
    private static final class UnsentWrites extends ChannelOutboundHandlerAdapter {
        private final List<Object> messages = new ArrayList<>();
        private final List<ChannelPromise> promises = new ArrayList<>();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            messages.add(msg);
            promises.add(promise);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
        }

        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
            messages.forEach(ReferenceCountUtil::release);
            messages.clear();
            List<ChannelPromise> unsent = List.copyOf(promises);
            promises.clear();
            unsent.forEach(p -> p.tryFailure(new ClosedChannelException()));
            ctx.close(promise);
        }
    }

    private interface Visit {
        void run() throws Exception;
    }

    /**
     * Holds {@code chosen}'s loop, runs {@code visit}, and once the registry asked {@code chosen} for the visitor's
     * stream closes its connection (no GoAway) on that loop, before the open gets there.
     */
    private void lostOnceChosen(TunnelRegistry.Connection chosen, Visit visit) throws Exception {
        Channel connection = chosen.session().parent();
        assertThat(chosen.load()).as("no stream on the client to be lost").isZero();
        CountDownLatch asked = new CountDownLatch(1);
        connection.eventLoop().execute(() -> {
            try {
                asked.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            connection.close();
        });
        try {
            visit.run();
            await().atMost(10, TimeUnit.SECONDS).until(() -> chosen.load() == 1);
        } finally {
            asked.countDown();
        }
    }
}
