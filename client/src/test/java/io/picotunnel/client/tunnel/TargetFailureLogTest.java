package io.picotunnel.client.tunnel;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class TargetFailureLogTest {

    private static final long MINUTE = TargetFailureLog.EVERY.toNanos();

    private final AtomicLong now = new AtomicLong(1_000);
    private final List<String> lines = new ArrayList<>();
    private final TargetFailureLog log = new TargetFailureLog(now::get, lines::add);

    @Test
    void oneLinePerTargetAMinuteThenTheCountOfThoseLeftOutSinceTheLastLineAboutIt() {
        assertThat(log.admit("127.0.0.1:3000")).isEmpty();
        for (int i = 0; i < 500; i++) {
            assertThat(log.admit("127.0.0.1:3000")).isNull();
        }
        assertThat(log.admit("127.0.0.1:4000")).as("another target").isEmpty();

        now.addAndGet(MINUTE);

        assertThat(log.admit("127.0.0.1:3000"))
                .isEqualTo(" (500 more failures of this target were not logged since the last line about it)");
        assertThat(log.admit("127.0.0.1:3000")).isNull();

        // Ten minutes without a failure: the next line has nothing left out to count.
        now.addAndGet(10 * MINUTE);
        assertThat(log.admit("127.0.0.1:3000")).isEqualTo(" (1 more failure of this target was not logged"
                + " since the last line about it)");
        assertThat(lines).isEmpty();
    }

    /**
     * Past {@link TargetFailureLog#MAX_TARGETS} the target whose failure came longest ago is forgotten, not all of
     * them: one failing all the time keeps its minute while a server names ever new targets.
     */
    @Test
    void pastTheTargetsRememberedTheLeastRecentlyFailingIsForgottenAndABusyOneKeepsItsMinute() {
        String busy = "127.0.0.1:3000";
        assertThat(log.admit(busy)).isEmpty();
        for (int i = 0; i < TargetFailureLog.MAX_TARGETS * 3; i++) {
            // A new minute for each so that the cap on lines does not come into it.
            // Half the lines a minute allows go to new targets: the cap on lines does not come into it.
            now.addAndGet(MINUTE / (TargetFailureLog.MAX_LINES / 2));
            assertThat(log.admit("10.0.0.1:" + i)).as("a new target").isEmpty();
            assertThat(log.admit(busy)).as("%s failing again after target %d: never forgotten", busy, i)
                    .satisfiesAnyOf(note -> assertThat(note).isNull(), note -> assertThat(note).contains("more"));
        }
        assertThat(log.targetsRemembered()).isEqualTo(TargetFailureLog.MAX_TARGETS);
        assertThat(lines).isEmpty();
    }

    @Test
    void theTargetsRememberedStayBoundedAndTheLatestAreKept() {
        int targets = TargetFailureLog.MAX_TARGETS * 3 + 5;
        for (int i = 0; i < targets; i++) {
            if (i % TargetFailureLog.MAX_LINES == 0) {
                now.addAndGet(MINUTE);
            }
            assertThat(log.admit("10.0.0.1:" + i)).isEmpty();
        }
        assertThat(log.targetsRemembered()).isEqualTo(TargetFailureLog.MAX_TARGETS);
        // Still within its minute: remembered, so not logged again.
        assertThat(log.admit("10.0.0.1:" + (targets - 1))).isNull();
    }

    /**
     * A server naming a new target in every stream: at most {@link TargetFailureLog#MAX_LINES} lines a minute, one
     * line when the cap is reached, and with the next minute one saying how many were left out.
     */
    @Test
    void manyDistinctTargetsGetAtMostSixtyLinesAMinuteAndOneLineCountsTheRest() {
        int logged = 0;
        for (int i = 0; i < 1000; i++) {
            if (log.admit("10.0.0.1:" + i) != null) {
                logged++;
            }
            now.addAndGet(MINUTE / 2000);
        }
        assertThat(logged).isEqualTo(TargetFailureLog.MAX_LINES);
        assertThat(lines).containsExactly("60 target failures logged within a minute: the next ones are counted, not"
                + " logged, until the minute is over");

        now.addAndGet(MINUTE);
        assertThat(log.admit("10.0.0.2:1")).isEmpty();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(1)).isEqualTo("940 more target failures were not logged since the line saying 60 came"
                + " within a minute");
        assertThat(log.admit("10.0.0.1:999")).as("its failure was left out: it was never logged").isEmpty();
    }

    @Test
    void aTargetLeftOutForTheCapCountsThatFailureInItsNextLine() {
        assertThat(log.admit("127.0.0.1:3000")).isEmpty();
        now.addAndGet(MINUTE);
        for (int i = 0; i < TargetFailureLog.MAX_LINES; i++) {
            assertThat(log.admit("10.0.0.1:" + i)).isEmpty();
        }
        assertThat(log.admit("127.0.0.1:3000")).as("over the cap").isNull();
        assertThat(log.admit("127.0.0.1:3000")).as("over the cap again").isNull();

        now.addAndGet(MINUTE);
        assertThat(log.admit("127.0.0.1:3000"))
                .isEqualTo(" (2 more failures of this target were not logged since the last line about it)");
        assertThat(lines).last().asString().startsWith("2 more target failures were not logged");
    }
}
