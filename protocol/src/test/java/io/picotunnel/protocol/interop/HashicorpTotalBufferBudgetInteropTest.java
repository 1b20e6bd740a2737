package io.picotunnel.protocol.interop;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.yamux.TotalBufferBudget;
import io.picotunnel.protocol.yamux.TotalBufferBudgetProbe;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import io.picotunnel.protocol.yamux.YamuxSession;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two of our sessions, each over its own loopback connection to its own hashicorp/yamux peer and on its own event
 * loop, share a {@link TotalBufferBudget} of three windows while each may hold four on its own: the peers send into
 * readers that never read. Past the shared budget the session holding the most resets one of its streams, whichever
 * session's frame went over, and what both count comes back to 0 when the streams and the sessions end.
 */
class HashicorpTotalBufferBudgetInteropTest {

    private static final int WINDOW = YamuxConfig.INITIAL_STREAM_WINDOW;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final TotalBufferBudget budget = new TotalBufferBudget(3L * WINDOW);
    private final List<RecordingStream> fullStreams = new CopyOnWriteArrayList<>();
    private final List<RecordingStream> smallStreams = new CopyOnWriteArrayList<>();
    private GoPeerConnection full;
    private GoPeerConnection small;

    @AfterEach
    void tearDown() {
        for (GoPeerConnection connection : new GoPeerConnection[] {full, small}) {
            if (connection != null) {
                connection.close();
            }
        }
    }

    /** A fixed window, readers that never read, room for four windows in the session and three in the budget. */
    private GoPeerConnection connect(String name, List<RecordingStream> streams) {
        YamuxConfig config = YamuxConfig.fixedWindow(WINDOW).withSessionBufferLimit(4L * WINDOW)
                .withTotalBufferBudget(budget);
        return GoPeerConnection.open(YamuxRole.SERVER, name, config,
                RecordingStream.eachInto(streams, () -> new RecordingStream(false)));
    }

    @Test
    void theSessionHoldingTheMostPaysWhenAnotherSessionsFrameGoesOverTheBudgetAndTheCountComesBackToZero()
            throws Exception {
        full = connect("budget-full", fullStreams);
        small = connect("budget-small", smallStreams);
        YamuxSession fullSession = full.session();
        YamuxSession smallSession = small.session();
        // Three windows in the first session: the budget is reached, not passed.
        for (int i = 1; i <= 3; i++) {
            full.peer().send("OPEN full" + i + " " + (2 * WINDOW) + " - send");
        }
        await().atMost(WAIT).until(() -> onLoop(full, fullSession::inboundHeld) == 3L * WINDOW);
        assertThat(budget.held()).isEqualTo(3L * WINDOW);

        try (LogCapture log = new LogCapture(YamuxSession.class, Level.WARN)) {
            // The other session's frames pass it: it holds the least, so one of the first session's streams goes.
            small.peer().send("OPEN small " + (2 * WINDOW) + " - send");

            await().atMost(WAIT).until(() -> onLoop(small, smallSession::inboundHeld) == WINDOW
                    && fullStreams.stream().filter(s -> s.stream.isReset()).count() == 1);
            assertThat(full.peer().awaitLine("RESULT full")).endsWith(" end=reset");
            assertThat(onLoop(full, fullSession::inboundHeld)).isEqualTo(2L * WINDOW);
            assertThat(budget.held()).isEqualTo(3L * WINDOW);
            RecordingStream kept = smallStreams.get(0);
            assertThat(kept.stream.isOpen()).as("the stream of the session holding the least").isTrue();
            assertThat(kept.stream.isReset()).isFalse();
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("the most of all connections", "over the limit of " + 3L * WINDOW,
                            "(--total-buffer-limit)");
        }

        // The first session's peer dies mid-transfer: its streams end reset and give back what they held.
        full.peer().kill();
        await().atMost(WAIT).until(full::sessionEnded);
        await().atMost(WAIT).until(() -> fullStreams.stream().allMatch(s -> s.inactive));
        assertThat(onLoop(full, fullSession::inboundHeld)).isZero();
        assertThat(budget.held()).isEqualTo(WINDOW);

        // The other's reader takes what its stream holds, the peer's writer ends, the stream closes.
        onLoop(small, () -> smallStreams.get(0).stream.config().setAutoRead(true));
        assertThat(small.peer().awaitLine("RESULT small")).endsWith(" end=eof");
        await().atMost(WAIT).until(() -> onLoop(small, smallSession::inboundHeld) == 0);
        assertThat(budget.held()).isZero();
        assertThat(TotalBufferBudgetProbe.sessionCount(budget)).as("the first session, ended, left").isEqualTo(1);

        small.close();
        await().atMost(WAIT).until(small::sessionEnded);
        await().atMost(WAIT).until(() -> TotalBufferBudgetProbe.sessionCount(budget) == 0);
    }

    private static <T> T onLoop(GoPeerConnection connection, Callable<T> task) throws Exception {
        return connection.onLoop(task);
    }
}
