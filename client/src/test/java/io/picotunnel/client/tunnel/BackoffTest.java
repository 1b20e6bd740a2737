package io.picotunnel.client.tunnel;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class BackoffTest {

    @Test
    void withoutJitterDelaysDoubleFromOneSecondUpToSixty() {
        Backoff backoff = new Backoff(() -> 0.0);

        List<Long> seconds = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            seconds.add(backoff.next().toSeconds());
        }

        assertThat(seconds).containsExactly(1L, 2L, 4L, 8L, 16L, 32L, 60L, 60L, 60L);
    }

    /**
     * The delays grown while the server drained (1 to 16 s) are forgotten once it says it is stopping: 1 s each for
     * {@link Backoff#RESTART_WAIT}, then doubling from 1 s again. Before, they went on from 32 s.
     */
    @Test
    void afterTheServerSaidItIsStoppingDelaysStayAtOneSecondForTheRestartWaitThenGrowAgain() {
        long[] clock = {0};
        Backoff backoff = new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, () -> clock[0]);
        for (int i = 0; i < 5; i++) {
            backoff.next();
        }

        backoff.serverStopping();
        List<Long> seconds = new ArrayList<>();
        for (int i = 0; i < 59; i++) {
            seconds.add(backoff.next().toSeconds());
            clock[0] += Duration.ofSeconds(1).toNanos();
        }
        assertThat(seconds).containsOnly(1L);
        assertThat(backoff.waitingForRestart()).isTrue();

        clock[0] += Duration.ofSeconds(1).toNanos();
        assertThat(backoff.restartOverdue()).isTrue();
        assertThat(List.of(backoff.next().toSeconds(), backoff.next().toSeconds(), backoff.next().toSeconds()))
                .containsExactly(1L, 2L, 4L);
    }

    @Test
    void aConnectionEndsTheWaitForARestart() {
        Backoff backoff = new Backoff(() -> 0.0);
        backoff.serverStopping();

        backoff.connected();

        assertThat(backoff.waitingForRestart()).isFalse();
        assertThat(backoff.restartOverdue()).isFalse();
    }

    @Test
    void jitterShortensEachDelayByAtMostAFifth() {
        Backoff backoff = new Backoff(() -> 0.999_999);
        long[] baseSeconds = {1, 2, 4, 8, 16, 32, 60, 60};

        for (long base : baseSeconds) {
            Duration delay = backoff.next();
            assertThat(delay).isGreaterThan(Duration.ofSeconds(base).multipliedBy(4).dividedBy(5))
                    .isLessThan(Duration.ofSeconds(base));
        }
    }

    @Test
    void realJitterSpreadsDelaysWithinBounds() {
        Backoff backoff = new Backoff();
        for (int i = 0; i < 200; i++) {
            backoff.reset();
            assertThat(backoff.next()).isBetween(Duration.ofMillis(800), Duration.ofMillis(1000));
        }
    }

    @Test
    void resetStartsOverAtOneSecond() {
        Backoff backoff = new Backoff(() -> 0.0);
        for (int i = 0; i < 20; i++) {
            backoff.next();
        }

        backoff.reset();

        assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(1));
        assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void connectionsShorterThanThirtySecondsKeepTheDelaysGrowing() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, now::get);

        List<Long> seconds = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            backoff.connected();
            now.addAndGet(Duration.ofSeconds(30).minusNanos(1).toNanos());
            seconds.add(backoff.next().toSeconds());
        }

        assertThat(seconds).containsExactly(1L, 2L, 4L, 8L, 16L);
    }

    @Test
    void connectionThatLastedThirtySecondsStartsTheDelaysOver() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, now::get);
        for (int i = 0; i < 4; i++) {
            backoff.next();
        }

        backoff.connected();
        now.addAndGet(Duration.ofSeconds(30).toNanos());

        assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(1));
        assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void theThresholdIsInjectable() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofMillis(200), now::get);
        backoff.next();
        backoff.next();

        backoff.connected();
        now.addAndGet(Duration.ofMillis(199).toNanos());
        assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(4));

        backoff.connected();
        now.addAndGet(Duration.ofMillis(200).toNanos());
        assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void disconnectedAppliesTheRuleOnceSoAFailedAttemptAfterwardsStillGrows() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        backoff.next();
        backoff.next();
        backoff.connected();
        now.addAndGet(Duration.ofMinutes(5).toNanos());

        backoff.disconnected();
        now.addAndGet(Duration.ofMinutes(5).toNanos());

        assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(1));
        assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void manyFailuresNeverOverflowPastTheMaximum() {
        Backoff backoff = new Backoff(() -> 0.0);
        Duration last = Duration.ZERO;
        for (int i = 0; i < 100; i++) {
            last = backoff.next();
        }

        assertThat(last).isEqualTo(Backoff.MAX);
    }

    @Test
    void afterGoAwayOnAConnectionThatLastedTheDelayIsAMomentAndTheDelaysStartOver() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.5, Duration.ofSeconds(30), now::get);
        backoff.next();
        backoff.next();
        backoff.connected();
        now.addAndGet(Duration.ofMinutes(5).toNanos());

        assertThat(backoff.afterGoAway(Duration.ofSeconds(1))).isEqualTo(Duration.ofMillis(500));
        assertThat(backoff.next()).as("started over").isEqualTo(Duration.ofMillis(900));
    }

    @Test
    void afterGoAwayAsSoonAsConnectedAgainAndAgainTheDelaysGrowAsAfterADrop() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        List<Long> seconds = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            backoff.connected();
            now.addAndGet(Duration.ofMillis(10).toNanos());
            seconds.add(backoff.afterGoAway(Duration.ofSeconds(1)).toSeconds());
        }
        assertThat(seconds).as("the first GoAway redialled at once, the next ones later and later")
                .containsExactly(0L, 1L, 2L, 4L, 8L);
    }

    @Test
    void afterGoAwayOnAShortConnectionTheDelaysOfTheFailuresBeforeItDoNotApply() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.5, Duration.ofSeconds(30), now::get);
        for (int i = 0; i < 8; i++) {
            backoff.next();
        }
        backoff.connected();
        now.addAndGet(Duration.ofSeconds(3).toNanos());

        // Before: the next delay, 54 s.
        assertThat(backoff.afterGoAway(Duration.ofSeconds(1))).isEqualTo(Duration.ofMillis(500));
        assertThat(backoff.next()).as("a connection of 3 s does not start the delays over").isEqualTo(Duration.ofSeconds(54));
    }

    @Test
    void aFailureBetweenTwoEarlyGoAwaysLeavesTheSecondRedialledAtOnce() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        backoff.connected();
        backoff.afterGoAway(Duration.ofSeconds(1));
        backoff.next();
        backoff.connected();

        assertThat(backoff.afterGoAway(Duration.ofSeconds(1))).isEqualTo(Duration.ZERO);
    }

    @Test
    void theServersWaitIsTheLeastDelayLengthenedByTheJitterAndTheBackoffGoesOnGrowing() {
        Backoff backoff = new Backoff(() -> 0.5);

        assertThat(backoff.next(Duration.ofSeconds(10))).isEqualTo(Duration.ofSeconds(11));
        assertThat(backoff.next(Duration.ofMillis(100))).as("a shorter wait leaves the backoff's delay")
                .isEqualTo(Duration.ofMillis(1800));
        assertThat(backoff.next(null)).as("no wait asked: the backoff alone").isEqualTo(Duration.ofMillis(3600));
    }

    @Test
    void theServersWaitIsCutToTenMinutes() {
        Backoff backoff = new Backoff(() -> 0.0);

        assertThat(backoff.next(Duration.ofDays(2))).isEqualTo(Duration.ofMinutes(10));
    }

    /** A server answering "stopping" every 5 s (its Retry-After) for hours: redialled less often, up to 30 s apart. */
    @Test
    void aServerStillStoppingBeyondTheRestartWaitIsRedialledLessOftenUpToThirtySeconds() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        Duration retryAfter = Duration.ofSeconds(5);

        backoff.serverDraining();
        assertThat(backoff.next(retryAfter)).as("the first minute: its pace").isEqualTo(retryAfter);
        answerStoppingFor(backoff, now, Backoff.RESTART_WAIT);
        assertThat(backoff.next(retryAfter)).as("1 min: still its pace").isEqualTo(retryAfter);
        answerStoppingFor(backoff, now, Duration.ofMinutes(1));
        assertThat(backoff.next(retryAfter)).as("2 min: a sixth of the minute beyond the wait")
                .isEqualTo(Duration.ofSeconds(10));
        answerStoppingFor(backoff, now, Duration.ofHours(2));
        assertThat(backoff.next(retryAfter)).as("2 h: at most 30 s").isEqualTo(Backoff.LONG_DRAIN_MAX);
    }

    /**
     * A drain answered with Retry-After: 120: the answer to the redial 2 min later is the same stop, 2 min long, and
     * a redial refused then is redialled after 1 s as the server restarts. Before, each answer was a new stop (its
     * stoppingFor zero), so the client never wrote its long-drain WARN.
     */
    @Test
    void aRetryAfterOverTheRestartWaitKeepsTheStopGoing() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        Duration retryAfter = Duration.ofSeconds(120);

        backoff.serverDraining();
        assertThat(backoff.next(retryAfter)).isEqualTo(retryAfter);
        now.addAndGet(retryAfter.toNanos());
        assertThat(backoff.waitingForRestart()).as("at the redial it asked for").isTrue();
        backoff.serverDraining();
        assertThat(backoff.stoppingFor()).as("one stop").isEqualTo(retryAfter);

        assertThat(backoff.next(retryAfter)).isEqualTo(retryAfter);
        now.addAndGet(retryAfter.toNanos());
        assertThat(backoff.next(null)).as("refused: it restarts").isEqualTo(Backoff.INITIAL);
        now.addAndGet(Backoff.RESTART_WAIT.toNanos());
        assertThat(backoff.restartOverdue()).as("a minute after that redial").isTrue();
    }

    /**
     * The server said it is stopping, then a redial is answered with a Retry-After that is not its drain's (a 429
     * lockout, a proxy's 503): the wait for its restart still ends 1 min after it said so. Before, any Retry-After put
     * it off, so a lockout's answers kept the client waiting for a restart for hours, never warning it was unreachable.
     */
    @Test
    void aRetryAfterOfAnAnswerThatIsNotTheDrainDoesNotKeepTheStopGoing() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        Duration retryAfter = Duration.ofMinutes(2);

        backoff.serverStopping();
        assertThat(backoff.next(retryAfter)).isEqualTo(retryAfter);
        now.addAndGet(retryAfter.toNanos());

        assertThat(backoff.waitingForRestart()).as("2 min after it said it is stopping").isFalse();
        assertThat(backoff.restartOverdue()).isTrue();
    }

    /** A 503 server_stopping, then a 429 with a long Retry-After on the next redial: only the drain's wait counts. */
    @Test
    void aRetryAfterAfterTheDrainingAnswerDoesNotKeepTheStopGoing() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);

        backoff.serverDraining();
        assertThat(backoff.next(Duration.ofSeconds(5))).isEqualTo(Duration.ofSeconds(5));
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        assertThat(backoff.next(Duration.ofMinutes(10))).as("a lockout").isEqualTo(Duration.ofMinutes(10));
        now.addAndGet(Duration.ofMinutes(10).toNanos());

        assertThat(backoff.waitingForRestart()).isFalse();
    }

    /** The server answers "stopping" every 5 s for {@code drain}. */
    private static void answerStoppingFor(Backoff backoff, AtomicLong now, Duration drain) {
        for (long answers = drain.toSeconds() / 5; answers > 0; answers--) {
            now.addAndGet(Duration.ofSeconds(5).toNanos());
            backoff.serverDraining();
        }
    }

    /**
     * A drain of 10 min (redials 30 s apart), then the server exits and systemd starts it again: a redial refused (not
     * answered that it drains) means the drain is over, so the next comes after 1 s, not 30 s.
     */
    @Test
    void afterALongDrainAFailureNotAnsweredStoppingIsRedialledAfterOneSecond() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        backoff.serverDraining();
        answerStoppingFor(backoff, now, Duration.ofMinutes(10));
        assertThat(backoff.next(Duration.ofSeconds(5))).as("still draining").isEqualTo(Backoff.LONG_DRAIN_MAX);

        now.addAndGet(Duration.ofSeconds(30).toNanos());
        assertThat(backoff.next(null)).as("refused").isEqualTo(Backoff.INITIAL);
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        assertThat(backoff.next(null)).as("refused again").isEqualTo(Backoff.INITIAL);

        backoff.serverStopping();
        assertThat(backoff.next()).as("its close 4000: the drain is over").isEqualTo(Backoff.INITIAL);
        backoff.serverDraining();
        assertThat(backoff.next(Duration.ofSeconds(5))).as("draining again").isEqualTo(Backoff.LONG_DRAIN_MAX);
    }

    @Test
    void stoppingForCountsFromTheFirstWordOfAStopUntilAConnection() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        assertThat(backoff.stoppingFor()).isEqualTo(Duration.ZERO);

        backoff.serverStopping();
        now.addAndGet(Duration.ofSeconds(40).toNanos());
        backoff.serverStopping();
        now.addAndGet(Duration.ofSeconds(3).toNanos());
        assertThat(backoff.stoppingFor()).as("from the first word, not the last").isEqualTo(Duration.ofSeconds(43));

        backoff.connected();
        assertThat(backoff.stoppingFor()).as("connected").isEqualTo(Duration.ZERO);
    }

    /** Stopping at T0, unreachable after its restart wait, stopping again 10 min later: a new stop, not a 10 min one. */
    @Test
    void aStopSaidAgainAfterTheRestartWaitLapsedIsCountedFromThen() {
        AtomicLong now = new AtomicLong();
        Backoff backoff = new Backoff(() -> 0.0, Duration.ofSeconds(30), now::get);
        backoff.serverStopping();
        now.addAndGet(Duration.ofMinutes(10).toNanos());
        assertThat(backoff.restartOverdue()).isTrue();

        backoff.serverStopping();
        now.addAndGet(Duration.ofSeconds(2).toNanos());

        assertThat(backoff.stoppingFor()).isEqualTo(Duration.ofSeconds(2));
        assertThat(backoff.next(Duration.ofSeconds(1))).as("the pace of a stop just begun")
                .isEqualTo(Duration.ofSeconds(1));
    }
}
