package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Level;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.picotunnel.protocol.buffer.Leaks;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.log.OncePerIntervalLog;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_ACK;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_GO_AWAY;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_PING;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The session's limit on bytes received and not yet read, against a peer that opens streams and fills each one's
 * initial window toward readers that do not read: without the limit each stream may hold 256 KiB whatever the
 * window budget, so {@code --max-streams} streams could hold gigabytes.
 */
class SessionBufferLimitTest {

    private static final int WINDOW = YamuxSpec.INITIAL_STREAM_WINDOW;
    private static final int STREAMS_AT_LIMIT = 4;
    private static final int CHUNK = 64 * 1024;

    private final List<StreamRecorder> streams = new CopyOnWriteArrayList<>();
    /** The clock of the limit on the WARN, which is the process's: each test has its own. */
    private final AtomicLong logClock = new AtomicLong();
    private final OncePerIntervalLog limitLog = YamuxSession.sessionLimitLog(logClock::get);
    private RawPeer peer;

    @AfterEach
    void close() {
        if (peer != null) {
            peer.close();
        }
    }

    /** Readers that do not read, a fixed 256 KiB window (as hashicorp/yamux), room for four full windows. */
    private RawPeer peerWithReadersThatDoNotRead() {
        peer = sessionWithReadersThatDoNotRead();
        peer.session.sessionLimitLog(limitLog);
        return peer;
    }

    /** As {@link #peerWithReadersThatDoNotRead}, its WARN limited with the process's other sessions. */
    private RawPeer sessionWithReadersThatDoNotRead() {
        YamuxConfig config = YamuxConfig.defaults().withWindowAutoTuning(false)
                .withMaxStreamWindow(WINDOW).withKeepAliveInterval(Duration.ZERO)
                .withSessionBufferLimit((long) STREAMS_AT_LIMIT * WINDOW);
        return new RawPeer(YamuxRole.SERVER, config, StreamRecorder.forEachStream(streams,
                ch -> ch.config().setAutoRead(false)));
    }

    /** A window more than the limit, in as many streams: one of them is reset. */
    private static void fillPastTheLimit(RawPeer p) {
        for (int i = 0; i <= STREAMS_AT_LIMIT; i++) {
            open(p, 1 + 2 * i);
            fill(p, 1 + 2 * i, WINDOW);
        }
        assertThat(resetStreams(p)).hasSize(1);
    }

    private static List<String> limitWarnings(LogCapture log) {
        return log.messages(Level.WARN).stream().filter(m -> m.contains("(--session-buffer-limit)")).toList();
    }

    /**
     * As {@link #peerWithReadersThatDoNotRead}, but windows auto-tuned up to four times 256 KiB, the round trip
     * measured (10 ms): a stream whose reader keeps up may grow a window larger than what the stalled ones hold.
     */
    private RawPeer peerWithGrowingWindows() {
        YamuxConfig config = YamuxConfig.defaults().withMaxStreamWindow(STREAMS_AT_LIMIT * WINDOW)
                .withKeepAliveInterval(Duration.ZERO).withSessionBufferLimit((long) STREAMS_AT_LIMIT * WINDOW);
        peer = new RawPeer(YamuxRole.SERVER, config, StreamRecorder.forEachStream(streams,
                ch -> ch.config().setAutoRead(false)));
        YamuxFrame probe = peer.writtenOne();
        assertThat(probe.type()).isEqualTo(TYPE_PING);
        peer.advance(10);
        peer.send(YamuxFrame.ping(FLAG_ACK, probe.length()));
        return peer;
    }

    private static void open(RawPeer p, int streamId) {
        p.send(YamuxFrame.windowUpdate(FLAG_SYN, streamId, 0));
    }

    private static void fill(RawPeer p, int streamId, int bytes) {
        for (int sent = 0; sent < bytes; sent += CHUNK) {
            p.send(YamuxFrame.data(0, streamId, Unpooled.wrappedBuffer(new byte[Math.min(CHUNK, bytes - sent)])));
        }
    }

    /** Sends {@code bytes} of {@code pattern} from {@code offset} on, in frames of 64 KiB, in one read of the session. */
    private static void send(RawPeer p, int streamId, byte[] pattern, int offset, int bytes) {
        List<YamuxFrame> frames = new ArrayList<>();
        for (int sent = 0; sent < bytes; sent += CHUNK) {
            frames.add(YamuxFrame.data(0, streamId,
                    Unpooled.wrappedBuffer(pattern, offset + sent, Math.min(CHUNK, bytes - sent))));
        }
        p.send(frames.toArray(YamuxFrame[]::new));
    }

