package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Level;
import io.netty.buffer.Unpooled;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The timer that bounds a stream left open by its ended session (the reader's bytes are reset after the stalled
 * reader timeout without progress) runs only while the stream holds something: a leftover stream that holds nothing
 * leaves nothing scheduled, however long it stays open, and is watched again once a handler holds bytes (countHeld). A
 * reset that drops a reader's bytes this way is logged at WARN. Simulated time ({@link RawPeer}).
 */
class ReaderCheckAfterSessionEndTest {

    private static final long TIMEOUT_MILLIS = YamuxConfig.defaults().stalledReaderTimeout().toMillis();

    private final List<StreamRecorder> streams = new CopyOnWriteArrayList<>();
    private RawPeer peer;

    @AfterEach
    void close() {
        if (peer != null) {
            peer.close();
        }
    }

    @Test
    void aLeftoverStreamResetWithItsReadersBytesIsLoggedOnceAtWarn() {
        YamuxStreamChannel stream = leftoverStreamHolding(5);
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.INFO)) {
            peer.channel.pipeline().fireChannelInactive();
            peer.channel.runPendingTasks();
            peer.advance(TIMEOUT_MILLIS);
            assertThat(stream.isReset()).isTrue();
            peer.advance(10 * TIMEOUT_MILLIS);

            assertThat(log.messages(Level.WARN)).filteredOn(m -> m.contains("stream 1,")).singleElement()
                    .asString().contains("took none of the 5 bytes the stream still held within 30 s", "dropped");
        }
    }

    @Test
    void aLeftoverStreamHoldingNothingLeavesNoTimerAndIsWatchedAgainWhenAHandlerHoldsBytes() {
        YamuxStreamChannel stream = leftoverStreamHolding(5);
        // A handler gives back more than it counted: the stream holds nothing by the count, still open. (The only
        // way to 0 while open: a stream ended both ways closes once its reader has taken its queue.)
        stream.countHeld(-5);
        assertThat(peer.session.inboundHeld()).isZero();

        // The session ends.
        peer.channel.pipeline().fireChannelInactive();
        peer.channel.runPendingTasks();
        peer.advance(TIMEOUT_MILLIS);
        assertThat(stream.isOpen()).as("nothing to lose, not reset").isTrue();
        assertThat(peer.channel.runScheduledPendingTasks()).as("the next scheduled task, in ns (-1: none)")
                .isEqualTo(-1);
        peer.advance(10 * TIMEOUT_MILLIS);
        assertThat(stream.isOpen()).isTrue();

        // A handler holds bytes again: from then on its reader has the stalled reader timeout to take some.
        stream.countHeld(1000);
        assertThat(peer.session.inboundHeld()).isEqualTo(1000);
        peer.advance(TIMEOUT_MILLIS - 1);
        assertThat(stream.isOpen()).isTrue();
        peer.advance(1);
        assertThat(stream.isOpen()).as("reset once the reader took none of it for the timeout").isFalse();
        assertThat(stream.isReset()).isTrue();
        assertThat(peer.session.inboundHeld()).isZero();
    }

    /**
     * The peer's data and FIN, our FIN: stream 1 has ended both ways on the wire, holding {@code bytes} for a reader
     * that reads nothing.
     */
    private YamuxStreamChannel leftoverStreamHolding(int bytes) {
        peer = new RawPeer(YamuxRole.SERVER, YamuxConfig.defaults().withKeepAliveInterval(Duration.ZERO),
                StreamRecorder.forEachStream(streams, ch -> ch.config().setAutoRead(false)));
        peer.send(YamuxFrame.data(FLAG_SYN, 1, Unpooled.wrappedBuffer(new byte[bytes])));
        peer.send(YamuxFrame.data(FLAG_FIN, 1, Unpooled.EMPTY_BUFFER));
        YamuxStreamChannel stream = streams.get(0).channel;
        stream.shutdownOutput();
        peer.written().forEach(YamuxFrame::release);
        assertThat(peer.session.activeStreams()).isZero();
        assertThat(peer.session.inboundHeld()).isEqualTo(bytes);
        return stream;
    }
}
