package io.picotunnel.protocol.interop;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.testkit.GoPeer;
import org.awaitility.Awaitility;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Our {@link YamuxSession} in one role over a loopback TCP connection to the Go peer (hashicorp/yamux) in the
 * other role, both sides ready. Closing it stops the peer, the connection, our listener and the event loop.
 */
final class GoPeerConnection implements AutoCloseable {

    private final EventLoopGroup group;
    private Channel server;
    private Channel channel;
    private GoPeer peer;
    private volatile long sessionEndedNanos;

    private GoPeerConnection(String threadName) {
        group = Transport.newEventLoopGroup(1, threadName);
    }

    /**
     * Connects our session in role {@code ours}, serving the streams the peer opens with {@code inboundStreams}, to
     * a Go peer started with {@code peerArgs} on top of its role and address.
     */
    static GoPeerConnection open(YamuxRole ours, String threadName, ChannelHandler inboundStreams, String... peerArgs) {
        return open(ours, threadName, YamuxConfig.defaults(), inboundStreams, peerArgs);
    }

    /** As above, our session with {@code config}. */
    static GoPeerConnection open(YamuxRole ours, String threadName, YamuxConfig config, ChannelHandler inboundStreams,
                                 String... peerArgs) {
        return open(ours, threadName, config, ByteBufAllocator.DEFAULT, inboundStreams, peerArgs);
    }

    /** As above, our end of the connection allocating its buffers from {@code allocator}. */
    static GoPeerConnection open(YamuxRole ours, String threadName, YamuxConfig config, ByteBufAllocator allocator,
                                 ChannelHandler inboundStreams, String... peerArgs) {
        GoPeerConnection connection = new GoPeerConnection(threadName);
        try {
            connection.connect(ours, config, allocator, inboundStreams, List.of(peerArgs));
            return connection;
        } catch (RuntimeException | Error e) {
            connection.close();
            throw e;
        }
    }

    private void connect(YamuxRole ours, YamuxConfig config, ByteBufAllocator allocator, ChannelHandler inboundStreams,
                         List<String> peerArgs) {
        try {
            if (ours == YamuxRole.CLIENT) {
                peer = startPeer("server", "127.0.0.1:0", peerArgs);
                String[] address = peer.awaitListening().split(":");
                channel = new Bootstrap().group(group).channel(Transport.socketChannel())
                        .option(ChannelOption.ALLOCATOR, allocator)
                        .handler(session(ours, config, inboundStreams))
                        .connect(address[0], Integer.parseInt(address[1])).sync().channel();
            } else {
                CompletableFuture<Channel> accepted = new CompletableFuture<>();
                server = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                        .childOption(ChannelOption.ALLOCATOR, allocator)
                        .childHandler(new ChannelInitializer<>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                ch.pipeline().addLast(new YamuxSession(ours, config, inboundStreams));
                                accepted.complete(ch);
                            }
                        })
                        .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
                int port = ((InetSocketAddress) server.localAddress()).getPort();
                peer = startPeer("client", "127.0.0.1:" + port, peerArgs);
                channel = accepted.get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new AssertionError("cannot connect to the Go peer: " + e + (peer == null ? "" : "\n" + peer.stderr()), e);
        }
        // After the session: it has ended once this hears of the close.
        channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                sessionEndedNanos = System.nanoTime();
                ctx.fireChannelInactive();
            }
        });
        peer.awaitLine("READY");
    }

    private static GoPeer startPeer(String role, String address, List<String> peerArgs) {
        return GoPeer.start(Stream.concat(Stream.of("yamux", "-role", role, "-addr", address), peerArgs.stream())
                .toArray(String[]::new));
    }

    private static ChannelInitializer<Channel> session(YamuxRole ours, YamuxConfig config, ChannelHandler inboundStreams) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new YamuxSession(ours, config, inboundStreams));
            }
        };
    }

    GoPeer peer() {
        return peer;
    }

    /** Our end of the TCP connection. */
    Channel channel() {
        return channel;
    }

    YamuxSession session() {
        return YamuxSession.of(channel);
    }

    /** System.nanoTime() when our session had heard of the connection's close; 0 while it is open. */
    long sessionEndedNanos() {
        return sessionEndedNanos;
    }

    boolean sessionEnded() {
        return sessionEndedNanos != 0;
    }

    /**
     * Waits (at most 60 s) until hashicorp holds {@code n} streams: our {@code openStream} completes once the SYN is
     * written, not once the peer has read it.
     */
    void awaitPeerStreams(int n) {
        Awaitility.await("the peer holding " + n + " streams").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(50)).until(() -> {
                    peer.send("STREAMS");
                    return peer.awaitLine("STREAMS ").equals("STREAMS " + n);
                });
    }

    /** {@code task} run on our end's event loop, within 10 s. */
    <T> T onLoop(Callable<T> task) throws Exception {
        return channel.eventLoop().submit(task).get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        try {
            if (peer != null) {
                peer.close();
            }
            if (channel != null) {
                channel.close().await(5, TimeUnit.SECONDS);
            }
            if (server != null) {
                server.close().await(5, TimeUnit.SECONDS);
            }
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