    /** The reader takes everything its stream holds, a read() at a time (autoRead stays off). */
    private static void readAll(RawPeer p, StreamRecorder reader) {
        YamuxChildChannel stream = (YamuxChildChannel) reader.channel;
        for (int i = 0; i < 1024 && stream.heldBytes() > 0; i++) {
            stream.read();
            p.channel.runPendingTasks();
        }
        assertThat(stream.heldBytes()).isZero();
    }

    private StreamRecorder recorder(int streamId) {
        return streams.stream().filter(r -> r.channel.streamId() == streamId).findFirst().orElseThrow();
    }

    /** The streams reset since the last call; every reset says why: the buffer limit. */
    private static List<Integer> resetStreams(RawPeer p) {
        List<YamuxFrame> frames = p.written();
        assertThat(frames).noneMatch(f -> f.type() == TYPE_GO_AWAY);
        List<YamuxFrame> resets = frames.stream()
                .filter(f -> f.type() == TYPE_WINDOW_UPDATE && (f.flags() & FLAG_RST) != 0).toList();
        assertThat(resets).as("the reason in each RST's length").allSatisfy(f ->
                assertThat(ResetReason.of(f.length())).isEqualTo(ResetReason.BUFFER_LIMIT));
        List<Integer> reset = resets.stream().map(YamuxFrame::streamId).toList();
        frames.forEach(YamuxFrame::release);
        return reset;
    }

    @Test
    void fullWindowsUpToTheLimitAreHeldAndNothingIsReset() {
        RawPeer p = peerWithReadersThatDoNotRead();
        for (int i = 0; i < STREAMS_AT_LIMIT; i++) {
            open(p, 1 + 2 * i);
            fill(p, 1 + 2 * i, WINDOW);
        }
        assertThat(resetStreams(p)).isEmpty();
        assertThat(p.session.inboundHeld()).isEqualTo((long) STREAMS_AT_LIMIT * WINDOW);
        assertThat(streams).allSatisfy(r -> assertThat(r.channel.isOpen()).isTrue());
    }

    @Test
    void aStreamFillingItsWindowPastTheLimitResetsOneOfThoseStalledAsLongHoldingTheMostAndTheSessionLives() {
        RawPeer p = peerWithReadersThatDoNotRead();
        for (int i = 0; i < STREAMS_AT_LIMIT; i++) {
            open(p, 1 + 2 * i);
            fill(p, 1 + 2 * i, WINDOW);
        }
        // Time stands still: all four readers last took data (or began to hold some) at the same moment. Stream 1
        // read a little: it holds the least of the four.
        streams.get(0).channel.read();
        p.channel.runPendingTasks();
        resetStreams(p);
        long heldBefore = p.session.inboundHeld();

        int fifth = 1 + 2 * STREAMS_AT_LIMIT;
        open(p, fifth);
        fill(p, fifth, WINDOW);

        List<Integer> reset = resetStreams(p);
        assertThat(reset).hasSize(1).doesNotContain(1, fifth);
        assertThat(ResetReason.BUFFER_LIMIT.code()).as("docs/protocol.md").isEqualTo(5);
        // The fifth's window in, one full window out.
        assertThat(p.session.inboundHeld()).isEqualTo(heldBefore).isLessThanOrEqualTo((long) STREAMS_AT_LIMIT * WINDOW);
        StreamRecorder resetOne = streams.stream().filter(r -> r.channel.streamId() == reset.get(0)).findFirst()
                .orElseThrow();
        assertThat(resetOne.channel.isOpen()).isFalse();
        assertThat(resetOne.channel.isReset()).isTrue();
        assertThat(resetOne.events).endsWith("inactive");
        assertThat(p.channel.isOpen()).as("the session goes on").isTrue();
        assertThat(p.session.activeStreams()).isEqualTo(STREAMS_AT_LIMIT);
    }

