package io.picotunnel.client.tunnel;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.protocol.stream.StreamHeader;
import io.picotunnel.protocol.stream.StreamHeaderDecoder;
import io.picotunnel.protocol.stream.StreamType;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_DATA;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Our client's side without WebSocket: a loopback listener whose connections get a yamux session in the client role,
 * whose streams get the client's real handlers (header decoder and {@link TargetDialer}). A test connects a raw
 * socket to port {@link #listen} answers and plays the server with {@link #open} and {@link #frame}.
 */
final class TargetDialerBehindYamux {

    private final EventLoopGroup group;
    private final EventLoopGroup targets;
    private final ExecutorService resolver = Executors.newVirtualThreadPerTaskExecutor();
    private final CompletableFuture<YamuxSession> session = new CompletableFuture<>();
    private Channel listener;

    /** {@code name} names the threads: {@code name-test} for the session, {@code name-targets} for the targets. */
    TargetDialerBehindYamux(String name) {
        group = Transport.newEventLoopGroup(1, name + "-test");
        targets = Transport.newEventLoopGroup(1, name + "-targets");
    }

    /** Starts listening, with streams dialled by a resolver of virtual threads; answers the port. */
    int listen(AllowList allow, Duration dialTimeout) throws InterruptedException {
        return listen(allow, dialTimeout, resolver);
    }

    int listen(AllowList allow, Duration dialTimeout, Executor resolver) throws InterruptedException {
        listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        YamuxSession yamux = new YamuxSession(YamuxRole.CLIENT, YamuxConfig.defaults(),
                                new ChannelInitializer<>() {
                                    @Override
                                    protected void initChannel(Channel stream) {
                                        stream.config().setAutoRead(false);
                                        stream.pipeline().addLast(new StreamHeaderDecoder(),
                                                new TargetDialer(allow, dialTimeout, resolver, targets,
                                                        new DefaultChannelGroup(GlobalEventExecutor.INSTANCE),
                                                        new TargetFailureLog()));
                                    }
                                });
                        ch.pipeline().addLast(yamux);
                        session.complete(yamux);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** The event loop of the sessions and their streams. */
    EventLoop streamLoop() {
        return group.next();
    }

    /**
     * Returns once the targets' event loop has waited for its sockets' events at least once since the call: what
     * the kernel had for them by then has been handled.
     */
    void awaitTargetsLoopTurn() throws Exception {
        for (int i = 0; i < 2; i++) {
            targets.submit(() -> {
            }).get(10, TimeUnit.SECONDS);
        }
    }

    /** Stops the targets' event loop (as the client's stop does to its --target-threads pool); waits for its end. */
    void stopTargets() throws InterruptedException {
        assertThat(targets.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS))
                .as("the targets' loop stopped").isTrue();
    }

    /** The session of the first connection accepted. */
    YamuxSession session() throws Exception {
        return session.get(10, TimeUnit.SECONDS);
    }

    /**
     * As the server does: WindowUpdate|SYN for stream {@code id}, then one Data frame with the stream header for
     * {@code target} followed by {@code firstBytes} zero bytes for the target.
     */
    static void open(OutputStream out, int id, String target, int firstBytes) throws IOException {
        ByteBuf header = new StreamHeader(StreamType.TCP, target).encode(Unpooled.buffer().alloc());
        byte[] payload = new byte[header.readableBytes() + firstBytes];
        header.readBytes(payload, 0, header.readableBytes());
        header.release();
        out.write(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, id, 0));
        out.write(frame(TYPE_DATA, 0, id, payload.length));
        out.write(payload);
        out.flush();
    }

    /**
     * Reads frames (skipping pings, the ACK and any payload) up to the RST of stream {@code id}, which must come as a
     * WindowUpdate; answers its length, the reason (a {@code ResetReason} code).
     */
    static long awaitReset(InputStream input, int id) throws IOException {
        DataInputStream in = new DataInputStream(input);
        for (int i = 0; i < 1000; i++) {
            Frame frame = readFrame(in);
            if (frame.streamId() == id && (frame.flags() & FLAG_RST) != 0) {
                assertThat(frame.type()).as("the RST is a WindowUpdate").isEqualTo(TYPE_WINDOW_UPDATE);
                return frame.length();
            }
        }
        throw new AssertionError("no RST for stream " + id + " within 1000 frames");
    }

    /** A yamux frame as the server reads it: its header, and the payload of a Data frame (none for the others). */
    record Frame(int type, int flags, int streamId, long length, byte[] payload) {
    }

    /**
     * Reads the next frame from the client: its header, and its payload when it is a Data frame, which must be within
     * the window a stream starts with (these peers grant no more): a bigger length is a failure, not an allocation.
     */
    static Frame readFrame(DataInputStream in) throws IOException {
        in.readUnsignedByte();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedShort();
        int streamId = in.readInt();
        long length = Integer.toUnsignedLong(in.readInt());
        if (type == TYPE_DATA) {
            assertThat(length).as("a Data frame's length on stream %d", streamId)
                    .isLessThanOrEqualTo(YamuxConfig.INITIAL_STREAM_WINDOW);
        }
        byte[] payload = new byte[type == TYPE_DATA ? (int) length : 0];
        in.readFully(payload);
        return new Frame(type, flags, streamId, length, payload);
    }

    /** A yamux frame header. */
    static byte[] frame(int type, int flags, int streamId, long length) {
        ByteBuf b = Unpooled.buffer(12).writeByte(0).writeByte(type).writeShort(flags).writeInt(streamId)
                .writeInt((int) length);
        byte[] bytes = new byte[12];
        b.readBytes(bytes);
        return bytes;
    }

    /** Stops listening and ends the event loops and the resolver. */
    void close() throws InterruptedException {
        if (listener != null) {
            listener.close().await(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        targets.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        resolver.shutdownNow();
    }
}
