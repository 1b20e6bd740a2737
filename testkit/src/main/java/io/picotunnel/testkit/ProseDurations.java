package io.picotunnel.testkit;

import java.time.Duration;

/** A duration as the docs' prose writes it, for tests that tie a doc's words to a constant. */
public final class ProseDurations {

    private ProseDurations() {
    }

    /** "1 second", "5 seconds", "5 minutes", "12 hours", "a week", "2 weeks": the largest whole unit. */
    public static String words(Duration duration) {
        long weeks = duration.toDays() / 7;
        if (weeks > 0 && duration.equals(Duration.ofDays(7 * weeks))) {
            return weeks == 1 ? "a week" : weeks + " weeks";
        }
        if (duration.toHours() > 0 && duration.equals(Duration.ofHours(duration.toHours()))) {
            return plural(duration.toHours(), "hour");
        }
        if (duration.toMinutes() > 0 && duration.equals(Duration.ofMinutes(duration.toMinutes()))) {
            return plural(duration.toMinutes(), "minute");
        }
        if (!duration.equals(Duration.ofSeconds(duration.toSeconds()))) {
            throw new IllegalArgumentException("not a whole number of seconds: " + duration);
        }
        return plural(duration.toSeconds(), "second");
    }

    private static String plural(long amount, String unit) {
        return amount + " " + unit + (amount == 1 ? "" : "s");
    }
}