    /** The WARN says how often it comes from the interval that sets it, not in words of its own. */
    @Test
    void theWarningOfAResetSaysItIsLoggedAtMostOncePerTheLogInterval() {
        RawPeer p = peerWithReadersThatDoNotRead();
        for (int i = 0; i < STREAMS_AT_LIMIT; i++) {
            open(p, 1 + 2 * i);
            fill(p, 1 + 2 * i, WINDOW);
        }
        int fifth = 1 + 2 * STREAMS_AT_LIMIT;
        open(p, fifth);
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.WARN)) {
            fill(p, fifth, WINDOW);

            // Before: "...; logged at most once a minute", whatever BUFFER_LIMIT_LOG_INTERVAL was.
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .endsWith(" (--session-buffer-limit); logged at most once per "
                            + Durations.format(YamuxSession.BUFFER_LIMIT_LOG_INTERVAL) + " for all connections");
        }
    }

    @Test
    void connectionsPastTheirLimitsWithinTheIntervalLogOneLineBetweenThemWithTheCountOfTheOthersInTheNext() {
        try (RawPeer first = sessionWithReadersThatDoNotRead(); RawPeer second = sessionWithReadersThatDoNotRead();
                RawPeer third = sessionWithReadersThatDoNotRead();
                LogCapture log = new LogCapture(YamuxSession.class, Level.WARN)) {
            for (RawPeer p : List.of(first, second, third)) {
                p.session.sessionLimitLog(limitLog);
            }
            fillPastTheLimit(first);
            fillPastTheLimit(second);
            assertThat(limitWarnings(log)).singleElement().asString().contains("resetting stream");

            logClock.addAndGet(YamuxSession.BUFFER_LIMIT_LOG_INTERVAL.toNanos());
            fillPastTheLimit(third);
            assertThat(limitWarnings(log)).hasSize(2).last().asString()
                    .contains("(1 more streams reset for it since the last such line)", "for all connections");
        }
    }

    @Test
    void everyConnectionOfTheProcessGoesThroughTheSameLimitForTheSessionLimitWarn() {
        // With the test above (one shared limit: one line for two connections), the process logs one line a minute
        // for all of them. Before: a limit of each connection's own, one line per connection per minute.
        try (RawPeer first = sessionWithReadersThatDoNotRead(); RawPeer second = sessionWithReadersThatDoNotRead()) {
            assertThat(first.session.sessionLimitLog()).isSameAs(second.session.sessionLimitLog());
        }
    }

    @Test
    void theStreamWhoseReaderHasGoneLongestWithoutTakingAnyIsResetNotTheOneHoldingTheMost() {
        RawPeer p = peerWithReadersThatDoNotRead();
        // Stream 1 holds half a window since the start; streams 3, 5 and 7 a whole window, each a second later.
        open(p, 1);
        fill(p, 1, WINDOW / 2);
        for (int i = 1; i < STREAMS_AT_LIMIT; i++) {
            p.advance(1000);
            open(p, 1 + 2 * i);
            fill(p, 1 + 2 * i, WINDOW);
        }
        p.advance(1000);
        open(p, 9);
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.WARN)) {
            fill(p, 9, WINDOW);

            // How long, as other lines write durations: "4 s", not "4000 ms".
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("resetting stream 1, whose reader has taken none of the " + WINDOW / 2
                            + " bytes it holds for 4 s, the longest");
        }

        assertThat(resetStreams(p)).as("half a window over: stream 1, stalled longest, and only it")
                .containsExactly(1);
        assertThat(p.session.inboundHeld()).isEqualTo((long) STREAMS_AT_LIMIT * WINDOW);
    }

    /**
     * Stalled streams each hold a window; a stream whose reader keeps up grew its window and, at the moment the
     * total crosses the limit, holds more than any of them (a burst its reader has not taken yet): a stalled one is
     * reset, the reading one goes on and its bytes arrive exact.
     */
    @Test
    void aReadingStreamHoldingMoreThanTheStalledOnesIsNotTheOneReset() {
        RawPeer p = peerWithGrowingWindows();
        int stalledStreams = STREAMS_AT_LIMIT - 1;
        for (int i = 0; i < stalledStreams; i++) {
            open(p, 1 + 2 * i);
            fill(p, 1 + 2 * i, WINDOW);
        }
        p.advance(1000);

        int reading = 1 + 2 * stalledStreams;
        byte[] pattern = new byte[4 * WINDOW];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i % 251);
        }
        open(p, reading);
        StreamRecorder reader = recorder(reading);
        // Half windows read at once: the window doubles twice, to four times 256 KiB.
        int offset = 0;
        for (int bytes : new int[] {WINDOW / 2, WINDOW / 2, WINDOW}) {
            send(p, reading, pattern, offset, bytes);
            offset += bytes;
            readAll(p, reader);
        }
        assertThat(((YamuxChildChannel) reader.channel).receiveWindow().size()).isEqualTo(4L * WINDOW);
        assertThat(resetStreams(p)).isEmpty();

        // Two windows at once before the reader gets to them: the limit is crossed with the reading stream
        // holding 320 KiB, more than any stalled one.
        send(p, reading, pattern, offset, 2 * WINDOW);
        offset += 2 * WINDOW;
        List<Integer> reset = resetStreams(p);
        assertThat(reset).hasSize(1).doesNotContain(reading);
        assertThat(recorder(reset.get(0)).channel.isReset()).isTrue();

        readAll(p, reader);
        assertThat(reader.channel.isOpen()).isTrue();
        assertThat(reader.channel.isReset()).isFalse();
        assertThat(reader.bytes()).isEqualTo(Arrays.copyOf(pattern, offset));
        assertThat(resetStreams(p)).isEmpty();
        assertThat(p.channel.isOpen()).as("the session goes on").isTrue();
    }

    /**
     * Our side half-closed two streams and the peer sent a window and FIN on each: they ended on the wire while
     * their readers have not taken what they hold. They are still the limit's to reset, the one stalled longest
     * first, not a stream still receiving.
     */
    @Test
    void aStreamEndedOnTheWireWhoseReaderStalledLongestIsResetNotTheOneStillReceiving() {
        UnpooledByteBufAllocator copies = Leaks.countingAllocator();
        YamuxConfig config = YamuxConfig.defaults().withWindowAutoTuning(false).withMaxStreamWindow(WINDOW)
                .withKeepAliveInterval(Duration.ZERO).withSessionBufferLimit(2L * WINDOW);
        RawPeer p = new RawPeer(YamuxRole.SERVER, config, StreamRecorder.forEachStream(streams, ch -> {
            ch.config().setAutoRead(false);
            ch.config().setAllocator(copies);
        }));
        p.session.heapCopyAllocator(copies);
        peer = p;
        for (int id : new int[] {1, 3}) {
            open(p, id);
            recorder(id).channel.shutdownOutput();
            fill(p, id, WINDOW - CHUNK);
            p.send(YamuxFrame.data(FLAG_FIN, id, Unpooled.wrappedBuffer(new byte[CHUNK])));
            p.advance(1000);
        }
        assertThat(p.session.activeStreams()).as("both ended on the wire").isZero();
        assertThat(p.session.inboundHeld()).isEqualTo(2L * WINDOW);
        assertThat(resetStreams(p)).isEmpty();

        open(p, 5);
        fill(p, 5, WINDOW);

        assertThat(recorder(1).channel.isOpen()).isFalse();
        assertThat(recorder(1).channel.isReset()).as("its reader is told data was lost").isTrue();
        assertThat(recorder(1).events).doesNotContain("eof").endsWith("inactive");
        assertThat(recorder(3).channel.isOpen()).isTrue();
        assertThat(recorder(5).channel.isReset()).isFalse();
        assertThat(resetStreams(p)).as("no RST for a stream that ended on the wire").isEmpty();
        assertThat(p.session.inboundHeld()).isEqualTo(2L * WINDOW);

        // The session ends: stream 3, ended on the wire, keeps its bytes for its reader, which never takes them, so
        // the stalled reader timeout gives them back.
        p.loseConnection();
        assertThat(recorder(3).channel.isOpen()).as("its data is complete and stays its reader's for now").isTrue();
        assertThat(copies.metric().usedDirectMemory() + copies.metric().usedHeapMemory()).isEqualTo(WINDOW);
        p.advance(config.stalledReaderTimeout().toMillis());
        assertThat(recorder(3).channel.isReset()).isTrue();
        assertThat(p.session.inboundHeld()).isZero();
        Leaks.assertAllReleased(copies, "the copies the streams held for their readers");
    }

    /**
     * A stream's handler takes the last bytes of a frame that also carries the peer's FIN, ends its own side at once
     * and holds the bytes, with more, for later (countHeld, as TargetDialer's hold counts): the stream ended on the
     * wire holding nothing, then held more than any other, and the limit, crossed by that frame, must see it there.
     * Time stands still: both readers took data last at the same moment, so the one holding the most goes.
     */
    @Test
    void aStreamThatBeginsToHoldAfterItEndedOnTheWireIsStillTheLimitsToReset() {
        long handlerHolds = WINDOW + CHUNK;
        RawPeer p = new RawPeer(YamuxRole.SERVER, YamuxConfig.defaults().withWindowAutoTuning(false)
                .withMaxStreamWindow(WINDOW).withKeepAliveInterval(Duration.ZERO)
                .withSessionBufferLimit(2L * WINDOW), StreamRecorder.forEachStream(streams, ch -> {
                    YamuxStreamChannel stream = (YamuxStreamChannel) ch;
                    if (stream.streamId() != 1) {
                        ch.config().setAutoRead(false);
                        return;
                    }
                    ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ReferenceCountUtil.release(msg);
                            stream.shutdownOutput();
                            stream.countHeld(handlerHolds);
                        }
                    });
                }));
        peer = p;
        open(p, 3);
        fill(p, 3, WINDOW);
        open(p, 1);
        assertThat(resetStreams(p)).isEmpty();

        p.send(YamuxFrame.data(FLAG_FIN, 1, Unpooled.wrappedBuffer(new byte[CHUNK])));

        assertThat(recorder(1).channel.isReset()).as("the stream holding the most, ended on the wire").isTrue();
        assertThat(recorder(3).channel.isReset()).isFalse();
        assertThat(recorder(3).channel.isOpen()).isTrue();
        assertThat(resetStreams(p)).as("no RST for a stream that ended on the wire").isEmpty();
        assertThat(p.session.inboundHeld()).isEqualTo(WINDOW);
    }

    /**
     * An operator's --session-buffer-limit below --max-stream-window: windows grow to half the limit at most, so a
     * stream whose reader keeps up, holding a whole window before its reader gets to it, is not reset by the limit
     * (with a 16 MiB window under a 1 MiB limit, it was, alone, once its window passed 1 MiB).
     */
    @Test
    void aFastStreamAloneIsNotResetWhenTheLimitIsBelowTheLargestWindow() {
        YamuxConfig config = SessionLimits.parse("16MiB", null, null, "1MiB").yamux()
                .withKeepAliveInterval(Duration.ZERO);
        peer = new RawPeer(YamuxRole.SERVER, config, StreamRecorder.forEachStream(streams,
                ch -> ch.config().setAutoRead(false)));
        RawPeer p = peer;
        YamuxFrame probe = p.writtenOne();
        assertThat(probe.type()).isEqualTo(TYPE_PING);
        p.advance(10);
        p.send(YamuxFrame.ping(FLAG_ACK, probe.length()));
        open(p, 1);
        StreamRecorder reader = recorder(1);
        ReceiveWindow window = ((YamuxChildChannel) reader.channel).receiveWindow();

        // Whole windows, each read at once: the window grows as far as it may; then one more whole window.
        long sent = 0;
        long before = -1;
        for (int i = 0; i < 16 && window.size() != before; i++) {
            before = window.size();
            int credit = (int) window.window();
            fill(p, 1, credit);
            sent += credit;
            assertThat(resetStreams(p)).as("a whole window of %d bytes held", credit).isEmpty();
            readAll(p, reader);
        }
        assertThat(window.size()).as("the window stops at half the limit").isEqualTo(512 * 1024);

        assertThat(reader.channel.isReset()).isFalse();
        assertThat(reader.bytesRead.get()).isEqualTo(sent);
        assertThat(p.session.inboundHeld()).isZero();
    }

    @Test
    void bytesTheReadersTakeNoLongerCount() {
        RawPeer p = peerWithReadersThatDoNotRead();
        for (int i = 0; i < STREAMS_AT_LIMIT; i++) {
            open(p, 1 + 2 * i);
            fill(p, 1 + 2 * i, WINDOW);
        }
        streams.forEach(r -> r.channel.config().setAutoRead(true));
        p.channel.runPendingTasks();
        assertThat(p.session.inboundHeld()).isZero();
        assertThat(streams).allSatisfy(r -> assertThat(r.bytesRead.get()).isEqualTo(WINDOW));

        // The credit they returned lets every stream be filled once more without a reset.
        streams.forEach(r -> r.channel.config().setAutoRead(false));
        for (int i = 0; i < STREAMS_AT_LIMIT; i++) {
            fill(p, 1 + 2 * i, WINDOW);
        }
        assertThat(resetStreams(p)).isEmpty();
        long read = streams.stream().mapToLong(r -> r.bytesRead.get()).sum();
        assertThat(p.session.inboundHeld()).isEqualTo(2L * STREAMS_AT_LIMIT * WINDOW - read);
    }

    @Test
    void aStreamClosedByItsReaderGivesBackWhatItHeld() {
        RawPeer p = peerWithReadersThatDoNotRead();
        open(p, 1);
        fill(p, 1, WINDOW);
        streams.get(0).channel.close();
        p.channel.runPendingTasks();
        assertThat(p.session.inboundHeld()).isZero();
    }

    @Test
    void aLimitBelowOneWindowIsRefused() {
        assertThatThrownBy(() -> YamuxConfig.defaults().withSessionBufferLimit(WINDOW - 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sessionBufferLimit");
    }
}
