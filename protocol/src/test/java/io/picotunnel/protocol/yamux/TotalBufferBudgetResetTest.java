package io.picotunnel.protocol.yamux;

import ch.qos.logback.classic.Level;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.EventExecutor;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sessions on embedded channels, each its own event loop, sharing one {@link TotalBufferBudget}: a peer fills fixed
 * 256 KiB windows toward readers that do not read. A reset one session asks of another waits as a task of the other's
 * loop until the test runs it, as it would on a busy loop.
 */
class TotalBufferBudgetResetTest {

    private static final int WINDOW = YamuxSpec.INITIAL_STREAM_WINDOW;
    private static final int CHUNK = 64 * 1024;

    private final AtomicLong clock = new AtomicLong();
    /** Run once, in the instant the next pending reset ends (still pending): frames the test places there. */
    private final AtomicReference<Runnable> asNextResetEnds = new AtomicReference<>();
    private final List<RawPeer> peers = new ArrayList<>();

    @AfterEach
    void close() {
        peers.forEach(RawPeer::close);
    }

    private record Peer(RawPeer raw, List<StreamRecorder> streams) {

        void open(int streamId) {
            raw.send(YamuxFrame.windowUpdate(FLAG_SYN, streamId, 0));
        }

        void fill(int streamId, int bytes) {
            for (int sent = 0; sent < bytes; sent += CHUNK) {
                raw.send(YamuxFrame.data(0, streamId, Unpooled.wrappedBuffer(new byte[Math.min(CHUNK, bytes - sent)])));
            }
        }

        /** Runs what other sessions asked of this one's loop. */
        void runAsked() {
            raw.channel.runPendingTasks();
        }

        long held() {
            return raw.session.inboundHeld();
        }

        /** The streams reset since the last call, each for holding too much. */
        List<Integer> reset() {
            List<YamuxFrame> frames = raw.written();
            List<YamuxFrame> resets = frames.stream()
                    .filter(f -> f.type() == TYPE_WINDOW_UPDATE && (f.flags() & FLAG_RST) != 0).toList();
            assertThat(resets).allSatisfy(f ->
                    assertThat(ResetReason.of(f.length())).isEqualTo(ResetReason.BUFFER_LIMIT));
            List<Integer> ids = resets.stream().map(YamuxFrame::streamId).toList();
            frames.forEach(YamuxFrame::release);
            return ids;
        }
    }

    private TotalBufferBudget budget(long limit) {
        return budget(limit, clock::get);
    }

    /** With {@code nanoTime} read for the WARN of each reset. */
    private TotalBufferBudget budget(long limit, LongSupplier nanoTime) {
        return new TotalBufferBudget(limit, nanoTime, () -> {
            Runnable once = asNextResetEnds.getAndSet(null);
            if (once != null) {
                once.run();
            }
        });
    }

    /** Readers that do not read, a fixed window, {@code sessionLimit} for the session on its own. */
    private Peer peer(TotalBufferBudget budget, long sessionLimit) {
        return peer(budget, sessionLimit, null);
    }

    private Peer peer(TotalBufferBudget budget, long sessionLimit, Function<EventExecutor, EventExecutor> executor) {
        List<StreamRecorder> streams = new CopyOnWriteArrayList<>();
        YamuxConfig config = YamuxConfig.defaults().withWindowAutoTuning(false).withMaxStreamWindow(WINDOW)
                .withKeepAliveInterval(Duration.ZERO).withSessionBufferLimit(sessionLimit)
                .withTotalBufferBudget(budget);
        RawPeer raw = new RawPeer(YamuxRole.SERVER, config,
                StreamRecorder.forEachStream(streams, ch -> ch.config().setAutoRead(false)), executor);
        peers.add(raw);
        raw.written().forEach(YamuxFrame::release);
        return new Peer(raw, streams);
    }

    /** A session on {@code loop}, which the test watches (and may have refuse a task). */
    private Peer peerOn(TotalBufferBudget budget, AtomicReference<FailingOnceExecutor> loop) {
        return peer(budget, 8L * WINDOW, eventLoop -> {
            loop.set(new FailingOnceExecutor(eventLoop));
            return loop.get();
        });
    }

    /** A session holding three whole windows, on {@code loop}, which the test watches. */
    private Peer holdingThreeWindows(TotalBufferBudget budget, AtomicReference<FailingOnceExecutor> loop) {
        Peer full = peerOn(budget, loop);
        for (int id = 1; id <= 5; id += 2) {
            full.open(id);
            full.fill(id, WINDOW);
        }
        return full;
    }

