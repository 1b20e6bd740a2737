package io.picotunnel.protocol.config;

import io.picotunnel.protocol.text.AsciiNumbers;
import io.picotunnel.protocol.text.ControlCharacters;

import io.picotunnel.protocol.yamux.SessionLimits;

import java.time.Duration;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * The values of a program's settings: the flag, else the {@code PICOTUNNEL_*} variable when not blank, else the
 * default, trimmed; a flag given empty stands for the default. The readers turn them into typed values, and every
 * failure is a {@link ConfigException} naming the flag and the variable: "Invalid --x (PICOTUNNEL_X): what is wrong."
 */
public final class SettingValues<S extends Enum<S> & DeclaredSetting> {

    private final Map<S, String> values;
    private final Set<S> fromFlags;

    private SettingValues(Map<S, String> values, Set<S> fromFlags) {
        this.values = values;
        this.fromFlags = fromFlags;
    }

    /** Reads every setting of {@code type} from {@code flags} (given on the command line), then {@code env}, then its default. */
    public static <S extends Enum<S> & DeclaredSetting> SettingValues<S> resolve(Class<S> type, Map<S, String> flags,
                                                                                  Map<String, String> env) {
        Map<S, String> values = new EnumMap<>(type);
        Set<S> fromFlags = EnumSet.noneOf(type);
        for (S setting : type.getEnumConstants()) {
            String value = flags.get(setting);
            if (value == null) {
                value = env.get(setting.envVar());
            } else if (!value.isBlank()) {
                fromFlags.add(setting);
            }
            if (value == null || value.isBlank()) {
                value = setting.defaultValue();
            }
            if (value != null) {
                values.put(setting, value.trim());
            }
        }
        return new SettingValues<>(values, fromFlags);
    }

    /** The value as given, trimmed; null when unset. */
    public String raw(S setting) {
        return values.get(setting);
    }

    /** The flag or the variable the value came from, for messages: the variable when neither was given. */
    public String source(S setting) {
        return fromFlags.contains(setting) ? setting.flag() : setting.envVar();
    }

    public ConfigException invalid(S setting, String problem) {
        return ConfigException.invalid(setting, problem);
    }

    /** The value read by {@code parser} (which is given null when unset); its {@link IllegalArgumentException} names the setting. */
    public <T> T parsed(S setting, Function<String, T> parser) {
        try {
            return parser.apply(raw(setting));
        } catch (IllegalArgumentException e) {
            throw invalid(setting, e.getMessage());
        }
    }

    /** A duration such as 30s or 500ms ({@link Durations}); zero only when {@code zeroAllowed}. */
    public Duration duration(S setting, boolean zeroAllowed) {
        return duration(setting, parsed(setting, Durations::parse), zeroAllowed);
    }

    /**
     * {@code duration} when {@link #duration(Enum, boolean)} would take it: for configs made in code, where no parsing
     * stopped a duration beyond {@link Durations#MAX} ({@code Duration.ofSeconds(Long.MAX_VALUE)} as "no timeout"),
     * which fails every timer armed with it.
     */
    public static Duration duration(DeclaredSetting setting, Duration duration, boolean zeroAllowed) {
        Objects.requireNonNull(duration, setting.displayName());
        if (duration.compareTo(Durations.MAX) > 0) {
            throw ConfigException.invalid(setting, "it must be at most " + Durations.MAX.toDays() + "d");
        }
        if (duration.isNegative()) {
            throw ConfigException.invalid(setting, "it must not be negative");
        }
        if (duration.isZero() && !zeroAllowed) {
            throw ConfigException.invalid(setting, "it must be greater than zero");
        }
        return duration;
    }

    /**
     * Yes or no. A wrong value is not repeated: it may be a secret given to the flag by mistake ({@code --insecure=TOKEN}),
     * and the error goes to the log.
     */
    public boolean bool(S setting) {
        return switch (raw(setting).toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw invalid(setting, "it must be true or false (or yes/no, on/off, 1/0)");
        };
    }

    /** A whole number of at least {@code min}: "'x' is not a whole number of at least min" otherwise. */
    public int count(S setting, int min) {
        return count(setting, min, Integer.MAX_VALUE);
    }

    /**
     * A whole number from {@code min} to {@code max}: "'x' is not a whole number from min to max" otherwise, or "of at
     * least min" when {@code max} is {@link Integer#MAX_VALUE} (no maximum).
     */
    public int count(S setting, int min, int max) {
        String raw = raw(setting);
        try {
            return count(setting, AsciiNumbers.parseInt(raw), raw, min, max);
        } catch (NumberFormatException e) {
            throw notCount(setting, raw, min, max);
        }
    }

    /** {@code value} when from {@code min} to {@code max}, as {@link #count(Enum, int, int)} reads it: for configs made in code. */
    public static int count(DeclaredSetting setting, int value, int min, int max) {
        return count(setting, value, Integer.toString(value), min, max);
    }

    private static int count(DeclaredSetting setting, int value, String given, int min, int max) {
        if (value < min || value > max) {
            throw notCount(setting, given, min, max);
        }
        return value;
    }

    private static ConfigException notCount(DeclaredSetting setting, String given, int min, int max) {
        String range = max == Integer.MAX_VALUE ? "of at least " + min : "from " + min + " to " + max;
        return ConfigException.invalid(setting, ControlCharacters.quoted(given) + " is not a whole number " + range);
    }

    /** The flow-control and memory bounds of a tunnel connection, from its four settings. */
    public SessionLimits sessionLimits(S maxStreamWindow, S sessionWindowBudget, S maxStreams, S sessionBufferLimit) {
        try {
            return SessionLimits.parse(raw(maxStreamWindow), raw(sessionWindowBudget), raw(maxStreams),
                    raw(sessionBufferLimit));
        } catch (SessionLimits.InvalidLimit e) {
            throw invalid(List.of(maxStreamWindow, sessionWindowBudget, maxStreams, sessionBufferLimit)
                    .get(e.which()), e.getMessage());
        }
    }
}
