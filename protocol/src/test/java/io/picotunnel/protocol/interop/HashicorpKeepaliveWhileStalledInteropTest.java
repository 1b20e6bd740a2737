package io.picotunnel.protocol.interop;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxStreamChannel;
import io.picotunnel.testkit.GoPeer;
import org.junit.jupiter.api.AfterEach;
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
 * hashicorp/yamux with keepalive every 100 ms and a ConnectionWriteTimeout of 500 ms, which also bounds its wait
 * for each ping's answer, while both directions are stalled by backpressure: our reader takes nothing of the
 * peer's stream, and the peer holds ours without reading. The keepalive pings must still be answered in time, so
 * the peer keeps the session; once our reader reads, everything arrives.
 */
class HashicorpKeepaliveWhileStalledInteropTest {

    private static final long PEER_SENDS = 4L * 1024 * 1024;
    private static final Duration STALLED = Duration.ofSeconds(3);
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<RecordingStream> readers = new CopyOnWriteArrayList<>();
    private GoPeerConnection connection;

    @AfterEach
    void tearDown() {
        if (connection != null) {
            connection.close();
        }
    }

    @ParameterizedTest
    @EnumSource(YamuxRole.class)
    void hashicorpsKeepaliveIsAnsweredInTimeWhileBothDirectionsAreStalled(YamuxRole ours) throws Exception {
        connection = GoPeerConnection.open(ours, "keepalive", RecordingStream.eachInto(readers,
                () -> new RecordingStream(false)), "-keepalive", "100ms", "-write-timeout", "500ms");
        GoPeer peer = connection.peer();
        peer.send("OPEN theirs " + PEER_SENDS + " - send");
        await("the peer's stream open").atMost(WAIT).until(() -> readers.size() == 1);
        YamuxStreamChannel held = connection.session().openStream(new ChannelInboundHandlerAdapter())
                .get(10, TimeUnit.SECONDS);
        held.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'h'}));
        held.writeAndFlush(Unpooled.wrappedBuffer(new byte[(int) PEER_SENDS]));
        await("our writes stalled at the peer's window").atMost(WAIT).until(() -> !held.isWritable());

        await("the session kept while stalled").during(STALLED).atMost(STALLED.plusSeconds(5))
                .until(() -> connection.channel().isActive());
        assertThatThrownBy(() -> peer.awaitLine("SESSION_CLOSED", Duration.ZERO)).isInstanceOf(AssertionError.class);
        RecordingStream theirs = readers.getFirst();
        theirs.stream.config().setAutoRead(true);
        theirs.stream.read();

        GoPeer.StreamResult result = peer.awaitResult("theirs");
        assertThat(result.end()).isEqualTo("eof");
        await("the peer's stream read to its end").atMost(WAIT).until(() -> theirs.eof);
        assertThat(theirs.bytesRead).isEqualTo(PEER_SENDS);
        assertThat(peer.stderr()).doesNotContain("keepalive failed");
    }
}