    /**
     * As the next reset ends, {@code peer} opens streams {@code firstId} to 5 and fills their windows: the count it
     * returns is then what {@code loop} (the peer's) had queued.
     */
    private AtomicInteger fillingWindowsAsNextResetEnds(Peer peer, int firstId, FailingOnceExecutor loop) {
        AtomicInteger queued = new AtomicInteger();
        asNextResetEnds.set(() -> {
            for (int id = firstId; id <= 5; id += 2) {
                peer.open(id);
                peer.fill(id, WINDOW);
            }
            queued.set(loop.queued());
        });
        return queued;
    }

    /** A new session's frame takes the total over; {@code refuse} has {@code fullLoop} refuse the reset it asks. */
    private Peer overWithItsResetRefused(TotalBufferBudget budget, FailingOnceExecutor fullLoop,
            Consumer<FailingOnceExecutor> refuse) {
        Peer other = peer(budget, 8L * WINDOW);
        other.open(1);
        refuse.accept(fullLoop);
        other.fill(1, CHUNK);
        assertThat(fullLoop.failed()).as("the reset's task was refused").isTrue();
        return other;
    }

    private static List<String> totalWarnings(LogCapture log) {
        return log.messages(Level.WARN).stream().filter(m -> m.contains("(--total-buffer-limit)")).toList();
    }

    @Test
    void framesOverTheTotalWhileAResetIsPendingAskNoMoreAndAFrameOverAfterItStartsTheNext() {
        TotalBufferBudget budget = budget(3L * WINDOW);
        AtomicReference<FailingOnceExecutor> fullLoop = new AtomicReference<>();
        Peer full = holdingThreeWindows(budget, fullLoop);
        Peer other = peer(budget, 8L * WINDOW);
        int queued = fullLoop.get().queued();

        other.open(1);
        other.fill(1, WINDOW); // four frames over the total, the reset they ask of the other loop not run yet
        assertThat(fullLoop.get().queued() - queued).as("one reset asked, pending for the four").isEqualTo(1);
        assertThat(full.held()).isEqualTo(3L * WINDOW);

        full.runAsked();
        assertThat(full.reset()).hasSize(1);
        assertThat(budget.held()).isEqualTo(3L * WINDOW);
        queued = fullLoop.get().queued();

        other.open(3);
        other.fill(3, CHUNK);
        assertThat(fullLoop.get().queued() - queued).as("the next frame over asks the next reset").isEqualTo(1);
        full.runAsked();
        assertThat(full.reset()).hasSize(1);
        assertThat(other.reset()).isEmpty();
    }

    @Test
    void framesThatTakeTheTotalOverAsAResetEndsHaveTheNextStartedWithoutAnyOtherFrame() {
        TotalBufferBudget budget = budget(3L * WINDOW);
        Peer full = holdingThreeWindows(budget, new AtomicReference<>());
        Peer other = peer(budget, 8L * WINDOW);
        other.open(1);
        other.fill(1, CHUNK); // over: a reset asked of the full session's loop
        // Its reset found the total within; in the instant before it ends, frames on the other loop take it over
        // again and leave it to that reset, still pending. No frame comes after them: every reader has stopped.
        asNextResetEnds.set(() -> {
            other.open(3);
            other.fill(3, WINDOW);
        });
        full.runAsked();
        other.runAsked();

        // Before: one stream reset, the total left over (three windows and a chunk) for good.
        assertThat(full.reset()).as("the reset, and the next, started as the first ended").hasSize(2);
        assertThat(other.reset()).isEmpty();
        assertThat(budget.held()).isEqualTo(2L * WINDOW + CHUNK).isLessThanOrEqualTo(budget.limit());
    }

    @Test
    void theResetStartedAsOneEndsIsATaskOfTheLoopOfTheSessionHoldingTheMostNotOfTheLoopItEndsOn() {
        TotalBufferBudget budget = budget(3L * WINDOW);
        Peer full = holdingThreeWindows(budget, new AtomicReference<>());
        AtomicReference<FailingOnceExecutor> otherLoop = new AtomicReference<>();
        Peer other = peerOn(budget, otherLoop);
        other.open(1);
        other.fill(1, CHUNK); // over: a reset asked of the full session's loop
        // As that reset ends, the other session's frames make it the one holding the most, over the total again.
        AtomicInteger queued = fillingWindowsAsNextResetEnds(other, 3, otherLoop.get());
        full.runAsked();
        assertThat(other.held()).as("nothing reset on the full session's loop").isEqualTo(2L * WINDOW + CHUNK);
        assertThat(otherLoop.get().queued() - queued.get()).as("the next reset, a task of the other's loop").isEqualTo(1);
        assertThat(budget.over()).isTrue();

        other.runAsked();
        assertThat(other.reset()).as("paid first by the session holding the most").isNotEmpty();
        full.runAsked();
        assertThat(budget.held()).isLessThanOrEqualTo(budget.limit());
    }

