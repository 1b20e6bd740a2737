package io.picotunnel.protocol.config;

import io.picotunnel.protocol.text.ControlCharacters;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations in settings, such as {@code 30s}, {@code 500ms}, {@code 2m}, {@code 1h}, {@code 7d} or plain seconds, and
 * durations in what people read (log lines, events, messages): {@code 12 h}, {@code 1 h 30 min}, {@code 250 ms}.
 */
public final class Durations {

    /**
     * The longest duration a setting takes: ten years, far beyond any use and far from where deadlines counted in
     * nanoseconds overflow (292 years), which fails every timer armed with it.
     */
    public static final Duration MAX = Duration.ofDays(3650);

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)?");

    private Durations() {
    }

    /**
     * The duration, zero included; throws {@link IllegalArgumentException} with a sentence when {@code text} is no
     * duration or longer than {@link #MAX}.
     */
    public static Duration parse(String text) {
        Matcher matcher = DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!matcher.matches()) {
            throw new IllegalArgumentException(ControlCharacters.quoted(text) + " is not a duration such as 30s, 500ms, 2m, 1h or 7d");
        }
        long amount = Long.parseLong(matcher.group(1));
        String unit = matcher.group(2) == null ? "s" : matcher.group(2);
        Duration duration = switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            case "d" -> Duration.ofDays(amount);
            default -> Duration.ofSeconds(amount);
        };
        if (duration.compareTo(MAX) > 0) {
            throw new IllegalArgumentException(ControlCharacters.quoted(text) + " is too long: at most " + MAX.toDays() + "d");
        }
        return duration;
    }

    /**
     * {@code duration} as people read it, in its largest units down to the second: {@code 12 h}, {@code 1 h 30 min},
     * {@code 2 d 3 h}, {@code 45 s}; {@code 1.5 s} under a minute (a minute or more is rounded to the second),
     * {@code 250 ms} under a second, {@code 0 s} for none. Not {@code PT12H}, nor {@code 43200 s}.
     */
    public static String format(Duration duration) {
        if (duration.isNegative()) {
            // The least Duration has no negation; a nanosecond less reads the same
            return "-" + format((duration.getSeconds() == Long.MIN_VALUE ? duration.plusNanos(1) : duration).negated());
        }
        if (duration.compareTo(Duration.ofSeconds(1)) < 0) {
            return duration.isZero() ? "0 s" : duration.toMillis() == 0 ? "<1 ms" : duration.toMillis() + " ms";
        }
        if (duration.compareTo(Duration.ofMinutes(1)) >= 0) {
            // Rounded to the nearest second, but down in the last second a Duration holds, where up overflows
            duration = (duration.getSeconds() == Long.MAX_VALUE ? duration : duration.plusMillis(500))
                    .truncatedTo(ChronoUnit.SECONDS);
        }
        StringBuilder text = new StringBuilder();
        append(text, duration.toDays(), "d");
        append(text, duration.toHoursPart(), "h");
        append(text, duration.toMinutesPart(), "min");
        int millis = duration.toMillisPart();
        if (millis == 0) {
            append(text, duration.toSecondsPart(), "s");
        } else {
            text.append(text.isEmpty() ? "" : " ").append(BigDecimal.valueOf(duration.toSecondsPart() * 1000L + millis, 3)
                    .stripTrailingZeros().toPlainString()).append(" s");
        }
        return text.toString();
    }

    private static void append(StringBuilder text, long amount, String unit) {
        if (amount != 0) {
            text.append(text.isEmpty() ? "" : " ").append(amount).append(' ').append(unit);
        }
    }
}
