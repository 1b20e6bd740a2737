package io.picotunnel.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock the test moves by hand: time-based behaviour is shown without waiting. Open for a test's own reading. */
public class ManualClock extends Clock {

    private volatile Instant now;

    public ManualClock(Instant now) {
        this.now = now;
    }

    public void advance(Duration by) {
        now = now.plus(by);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return now;
    }

    /** This clock's time in nanoseconds, for code that reads a {@link System#nanoTime} kind of clock. */
    public long nanoTime() {
        Instant at = instant();
        return at.getEpochSecond() * 1_000_000_000L + at.getNano();
    }
}
