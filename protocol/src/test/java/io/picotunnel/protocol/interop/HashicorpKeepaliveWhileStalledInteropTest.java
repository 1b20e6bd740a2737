package io.picotunnel.protocol.interop;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * hashicorp/yamux with keepalive every 100 ms and a ConnectionWriteTimeout of 2 s, which also bounds its wait for
 * each ping's answer, while both directions are stalled by backpressure: our reader takes nothing of the
 * peer's stream, and the peer holds ours without reading. The keepalive pings must still be answered in time, so
 * the peer keeps the session; once our reader reads, everything arrives.
 */
class HashicorpKeepaliveWhileStalledInteropTest {

    private static final long PEER_SENDS = 4L * 1024 * 1024;
    /**
     * hashicorp's ConnectionWriteTimeout, its wait for each ping's answer: short beside the stall, long enough for a
     * loaded machine (at 500 ms a busy test host now and then missed it at the session's start).
     */
    private static final String PING_ANSWER_WAIT = "2s";
    private static final Duration STALLED = Duration.ofSeconds(5);
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<RecordingStream> readers = new CopyOnWriteArrayList<>();
    @RegisterExtension
    final GoPeerConnections connections = new GoPeerConnections();
    private GoPeerConnection connection;

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpsKeepaliveIsAnsweredInTimeWhileBothDirectionsAreStalled(YamuxRole ours) throws Exception {
        connection = connections.open(ours, "keepalive", RecordingStream.eachInto(readers,
                () -> new RecordingStream(false)), "-keepalive", "100ms", "-write-timeout", PING_ANSWER_WAIT);
        GoPeer peer = connection.peer();
        peer.send("OPEN theirs " + PEER_SENDS + " - send");
        await("the peer's stream open").atMost(WAIT).until(() -> readers.size() == 1);
        YamuxStreamChannel held = connection.session().openStream(new ChannelInboundHandlerAdapter())
                .get(10, TimeUnit.SECONDS);
        held.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'h'}));
        held.writeAndFlush(Unpooled.wrappedBuffer(new byte[(int) PEER_SENDS]));
        await("our writes stalled at the peer's window").atMost(WAIT).until(() -> !held.isWritable());

        keptWhileStalledThenReadToEnd("the session kept while stalled", PEER_SENDS);
    }

    /**
     * As above with hashicorp sending one-byte Data frames, a whole window of them, toward our reader that reads
     * nothing: however many frames our side takes in, its answers to the keepalive pings come in time.
     */
    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpsKeepaliveIsAnsweredInTimeWhileItsOneByteFramesFillAStalledReader(YamuxRole ours) throws Exception {
        connection = connections.open(ours, "keepalive", RecordingStream.eachInto(readers,
                () -> new RecordingStream(false)), "-keepalive", "100ms", "-write-timeout", PING_ANSWER_WAIT,
                "-write-chunk", "1");
        GoPeer peer = connection.peer();
        int window = YamuxConfig.INITIAL_STREAM_WINDOW;
        peer.send("OPEN theirs " + (2 * window) + " - send");
        await("the peer's stream open").atMost(WAIT).until(() -> readers.size() == 1);

        GoPeer.StreamResult result = keptWhileStalledThenReadToEnd("the session kept while the frames come",
                2 * window);
        assertThat(connection.onLoop(readers.getFirst()::sha256)).isEqualTo(result.shaSent());
    }

    /**
     * The session stays up for {@link #STALLED} and the peer does not close it; then our reader of the peer's stream
     * "theirs" reads it to its end, all {@code size} bytes, and the peer's keepalive never failed. The peer's result.
     */
    private GoPeer.StreamResult keptWhileStalledThenReadToEnd(String kept, long size) throws Exception {
        GoPeer peer = connection.peer();
        await(kept).during(STALLED).atMost(STALLED.plusSeconds(5)).until(() -> connection.channel().isActive());
        assertThatThrownBy(() -> peer.awaitLine("SESSION_CLOSED", Duration.ZERO)).isInstanceOf(AssertionError.class);
        RecordingStream theirs = readers.getFirst();
        theirs.stream.config().setAutoRead(true);
        theirs.stream.read();

        GoPeer.StreamResult result = peer.awaitResult("theirs");
        assertThat(result.end()).isEqualTo("eof");
        await("the peer's stream read to its end").atMost(WAIT).until(() -> theirs.eof);
        assertThat(theirs.bytesRead).isEqualTo(size);
        assertThat(peer.stderr()).doesNotContain("keepalive failed");
        return result;
    }
}
