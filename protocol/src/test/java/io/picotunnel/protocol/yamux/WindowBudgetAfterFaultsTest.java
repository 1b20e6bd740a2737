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
import java.util.HashMap;
import java.util.Map;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_ACK;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The session's {@link WindowBudget} comes back to exactly 0 however its grown streams end: reset by the peer, reset
 * by the buffer limit, the session closed under them, an error GoAway, a normal GoAway and then FIN both ways, and a
 * stream that ended on the wire whose reader takes its last window only afterwards. A budget that leaks a little at
 * each such end leaves a long-lived session (a tunnel stays up for weeks) with no growth for any stream.
 */
class WindowBudgetAfterFaultsTest {

    private static final int INITIAL = YamuxConfig.INITIAL_STREAM_WINDOW;
    private static final int HALF = INITIAL / 2;
    private static final long RTT_MILLIS = 10;

    private RawPeer peer;
    /** Streams opened from now on start with a reader that reads nothing (auto-read off from the start). */
    private boolean stalledReaders;
    private final Map<Integer, YamuxStreamChannel> streams = new HashMap<>();

    @AfterEach
    void tearDown() {
        if (peer != null) {
            peer.close();
        }
    }

    private void connect(long bufferLimit) {
        YamuxConfig config = YamuxConfig.defaults().withKeepAliveInterval(Duration.ZERO)
                .withMaxStreamWindow(4 * INITIAL).withSessionBufferLimit(bufferLimit);
        peer = new RawPeer(YamuxRole.CLIENT, config, new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                YamuxStreamChannel stream = (YamuxStreamChannel) ch;
                streams.put(stream.streamId(), stream);
                ch.config().setAutoRead(!stalledReaders);
                ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ((ByteBuf) msg).release();
                    }
                });
            }
        });
        YamuxFrame probe = peer.writtenOne();
        peer.advance(RTT_MILLIS);
        peer.send(YamuxFrame.ping(FLAG_ACK, probe.length()));
        probe.release();
    }

    private long budgetInUse() {
        return peer.session.windowBudget().granted();
    }

    /** Opens {@code id} and has its reader take two half windows at once: the window doubles, 256 KiB of budget. */
    private void openGrown(int id) {
        long before = budgetInUse();
        peer.send(YamuxFrame.windowUpdate(FLAG_SYN, id, 0));
        sendData(id, 0, HALF);
        sendData(id, 0, HALF);
        assertThat(budgetInUse()).as("stream %d grew its window", id).isEqualTo(before + INITIAL);
    }

    private void sendData(int id, int flags, int bytes) {
        peer.send(YamuxFrame.data(flags, id, Unpooled.wrappedBuffer(new byte[bytes])));
        peer.written().forEach(YamuxFrame::release);
    }

    @Test
    void streamsResetByThePeerGiveTheirGrowthBack() {
        connect(YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT);
        openGrown(2);
        openGrown(4);
        peer.send(YamuxFrame.windowUpdate(FLAG_RST, 2, 0));
        peer.send(YamuxFrame.data(FLAG_RST, 4, Unpooled.EMPTY_BUFFER));
        peer.written().forEach(YamuxFrame::release);

        assertThat(streams.get(2).isReset()).isTrue();
        assertThat(streams.get(4).isReset()).isTrue();
        assertThat(budgetInUse()).isZero();
    }

    @Test
    void streamsResetByTheBufferLimitGiveTheirGrowthBack() {
        connect(2L * INITIAL - 2);
        openGrown(2);
        openGrown(4);
        for (int id : new int[] {2, 4}) {
            streams.get(id).config().setAutoRead(false);
            // The read the reader asked for before it stalled takes one byte.
            sendData(id, 0, 1);
            // The rest of its doubled window, held, is one byte over the limit.
            sendData(id, 0, 2 * INITIAL - 1);
            assertThat(streams.get(id).isReset()).as("stream %d", id).isTrue();
        }

        assertThat(peer.session.inboundHeld()).isZero();
        assertThat(budgetInUse()).isZero();
    }

    @Test
    void theSessionClosedUnderGrownStreamsGivesTheirGrowthBack() {
        connect(YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT);
        openGrown(2);
        openGrown(4);
        streams.get(4).config().setAutoRead(false);
        sendData(4, 0, INITIAL);

        peer.channel.close();
        peer.channel.runPendingTasks();

        assertThat(streams.get(2).isReset()).isTrue();
        assertThat(streams.get(4).isReset()).isTrue();
        assertThat(budgetInUse()).isZero();
    }

    @Test
    void anErrorGoAwayGivesTheGrowthOfEveryStreamBack() {
        connect(YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT);
        openGrown(2);
        openGrown(4);

        peer.send(YamuxFrame.goAway(GoAwayCode.INTERNAL_ERROR));
        peer.written().forEach(YamuxFrame::release);

        assertThat(streams.get(2).isReset()).isTrue();
        assertThat(budgetInUse()).isZero();
    }

    @Test
    void aNormalGoAwayAndThenTheStreamsEndingGiveTheirGrowthBack() {
        connect(YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT);
        openGrown(2);
        openGrown(4);
        peer.send(YamuxFrame.goAway(GoAwayCode.NORMAL));
        assertThat(budgetInUse()).as("open streams go on after a normal GoAway").isEqualTo(2L * INITIAL);

        for (int id : new int[] {2, 4}) {
            sendData(id, FLAG_FIN, 0);
            streams.get(id).close();
        }
        peer.written().forEach(YamuxFrame::release);

        assertThat(peer.session.activeStreams()).isZero();
        assertThat(budgetInUse()).isZero();
    }

    /**
     * The stream ends on the wire (the peer's data and FIN, then ours) while its reader has taken none of its last
     * window; the reader takes it afterwards, two half windows at once. The window must not grow then: the peer
     * sends nothing more, and the stream has already given its growth back, so the budget would keep it for good.
     */
    @Test
    void aStreamThatEndedOnTheWireBeforeItsReaderTookItsDataTakesNoBudget() {
        connect(YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT);
        stalledReaders = true;
        peer.send(YamuxFrame.windowUpdate(FLAG_SYN, 2, 0));
        YamuxStreamChannel stream = streams.get(2);
        sendData(2, 0, HALF);
        sendData(2, FLAG_FIN, HALF);
        stream.shutdownOutput();
        peer.written().forEach(YamuxFrame::release);
        assertThat(peer.session.activeStreams()).as("ended both ways on the wire").isZero();
        assertThat(peer.session.inboundHeld()).isEqualTo(INITIAL);

        stream.config().setAutoRead(true);
        peer.channel.runPendingTasks();

        assertThat(peer.session.inboundHeld()).isZero();
        assertThat(stream.isInputShutdown()).isTrue();
        assertThat(budgetInUse()).isZero();
    }
}
