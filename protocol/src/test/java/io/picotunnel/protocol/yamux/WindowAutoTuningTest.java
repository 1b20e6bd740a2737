package io.picotunnel.protocol.yamux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_ACK;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_PING;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Receive-window auto-tuning, frame by frame on a simulated clock: the test plays the peer (the yamux server),
 * answers the session's round-trip probe after 10 ms, then sends data that a reader consumes at once.
 */
class WindowAutoTuningTest {

    private static final int INITIAL = YamuxConfig.INITIAL_STREAM_WINDOW;
    private static final int HALF = INITIAL / 2;
    private static final int CAP = 4 * INITIAL;
    private static final long RTT_MILLIS = 10;

    private RawPeer peer;
    private final List<YamuxStreamChannel> streams = new ArrayList<>();

    @AfterEach
    void tearDown() {
        if (peer != null) {
            peer.close();
        }
    }

    private RawPeer connect(long budget) {
        YamuxConfig config = YamuxConfig.defaults().withKeepAliveInterval(Duration.ZERO).withMaxStreamWindow(CAP)
                .withSessionWindowBudget(budget);
        peer = new RawPeer(YamuxRole.CLIENT, config, new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                streams.add((YamuxStreamChannel) ch);
                ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ((ByteBuf) msg).release();
                    }
                });
            }
        });
        YamuxFrame probe = peer.writtenOne();
        assertThat(probe.type()).as("a round-trip probe when the session starts").isEqualTo(TYPE_PING);
        assertThat(probe.hasFlag(FLAG_SYN)).isTrue();
        peer.advance(RTT_MILLIS);
        peer.send(YamuxFrame.ping(FLAG_ACK, probe.length()));
        assertThat(peer.session.roundTripTime()).isEqualTo(Duration.ofMillis(RTT_MILLIS));
        return peer;
    }

    private void open(int streamId) {
        peer.send(YamuxFrame.windowUpdate(FLAG_SYN, streamId, 0));
        YamuxFrame ack = peer.writtenOne();
        assertThat(ack.hasFlag(FLAG_ACK)).isTrue();
        assertThat(ack.length()).as("no extra window announced up front").isZero();
    }

    /** Sends {@code bytes} of data on the stream and returns the credits (WindowUpdate deltas) it sent back. */
    private List<Long> sendAndCollectCredit(int streamId, int bytes) {
        peer.send(YamuxFrame.data(0, streamId, Unpooled.wrappedBuffer(new byte[bytes])));
        List<Long> credits = new ArrayList<>();
        for (YamuxFrame f : peer.written()) {
            if (f.type() == TYPE_WINDOW_UPDATE && f.streamId() == streamId) {
                credits.add(f.length());
            }
            f.release();
        }
        return credits;
    }

    @Test
    void windowDoublesUpToTheCapWhileHalfOfItIsConsumedWithinTwoRoundTrips() {
        connect(YamuxConfig.DEFAULT_SESSION_WINDOW_BUDGET);
        open(2);
        assertThat(sendAndCollectCredit(2, HALF)).as("the first credit has nothing to compare with").containsExactly((long) HALF);
        assertThat(sendAndCollectCredit(2, HALF)).as("half a window again at once: double to 512 KiB")
                .containsExactly((long) HALF + INITIAL);
        assertThat(sendAndCollectCredit(2, INITIAL)).as("half of 512 KiB at once: double to the 1 MiB cap")
                .containsExactly((long) INITIAL + 2 * INITIAL);
        assertThat(sendAndCollectCredit(2, 2 * INITIAL)).as("the cap is reached").containsExactly(2L * INITIAL);
        // The peer may now have the whole capped window in flight at once.
        assertThat(sendAndCollectCredit(2, CAP)).containsExactly((long) CAP);
    }

    @Test
    void windowStaysWhenTheReaderTakesLongerThanTwoRoundTrips() {
        connect(YamuxConfig.DEFAULT_SESSION_WINDOW_BUDGET);
        open(2);
        for (int i = 0; i < 4; i++) {
            assertThat(sendAndCollectCredit(2, HALF)).containsExactly((long) HALF);
            peer.advance(3 * RTT_MILLIS);
        }
    }

    @Test
    void growthStopsAtTheSessionBudgetAndComesBackWhenAStreamEnds() {
        connect(INITIAL);
        open(2);
        open(4);
        sendAndCollectCredit(2, HALF);
        assertThat(sendAndCollectCredit(2, HALF)).as("stream 2 takes the whole budget")
                .containsExactly((long) HALF + INITIAL);
        sendAndCollectCredit(4, HALF);
        assertThat(sendAndCollectCredit(4, HALF)).as("nothing left for stream 4").containsExactly((long) HALF);

        // Stream 2 ends (FIN both ways): its growth returns to the budget and stream 4 may grow.
        peer.send(YamuxFrame.windowUpdate(FLAG_FIN, 2, 0));
        peer.written().forEach(YamuxFrame::release);
        closeStream(2);
        assertThat(sendAndCollectCredit(4, HALF)).containsExactly((long) HALF + INITIAL);
    }

    private void closeStream(int streamId) {
        // Our side closes too; with both FINs exchanged the stream is gone from the session.
        int before = peer.session.activeStreams();
        streams.stream().filter(s -> s.streamId() == streamId).findFirst().orElseThrow().close();
        peer.channel.runPendingTasks();
        peer.written().forEach(YamuxFrame::release);
        assertThat(peer.session.activeStreams()).isEqualTo(before - 1);
    }
}
