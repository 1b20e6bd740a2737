package io.picotunnel.protocol.config;

import io.picotunnel.protocol.text.ControlCharacters;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How the server and the client log, from the environment, read once the command line is parsed (so that
 * {@code --help} and {@code --version} print whatever it says) and before the first log line:
 * {@code PICOTUNNEL_LOG_FORMAT} ({@code text}, the default, or {@code json}: one JSON object per line, logback's
 * JsonEncoder) and {@code PICOTUNNEL_LOG_LEVEL} ({@code info} by default). They become the system properties that
 * the logback configurations of both read.
 */
public final class LogSettings {

    public static final String FORMAT_VARIABLE = "PICOTUNNEL_LOG_FORMAT";
    public static final String LEVEL_VARIABLE = "PICOTUNNEL_LOG_LEVEL";
    public static final String FORMAT_PROPERTY = "picotunnel.log.format";
    public static final String LEVEL_PROPERTY = "picotunnel.log.level";
    private static final Set<String> FORMATS = Set.of("text", "json");
    private static final Set<String> LEVELS = Set.of("trace", "debug", "info", "warn", "error", "off");

    private LogSettings() {
    }

    /** Sets the logging properties from {@code env}; throws {@link IllegalArgumentException} with a sentence on a wrong value. */
    public static void apply(Map<String, String> env) {
        String format = value(env, FORMAT_VARIABLE, "text");
        if (!FORMATS.contains(format)) {
            throw new IllegalArgumentException(FORMAT_VARIABLE + " must be 'text' or 'json', not "
                    + ControlCharacters.quoted(env.get(FORMAT_VARIABLE)) + ".");
        }
        String level = value(env, LEVEL_VARIABLE, "info");
        if (!LEVELS.contains(level)) {
            throw new IllegalArgumentException(LEVEL_VARIABLE + " must be one of trace, debug, info, warn, error or off, not "
                    + ControlCharacters.quoted(env.get(LEVEL_VARIABLE)) + ".");
        }
        System.setProperty(FORMAT_PROPERTY, format);
        System.setProperty(LEVEL_PROPERTY, level.toUpperCase(Locale.ROOT));
    }

    /** Whether the log is JSON lines, as {@link #apply} set it (text when it did not run). */
    public static boolean json() {
        return "json".equals(System.getProperty(FORMAT_PROPERTY));
    }

    private static String value(Map<String, String> env, String variable, String fallback) {
        String value = env.get(variable);
        return value == null || value.isBlank() ? fallback : value.trim().toLowerCase(Locale.ROOT);
    }
}
