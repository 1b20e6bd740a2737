package io.picotunnel.protocol.yamux;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.picotunnel.protocol.net.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Frames hashicorp/yamux would never send, written as raw bytes by a plain socket to our session (SERVER role) over
 * loopback TCP, after a stream of the peer's is open and has data in both directions: our side answers with
 * GoAway(protocol error) and closes the connection and the open stream, within seconds, never an escaping
 * exception or a hang.
 */
class MalformedFramesOverTcpTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int WINDOW = YamuxConfig.INITIAL_STREAM_WINDOW;

    private final List<Channel> streams = new CopyOnWriteArrayList<>();
    private final List<Throwable> escaped = new CopyOnWriteArrayList<>();
    private EventLoopGroup group;
    private Channel listener;
    private final CompletableFuture<Channel> accepted = new CompletableFuture<>();

    @BeforeEach
    void listen() throws Exception {
        group = Transport.newEventLoopGroup(1, "malformed");
        listener = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new YamuxSession(YamuxRole.SERVER, YamuxConfig.defaults(),
                                new ChannelInitializer<>() {
                                    @Override
                                    protected void initChannel(Channel stream) {
                                        streams.add(stream);
                                        stream.pipeline().addLast(new Echo());
                                    }
                                }));
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                escaped.add(cause);
                            }
                        });
                        accepted.complete(ch);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    @AfterEach
    void close() throws InterruptedException {
        listener.close().await(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }

    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("version 1", header(1, YamuxSpec.TYPE_PING, YamuxSpec.FLAG_SYN, 0, 7)),
                Arguments.of("unknown type 4", header(0, 4, 0, 1, 0)),
                Arguments.of("unknown type 255", header(0, 255, 0, 0, 0)),
                Arguments.of("Data one byte over the window, header only",
                        header(0, YamuxSpec.TYPE_DATA, 0, 1, WINDOW + 1)),
                Arguments.of("Data over the window, whole payload", frame(WINDOW + 1)),
                Arguments.of("Data of the largest length", header(0, YamuxSpec.TYPE_DATA, 0, 1, -1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void aMalformedFrameGetsGoAwayProtocolErrorAndTheConnectionCloses(String what, byte[] bytes) throws Exception {
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout((int) WAIT.toMillis());
            OutputStream out = socket.getOutputStream();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            // Stream 1 opened with 5 bytes, echoed back after our ACK.
            out.write(header(0, YamuxSpec.TYPE_WINDOW_UPDATE, YamuxSpec.FLAG_SYN, 1, 0));
            out.write(header(0, YamuxSpec.TYPE_DATA, 0, 1, 5));
            out.write("hello".getBytes());
            out.flush();
            List<int[]> before = readUntilData(in);
            assertThat(before).isNotEmpty();

            try {
                out.write(bytes);
                out.flush();
            } catch (SocketException closedBeforeTheLastByte) {
                // Our side may close on the header alone, before a long payload is all written: the rest is refused.
            }

            List<int[]> after = readToEnd(in);
            assertThat(after).as("frames after the malformed one (type, flags, stream, length)")
                    .anySatisfy(f -> assertThat(f).containsExactly(YamuxSpec.TYPE_GO_AWAY, 0, 0,
                            GoAwayCode.PROTOCOL_ERROR.code()));
        }
        Channel ours = accepted.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        await("our connection closed").atMost(WAIT).until(() -> !ours.isActive());
        await("the open stream closed").atMost(WAIT).until(() -> streams.stream().noneMatch(Channel::isActive));
        assertThat(escaped).isEmpty();
    }

    /** Frames up to and with the first Data frame (the echo), payloads skipped. */
    private static List<int[]> readUntilData(DataInputStream in) throws IOException {
        List<int[]> frames = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            int[] f = readFrame(in);
            frames.add(f);
            if (f[0] == YamuxSpec.TYPE_DATA) {
                return frames;
            }
        }
        throw new AssertionError("no Data frame in " + frames.size() + " frames");
    }

    /** Frames until the connection ends (EOF or reset), payloads skipped. */
    private static List<int[]> readToEnd(DataInputStream in) throws IOException {
        List<int[]> frames = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            try {
                frames.add(readFrame(in));
            } catch (EOFException | SocketException end) {
                return frames;
            }
        }
        throw new AssertionError("the connection did not end after " + frames.size() + " frames");
    }

    /** {type, flags, stream id, length} of the next frame, its payload skipped. */
    private static int[] readFrame(DataInputStream in) throws IOException {
        int version = in.readUnsignedByte();
        assertThat(version).isZero();
        int[] f = {in.readUnsignedByte(), in.readUnsignedShort(), in.readInt(), in.readInt()};
        if (f[0] == YamuxSpec.TYPE_DATA) {
            in.readNBytes(f[3]);
        }
        return f;
    }

    private static byte[] header(int version, int type, int flags, int streamId, int length) {
        return ByteBuffer.allocate(12).put((byte) version).put((byte) type).putShort((short) flags).putInt(streamId)
                .putInt(length).array();
    }

    private static byte[] frame(int length) {
        return ByteBuffer.allocate(12 + length).put(header(0, YamuxSpec.TYPE_DATA, 0, 1, length)).array();
    }

    /** Echoes what the stream reads. */
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }
}
