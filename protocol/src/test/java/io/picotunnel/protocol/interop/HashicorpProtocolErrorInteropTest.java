package io.picotunnel.protocol.interop;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.protocol.yamux.YamuxSpec;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * hashicorp/yamux ending the session for a protocol error on our side: bytes our session would never send are
 * written under it, straight onto the connection, while one of our streams is open. Our side must end the session
 * and its stream within seconds, no exception escaping. (For a duplicate SYN or data beyond the window hashicorp
 * queues GoAway(protocol error) but closes the connection before writing it, "use of closed network connection" in
 * its log: our side sees only the close.)
 */
class HashicorpProtocolErrorInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private final List<Throwable> escaped = new CopyOnWriteArrayList<>();
    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;

    /** What to write for our open stream of that id. */
    static Stream<Arguments> errors() {
        IntFunction<byte[]> duplicateSyn = id -> header(0, YamuxSpec.TYPE_WINDOW_UPDATE, YamuxSpec.FLAG_SYN, id, 0);
        IntFunction<byte[]> beyondWindow = id -> {
            int length = YamuxConfig.INITIAL_STREAM_WINDOW;
            byte[] frame = new byte[12 + length];
            System.arraycopy(header(0, YamuxSpec.TYPE_DATA, 0, id, length), 0, frame, 0, 12);
            return frame;
        };
        IntFunction<byte[]> badVersion = id -> header(1, YamuxSpec.TYPE_PING, YamuxSpec.FLAG_SYN, 0, 1);
        IntFunction<byte[]> unknownType = id -> header(0, 7, 0, id, 0);
        return Stream.of(
                Arguments.of("a SYN for our open stream", duplicateSyn),
                Arguments.of("Data beyond the stream's window", beyondWindow),
                Arguments.of("version 1", badVersion),
                Arguments.of("type 7", unknownType));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("errors")
    void hashicorpEndingTheSessionForOurProtocolErrorEndsOurSessionAndStream(String what, IntFunction<byte[]> bytes)
            throws Exception {
        connection = connections.open(YamuxRole.CLIENT, "protocol-error", new EchoStreamHandler());
        Channel channel = connection.channel();
        channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                escaped.add(cause);
            }
        });
        YamuxSession session = connection.session();
        RecordingStream reader = new RecordingStream(true);
        // The hold service reads its one byte and nothing more: the stream's window stays as it is.
        YamuxStreamChannel stream = session.openStream(reader).get(10, TimeUnit.SECONDS);
        stream.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'h'})).get(10, TimeUnit.SECONDS);
        connection.awaitPeerStreams(1);

        ByteBuf raw = Unpooled.wrappedBuffer(bytes.apply(stream.streamId()));
        connection.onLoop(() -> channel.pipeline().firstContext().writeAndFlush(raw));

        connection.peer().awaitLine("SESSION_CLOSED");
        await("our session ended").atMost(WAIT).until(connection::sessionEnded);
        await("our stream ended").atMost(WAIT).until(() -> reader.inactive);
        assertThat(escaped).isEmpty();
    }

    private static byte[] header(int version, int type, int flags, int streamId, int length) {
        return ByteBuffer.allocate(12).put((byte) version).put((byte) type).putShort((short) flags)
                .putInt(streamId).putInt(length).array();
    }
}
