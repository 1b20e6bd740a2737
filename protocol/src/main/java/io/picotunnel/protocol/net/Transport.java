package io.picotunnel.protocol.net;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The Netty transport: epoll where its native library loads (Linux), NIO elsewhere or with
 * {@code -Dpicotunnel.epoll=false}.
 *
 * <p>Netty 4.2's epoll transport (seen in 4.2.18 to 4.2.20) breaks half-closed sockets unless they keep an
 * interest registered: {@link io.netty.channel.epoll.HalfClosedEpollChannels} does that for every socket a
 * {@code Relay} keeps half-closed (RelayTest fails without it).
 */
public final class Transport {

    private static final boolean EPOLL =
            Boolean.parseBoolean(System.getProperty("picotunnel.epoll", "true")) && Epoll.isAvailable();

    private Transport() {
    }

    public static boolean isEpoll() {
        return EPOLL;
    }

    /** An event loop group of {@code threads} threads (0: Netty's default, twice the cores). */
    public static EventLoopGroup newEventLoopGroup(int threads, String name) {
        IoHandlerFactory factory = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    public static Class<? extends ServerChannel> serverSocketChannel() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public static Class<? extends Channel> socketChannel() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }
}
