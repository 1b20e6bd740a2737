package io.picotunnel.client.tunnel;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
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
import io.picotunnel.testkit.EchoServer;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SilentListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_DATA;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a stream sends while the client dials its target is held ({@link TargetDialer}'s hold) and counts toward the
 * client session's buffer limit; when the target refuses or does not answer and the stream is reset, none of it may
 * stay counted, or the session's total drifts up until every stream is reset. The client's real stream handlers
 * behind a yamux session in the client role, a raw socket playing the server.
 */
class TargetDialerHeldBytesTest {

    private static final int PAYLOAD = 100 * 1024;
    private static final int STREAMS_EACH = 4;

    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "held-test");
    private final EventLoopGroup targets = Transport.newEventLoopGroup(1, "held-targets");
    private final ExecutorService resolver = Executors.newVirtualThreadPerTaskExecutor();
    private final CompletableFuture<YamuxSession> session = new CompletableFuture<>();
    private Channel listener;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (listener != null) {
            listener.close().await(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        targets.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        resolver.shutdownNow();
    }

    @Test
    void bytesHeldWhileDiallingTargetsThatRefuseOrDoNotAnswerAreNoLongerCountedOnceTheirStreamsAreReset()
            throws Exception {
        try (SilentListener silent = new SilentListener(); Socket server = new Socket()) {
            int port = client(Duration.ofSeconds(3));
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            OutputStream out = server.getOutputStream();
            Set<Integer> opened = new HashSet<>();
            for (int i = 0; i < 2 * STREAMS_EACH; i++) {
                int id = 2 + 2 * i;
                String target = i % 2 == 0 ? silent.address() : "127.0.0.1:" + Ports.freePort();
                open(out, id, target);
                opened.add(id);
            }
            YamuxSession client = session.get(10, TimeUnit.SECONDS);

            // The targets that do not answer are still being dialled: what their streams sent is held, and counted.
            await().atMost(Duration.ofSeconds(20)).until(() -> held(client) >= (long) STREAMS_EACH * PAYLOAD);

            awaitFrames(new DataInputStream(server.getInputStream()), opened, FLAG_RST);
            await().atMost(Duration.ofSeconds(5)).until(() -> client.activeStreams() == 0);
            // Hold's own release (when its handler leaves the closed stream) runs after the reset: let it.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(held(client)).as("bytes the client's session counts as held").isZero());
        }
    }

    @Test
    void bytesHeldWhileDiallingATargetThatAnswersArePassedOnAndNoLongerCounted() throws Exception {
        try (EchoServer echo = new EchoServer(); Socket server = new Socket()) {
            int port = client(Duration.ofSeconds(3));
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            OutputStream out = server.getOutputStream();
            Set<Integer> opened = new HashSet<>();
            for (int i = 0; i < STREAMS_EACH; i++) {
                int id = 2 + 2 * i;
                open(out, id, "127.0.0.1:" + echo.port());
                out.write(frame(TYPE_WINDOW_UPDATE, FLAG_FIN, id, 0));
                opened.add(id);
            }
            out.flush();
            YamuxSession client = session.get(10, TimeUnit.SECONDS);

            // Echoed whole, then the target's end passed on as FIN: every byte went through the hold to the target.
            long echoed = awaitFrames(new DataInputStream(server.getInputStream()), opened, FLAG_FIN);
            assertThat(echoed).isEqualTo((long) STREAMS_EACH * PAYLOAD);
            await().atMost(Duration.ofSeconds(5)).until(() -> client.activeStreams() == 0);
            assertThat(held(client)).as("bytes the client's session counts as held").isZero();
        }
    }

    private static long held(YamuxSession client) throws Exception {
        return client.parent().eventLoop().submit(client::inboundHeld).get(5, TimeUnit.SECONDS);
    }

    private int client(Duration dialTimeout) throws InterruptedException {
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
                                                new TargetDialer(AllowList.ANY, dialTimeout, resolver, targets,
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

    /** As the server does, the first bytes for the target in the same Data frame as the stream header. */
    private static void open(OutputStream out, int id, String target) throws IOException {
        ByteBuf header = new StreamHeader(StreamType.TCP, target).encode(Unpooled.buffer().alloc());
        byte[] payload = new byte[header.readableBytes() + PAYLOAD];
        header.readBytes(payload, 0, header.readableBytes());
        header.release();
        out.write(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, id, 0));
        out.write(frame(TYPE_DATA, 0, id, payload.length));
        out.write(payload);
        out.flush();
    }

    private static byte[] frame(int type, int flags, int streamId, long length) {
        ByteBuf b = Unpooled.buffer(12).writeByte(0).writeByte(type).writeShort(flags).writeInt(streamId)
                .writeInt((int) length);
        byte[] bytes = new byte[12];
        b.readBytes(bytes);
        return bytes;
    }

    /**
     * Reads frames (skipping pings, ACKs and payloads) until every stream in {@code streams} sent a frame with
     * {@code flag}; answers the bytes of Data frames on them.
     */
    private static long awaitFrames(DataInputStream in, Set<Integer> streams, int flag) throws IOException {
        Set<Integer> waiting = new HashSet<>(streams);
        long data = 0;
        for (int i = 0; i < 10_000 && !waiting.isEmpty(); i++) {
            in.readUnsignedByte();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedShort();
            int streamId = in.readInt();
            long length = Integer.toUnsignedLong(in.readInt());
            if (type == TYPE_DATA) {
                in.skipNBytes(length);
                if (streams.contains(streamId)) {
                    data += length;
                }
            }
            assertThat(flag == FLAG_FIN && (flags & FLAG_RST) != 0).as("RST for stream %d", streamId).isFalse();
            if ((flags & flag) != 0) {
                waiting.remove(streamId);
            }
        }
        assertThat(waiting).as("streams without that frame").isEmpty();
        return data;
    }
}
