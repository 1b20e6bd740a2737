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
 * The Netty transport: NIO, or epoll with {@code -Dpicotunnel.epoll=true} where the native library loads.
 *
 * <p>NIO is the default because Netty 4.2's epoll transport (seen in 4.2.18 to 4.2.20) breaks half-closed
 * sockets: once a socket's input has ended and it has no interest left, {@code EpollIoHandler} removes the
 * fd from epoll but keeps its registration marked as added, so the next write that has to wait for
 * EPOLLOUT fails with {@code epoll_ctl(..) failed with error(-2)} and Netty shuts the output down, cutting
 * the data short. A relay with half-close under backpressure hits it every time (see RelayTest).
 */
public final class Transport {

    private static final boolean EPOLL = Boolean.getBoolean("picotunnel.epoll") && Epoll.isAvailable();

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