    @Test
    void aResetWhoseTaskCouldNotBeQueuedEndsSoTheNextFrameOverStartsAnother() {
        TotalBufferBudget budget = budget(3L * WINDOW);
        AtomicReference<FailingOnceExecutor> fullLoop = new AtomicReference<>();
        Peer full = holdingThreeWindows(budget, fullLoop);
        // The error goes down the pipeline of the session whose frame went over, which closes.
        overWithItsResetRefused(budget, fullLoop.get(), loop -> loop.failNext(new OutOfMemoryError("test: no memory")));

        Peer third = peer(budget, 8L * WINDOW);
        third.open(1);
        third.fill(1, CHUNK);
        full.runAsked();
        assertThat(full.reset()).as("the failed reset is no longer pending: the next frame over started one")
                .hasSize(1);
        assertThat(third.reset()).isEmpty();
    }

    @Test
    void aResetRefusedByALoopShuttingDownGoesAtOnceToTheSessionHoldingTheMostOnALiveLoop() {
        TotalBufferBudget budget = budget(4L * WINDOW);
        AtomicReference<FailingOnceExecutor> fullLoop = new AtomicReference<>();
        Peer full = holdingThreeWindows(budget, fullLoop);
        Peer live = peer(budget, 8L * WINDOW);
        live.open(1);
        live.fill(1, WINDOW); // the total at the limit
        Peer other = overWithItsResetRefused(budget, fullLoop.get(),
                loop -> loop.failNext(new RejectedExecutionException("test: the loop is shutting down")));
        assertThat(other.raw().channel.isOpen()).as("the session whose frame went over goes on").isTrue();

        // Before: the refusal ended the reset, the total left over (four windows and a chunk), no other session asked.
        live.runAsked();
        assertThat(live.reset()).as("the one holding the most after the refusing one, asked at once").hasSize(1);
        assertThat(other.reset()).isEmpty();
        assertThat(budget.held()).isEqualTo(3L * WINDOW + CHUNK);

        int queued = fullLoop.get().queued();
        other.fill(1, WINDOW - CHUNK);
        other.open(3);
        other.fill(3, CHUNK); // over again: the refusing session, still holding the most, is passed by
        full.runAsked();
        assertThat(fullLoop.get().queued() - queued).as("its loop not asked again").isZero();
        assertThat(full.reset()).isEmpty();
        assertThat(other.reset()).as("the one holding the most after it, whose frame went over").hasSize(1);
        assertThat(budget.held()).isEqualTo(3L * WINDOW + CHUNK);
    }

    @Test
    void aResetPassedOnToASessionWhoseLoopRefusesItGoesToTheNextHoldingTheMost() {
        TotalBufferBudget budget = budget(3L * WINDOW);
        Peer asked = peer(budget, 8L * WINDOW);
        for (int id = 1; id <= 3; id += 2) {
            asked.open(id);
            asked.fill(id, WINDOW);
        }
        AtomicReference<FailingOnceExecutor> grownLoop = new AtomicReference<>();
        Peer grown = peerOn(budget, grownLoop);
        grown.open(1);
        grown.fill(1, WINDOW);
        grown.open(3);
        grown.fill(3, WINDOW); // over: the reset asked of the session holding the most, two windows
        grown.open(5);
        grown.fill(5, CHUNK); // while it is pending: now holding two windows and a chunk, the most
        grownLoop.get().failNext(new RejectedExecutionException("test: the loop is shutting down"));

        // Before: the refusal ended the reset, the total left over (four windows and a chunk), no other session asked.
        asked.runAsked();
        assertThat(grownLoop.get().failed()).as("the reset passed on, and refused").isTrue();
        assertThat(asked.reset()).as("back to the one holding the most after it, until within").hasSize(2);
        assertThat(grown.reset()).isEmpty();
        assertThat(budget.held()).isEqualTo(2L * WINDOW + CHUNK);
    }

