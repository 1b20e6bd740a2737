package io.picotunnel.bench.dataplane;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.bench.e2e.TunnelFixture;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Channels from a sending side to a receiving side over loopback TCP ({@link Path}): plain sockets, yamux
 * streams of one connection between a CLIENT and a SERVER {@link YamuxSession}, or connections through a
 * PicoTunnel tcp service. Each side runs on its own single-threaded event loop of the same Netty transport
 * ({@link Transport}), so the direct and yamux paths get the same threads and the difference between them is
 * what yamux costs; the tunnel path adds the server's and the client's own threads, as in real use.
 */
public final class Loopback implements AutoCloseable {

    private static final long TIMEOUT_SECONDS = 30;

    private final EventLoopGroup receiverGroup = Transport.newEventLoopGroup(1, "bench-receiver");
    private final EventLoopGroup senderGroup = Transport.newEventLoopGroup(1, "bench-sender");
    private final List<Channel> connections = new ArrayList<>();
    private final List<Channel> senders = new ArrayList<>();
    private Channel listener;
    private TunnelFixture tunnel;

    private Loopback() {
    }

    /**
     * Opens one channel per handler of {@code senderHandlers}, each with that handler in its pipeline; the
     * receiving end of every channel gets {@code receiverHandler}, which must be {@code @Sharable}.
     */
    public static Loopback open(Path path, ChannelHandler receiverHandler, List<? extends ChannelHandler> senderHandlers)
            throws Exception {
        Loopback loopback = new Loopback();
        try {
            switch (path) {
                case DIRECT -> loopback.openSockets(receiverHandler, senderHandlers);
                case YAMUX -> loopback.openYamuxStreams(receiverHandler, senderHandlers);
                case TUNNEL -> loopback.openThroughTunnel(receiverHandler, senderHandlers);
            }
            return loopback;
        } catch (Exception e) {
            loopback.close();
            throw e;
        }
    }

    /** The sending ends, in the order of the handlers given to {@link #open}. */
    public List<Channel> senders() {
        return senders;
    }

    private void openSockets(ChannelHandler receiverHandler, List<? extends ChannelHandler> senderHandlers)
            throws InterruptedException {
        bind(receiverHandler);
        connectSenders(listener.localAddress(), senderHandlers);
    }

    private void openThroughTunnel(ChannelHandler receiverHandler, List<? extends ChannelHandler> senderHandlers)
            throws Exception {
        bind(receiverHandler);
        tunnel = TunnelFixture.start((InetSocketAddress) listener.localAddress());
        connectSenders(tunnel.serviceAddress(), senderHandlers);
    }

    private void connectSenders(SocketAddress address, List<? extends ChannelHandler> senderHandlers)
            throws InterruptedException {
        for (ChannelHandler handler : senderHandlers) {
            Channel ch = connect(handler, address);
            connections.add(ch);
            senders.add(ch);
        }
    }

    private void openYamuxStreams(ChannelHandler receiverHandler, List<? extends ChannelHandler> senderHandlers)
            throws Exception {
        YamuxConfig config = YamuxConfig.defaults();
        bind(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new YamuxSession(YamuxRole.SERVER, config, receiverHandler));
            }
        });
        YamuxSession client = new YamuxSession(YamuxRole.CLIENT, config, null);
        connections.add(connect(client, listener.localAddress()));
        for (ChannelHandler handler : senderHandlers) {
            YamuxStreamChannel stream = client.openStream(handler).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            senders.add(stream);
        }
    }

    private void bind(ChannelHandler childHandler) throws InterruptedException {
        listener = new ServerBootstrap().group(receiverGroup).channel(Transport.serverSocketChannel())
                .childHandler(childHandler)
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    private Channel connect(ChannelHandler handler, SocketAddress address) throws InterruptedException {
        return new Bootstrap().group(senderGroup).channel(Transport.socketChannel()).handler(handler)
                .connect(address).sync().channel();
    }

    @Override
    public void close() {
        for (Channel ch : senders) {
            ch.close().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        for (Channel ch : connections) {
            ch.close().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        if (tunnel != null) {
            tunnel.close();
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        senderGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        receiverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
}
