package io.picotunnel.protocol.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations in settings, such as {@code 30s}, {@code 500ms}, {@code 2m}, {@code 1h}, {@code 7d} or plain seconds. */
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
            throw new IllegalArgumentException("'" + text + "' is not a duration such as 30s, 500ms, 2m, 1h or 7d");
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
            throw new IllegalArgumentException("'" + text + "' is too long: at most " + MAX.toDays() + "d");
        }
        return duration;
    }
}