    @Test
    void aResetThatFindsOnlySessionsWhoseLoopRefusedItEndsAndTheNextFrameOverStartsAnother() {
        TotalBufferBudget budget = budget(3L * WINDOW);
        AtomicReference<FailingOnceExecutor> fullLoop = new AtomicReference<>();
        Peer full = holdingThreeWindows(budget, fullLoop);
        Peer other = overWithItsResetRefused(budget, fullLoop.get(),
                loop -> loop.failNext(new RejectedExecutionException("test: the loop is shutting down")));
        assertThat(other.reset()).as("passed by the refusing session, its own frame's session paid").hasSize(1);
        full.open(7);
        full.fill(7, CHUNK); // over, with all it holds on the refusing session: no session to take the reset

        // Over still, the frames of a live session each start a reset that ends: none is left pending, none restarts
        // itself (before it was only ended when asked again, it started the next at once, for ever).
        for (int id = 3; id <= 5; id += 2) {
            other.open(id);
            other.fill(id, CHUNK);
            assertThat(other.reset()).as("stream %d, of the live session", id).containsExactly(id);
        }
        assertThat(full.raw().channel.isOpen()).isTrue();
        assertThat(other.raw().channel.isOpen()).isTrue();
        assertThat(full.reset()).isEmpty();
        assertThat(budget.held()).as("what the refusing session holds stays counted").isEqualTo(3L * WINDOW + CHUNK);
    }

    @Test
    void anErrorInAResetRunOnTheLoopOfTheFrameThatWentOverEndsItOnceNotTheResetItsEndStarted() {
        AtomicBoolean failWarn = new AtomicBoolean();
        TotalBufferBudget budget = budget(3L * WINDOW, () -> {
            if (failWarn.getAndSet(false)) {
                throw new IllegalStateException("test: the reset fails");
            }
            return clock.get();
        });
        Peer second = peer(budget, 8L * WINDOW);
        second.open(1);
        second.fill(1, WINDOW);
        Peer failing = peer(budget, 8L * WINDOW);
        for (int id = 1; id <= 3; id += 2) {
            failing.open(id);
            failing.fill(id, WINDOW); // the total at the limit
        }
        AtomicReference<FailingOnceExecutor> otherLoop = new AtomicReference<>();
        Peer other = peerOn(budget, otherLoop);
        // As the failing reset ends, frames of another loop make that session the one holding the most and leave the
        // reset to the failing one: its end starts the next, a task of that loop.
        AtomicInteger queued = fillingWindowsAsNextResetEnds(other, 1, otherLoop.get());
        failWarn.set(true);
        failing.open(5);
        failing.fill(5, CHUNK); // over, the failing session holding the most: its reset runs at once, and fails
        assertThat(failWarn).as("the reset ran and failed").isFalse();
        assertThat(budget.over()).isTrue();

        // Ended a second time as the error goes on, the next reset, still queued, would no longer be pending, and this
        // frame over would ask another of the same loop.
        second.open(3);
        second.fill(3, CHUNK);
        assertThat(otherLoop.get().queued() - queued.get()).as("one reset asked, pending for the frame").isEqualTo(1);
        other.runAsked();
        assertThat(other.reset()).hasSize(2);
        assertThat(budget.held()).isLessThanOrEqualTo(budget.limit());
    }

    @Test
    void aResetAskedOfTheSessionHoldingTheMostIsHandedOnToOneThatGrewPastItMeanwhile() {
        TotalBufferBudget budget = budget(3L * WINDOW);
        Peer asked = peer(budget, 8L * WINDOW);
        Peer other = peer(budget, 8L * WINDOW);
        Peer grown = peer(budget, 8L * WINDOW);
        for (int id = 1; id <= 3; id += 2) {
            asked.open(id);
            asked.fill(id, WINDOW);
        }
        other.open(1);
        other.fill(1, WINDOW);
        other.open(3);
        other.fill(3, CHUNK); // over: the reset asked of the session holding the most, two windows
        for (int id = 1; id <= 3; id += 2) {
            grown.open(id);
            grown.fill(id, WINDOW);
        }
        grown.open(5);
        grown.fill(5, CHUNK); // while it is pending: now holding two windows and a chunk, the most

        asked.runAsked();
        assertThat(asked.reset()).as("not the most any more: it hands the reset on").isEmpty();
        grown.runAsked();
        assertThat(grown.reset()).as("the one holding the most when the reset ran").hasSize(1);
        assertThat(grown.held()).isEqualTo(WINDOW + CHUNK);

        // Still over: from one holding the most to the next, each a task of its own loop.
        asked.runAsked();
        assertThat(asked.reset()).hasSize(1);
        grown.runAsked();
        assertThat(grown.reset()).as("of two holding as much, the newer").hasSize(1);
        assertThat(other.reset()).isEmpty();
        assertThat(budget.held()).isEqualTo(2L * WINDOW + 2 * CHUNK).isLessThanOrEqualTo(budget.limit());
    }

