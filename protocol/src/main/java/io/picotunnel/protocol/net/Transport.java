package io.picotunnel.protocol.net;

import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
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

    /**
     * Reads of a relayed socket: up to 256 KiB at a time (Netty's default stops at 64). Not
     * more: one read is written to a stream at once, and what a stream holds for sending stays within its 256 KiB
     * window plus its 64 KiB write mark only while a read is no larger than the window (512 KiB was faster, and
     * broke that bound: TcpServiceEndToEndTest.slowTargetHoldsTheSenderBackWithBoundedBytesInFlight).
     */
    public static final int MAX_READ = 256 * 1024;

    /**
     * The read-size predictor of a socket whose bytes are relayed in bulk: sized as Netty's default, growing to
     * {@link #MAX_READ} while reads fill the buffer. A relay reads one buffer per read request (auto-read off), so
     * the largest buffer sets how many bytes one pass through the event loop moves. Each channel keeps its state
     * in a handle of its own; the allocator holds only settings, which every socket channel sets alike (messages
     * per read), so one instance serves all, as a bootstrap option serves every connection of a listener.
     */
    private static final RecvByteBufAllocator BULK_READS = new AdaptiveRecvByteBufAllocator(64, 2048, MAX_READ);

    /**
     * Reads of a tunnel connection: up to twice {@link #MAX_READ}. Its bytes go to streams as frames, within their
     * receive windows, so the size of a read bounds no stream's queue; with 8 streams through one tunnel the client
     * read some 235 KiB per call at the 256 KiB cap, and at 512 KiB its event loop took 36 to 39 ticks of CPU per GB
     * against 40 to 50 (three alternating runs of `iperf3 -P 8` each).
     */
    private static final RecvByteBufAllocator TUNNEL_READS = new AdaptiveRecvByteBufAllocator(64, 2048, 2 * MAX_READ);

    /**
     * Write marks of a tunnel connection: its streams wait once more than two of a relayed socket's largest reads
     * ({@link #MAX_READ}) are queued, and go on once less than one is.
     */
    private static final WriteBufferWaterMark TUNNEL_WRITE_MARKS = new WriteBufferWaterMark(MAX_READ, 2 * MAX_READ);

    static final int KEEPALIVE_IDLE_SECONDS = 60;
    static final int KEEPALIVE_INTERVAL_SECONDS = 10;
    static final int KEEPALIVE_PROBES = 6;

    private Transport() {
    }

    /** See {@link #BULK_READS}. */
    public static RecvByteBufAllocator bulkReads() {
        return BULK_READS;
    }

    public static RecvByteBufAllocator tunnelReads() {
        return TUNNEL_READS;
    }

    public static WriteBufferWaterMark tunnelWriteMarks() {
        return TUNNEL_WRITE_MARKS;
    }

    /**
     * TCP keepalive for a relayed socket (a tcp service's visitor, a target): a peer that vanished without a word
     * (its host gone, a NAT entry dropped) is found after about two minutes of silence (probes after 60 s idle,
     * every 10 s, 6 unanswered), and its connection, stream and far side are freed instead of held for ever. A
     * live peer answers the probes in its kernel, so idle sessions (ssh, databases) stay up. NIO sockets get the
     * system's timings.
     */
    public static void keepAlive(Channel channel) {
        if (channel instanceof EpollSocketChannel epoll) {
            epoll.config().setKeepAlive(true).setTcpKeepIdle(KEEPALIVE_IDLE_SECONDS)
                    .setTcpKeepIntvl(KEEPALIVE_INTERVAL_SECONDS).setTcpKeepCnt(KEEPALIVE_PROBES);
        } else if (channel instanceof SocketChannel socket) {
            socket.config().setKeepAlive(true);
        }
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
