package io.picotunnel.bench.dataplane;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Channels from a sending side to a receiving side over loopback TCP, either as plain sockets or as yamux
 * streams of one connection between a CLIENT and a SERVER {@link YamuxSession}. Each side runs on its own
 * single-threaded event loop of the same Netty transport ({@link Transport}), so both paths get the same
 * threads and the difference between them is what yamux costs.
 */
public final class Loopback implements AutoCloseable {

    private static final long TIMEOUT_SECONDS = 30;

    private final EventLoopGroup receiverGroup = Transport.newEventLoopGroup(1, "bench-receiver");
    private final EventLoopGroup senderGroup = Transport.newEventLoopGroup(1, "bench-sender");
    private final List<Channel> connections = new ArrayList<>();
    private final List<Channel> senders = new ArrayList<>();
    private Channel listener;

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
            if (path == Path.DIRECT) {
                loopback.openSockets(receiverHandler, senderHandlers);
            } else {
                loopback.openYamuxStreams(receiverHandler, senderHandlers);
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
        for (ChannelHandler handler : senderHandlers) {
            Channel ch = connect(handler);
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
        connections.add(connect(client));
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

    private Channel connect(ChannelHandler handler) throws InterruptedException {
        return new Bootstrap().group(senderGroup).channel(Transport.socketChannel()).handler(handler)
                .connect(listener.localAddress()).sync().channel();
    }

    @Override
    public void close() {
        for (Channel ch : senders) {
            ch.close().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        for (Channel ch : connections) {
            ch.close().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        senderGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        receiverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
}