    @Test
    void theTotalLimitsWarnIsOncePerIntervalForAllSessionsAndApartFromTheSessionLimitsWarn() {
        TotalBufferBudget budget = budget(3L * WINDOW);
        Peer first = peer(budget, 2L * WINDOW);
        Peer second = peer(budget, 2L * WINDOW);
        first.raw().session.sessionLimitLog(YamuxSession.sessionLimitLog(clock::get));
        try (LogCapture log = new LogCapture(YamuxSession.class, Level.WARN)) {
            // The first session passes its own limit: its WARN for --session-buffer-limit.
            for (int id = 1; id <= 5; id += 2) {
                first.open(id);
                first.fill(id, WINDOW);
            }
            assertThat(first.reset()).hasSize(1);
            assertThat(log.messages(Level.WARN)).singleElement().asString().contains("(--session-buffer-limit)");

            // The second session's frame passes the total: the first, holding the most, pays, and says so.
            second.open(1);
            second.fill(1, WINDOW);
            second.open(3);
            second.fill(3, CHUNK);
            first.runAsked();
            assertThat(first.reset()).hasSize(1);
            assertThat(totalWarnings(log)).as("not held back by the session's own WARN").singleElement().asString()
                    .contains("the most of all connections");

            // Now the second holds the most and pays: within the same minute, no second line.
            second.fill(3, WINDOW - CHUNK);
            first.open(7);
            first.fill(7, CHUNK);
            second.runAsked();
            assertThat(second.reset()).hasSize(1);
            assertThat(totalWarnings(log)).as("once a minute for all connections").hasSize(1);

            clock.addAndGet(YamuxSession.BUFFER_LIMIT_LOG_INTERVAL.toNanos());
            first.fill(7, WINDOW - CHUNK);
            second.open(5);
            second.fill(5, CHUNK);
            first.runAsked();
            assertThat(first.reset()).hasSize(1);
            assertThat(totalWarnings(log)).hasSize(2).last().asString()
                    .contains("(1 more streams reset for it since the last such line)", "for all connections");
        }
    }

    @Test
    void ofSessionsHoldingAsMuchTheNewerPaysAlsoWhenTheOlderWentOver() {
        TotalBufferBudget budget = budget(2L * WINDOW - 1);
        Peer older = peer(budget, 8L * WINDOW);
        Peer newer = peer(budget, 8L * WINDOW);
        newer.open(1);
        newer.fill(1, WINDOW);
        older.open(1);
        older.fill(1, WINDOW); // the last frame takes the total over with both holding a window
        assertThat(older.reset()).isEmpty();
        newer.runAsked();
        assertThat(newer.reset()).containsExactly(1);
        assertThat(older.reset()).isEmpty();
        assertThat(older.held()).isEqualTo(WINDOW);
    }

    @Test
    void aSessionEndedWhileItsEndedStreamsHoldBytesIsChosenResetsThemAndLeaves() {
        TotalBufferBudget budget = budget(WINDOW + CHUNK);
        Peer ended = peer(budget, 8L * WINDOW);
        Peer other = peer(budget, 8L * WINDOW);
        assertThat(budget.sessionCount()).isEqualTo(2);
        ended.open(1);
        ended.fill(1, WINDOW);
        ended.raw().send(YamuxFrame.data(FLAG_FIN, 1, Unpooled.EMPTY_BUFFER));
        ended.streams().get(0).channel.shutdownOutput(); // FIN both ways; the reader has taken nothing
        ended.raw().channel.close();
        assertThat(ended.held()).as("the stream outlived its session with its bytes").isEqualTo(WINDOW);
        assertThat(budget.sessionCount()).as("the ended session stays choosable").isEqualTo(2);

        other.open(1);
        other.fill(1, 2 * CHUNK);
        ended.runAsked();
        assertThat(ended.held()).as("chosen, it reset its ended stream").isZero();
        assertThat(other.held()).isEqualTo(2 * CHUNK);
        assertThat(budget.sessionCount()).as("and left").isEqualTo(1);

        other.raw().channel.close();
        assertThat(budget.held()).isZero();
        assertThat(budget.sessionCount()).isZero();
    }
}
