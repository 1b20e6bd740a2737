package io.picotunnel.testkit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

import java.util.ArrayList;
import java.util.List;

/**
 * Watches every logging call in this JVM, at any level and whether or not it is printed, for a throwable of
 * one type: as the logged exception or in its causes, or as a message argument (the throwable itself, or a
 * string naming it, as when {@code cause.toString()} is logged). Other arguments are not formatted. Netty catches what a handler throws, even a
 * {@link StackOverflowError}, and only logs it (often at debug level), so a test that must not overflow the
 * stack watches for it here. Works through logback, the binding of every module's tests.
 */
public final class LogWatch implements AutoCloseable {

    private static final int MAX_KEPT = 20;

    private final Class<? extends Throwable> type;
    private final LoggerContext context;
    private final Filter filter = new Filter();
    private final List<String> seen = new ArrayList<>();
    private volatile boolean overflowWhileLogging;

    private LogWatch(Class<? extends Throwable> type) {
        this.type = type;
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (!(factory instanceof LoggerContext logback)) {
            throw new AssertionError("LogWatch needs logback as the slf4j binding, found " + factory.getClass().getName());
        }
        this.context = logback;
        filter.setName("LogWatch(" + type.getSimpleName() + ")");
        filter.start();
        context.addTurboFilter(filter);
    }

    /** Starts watching for {@code type} until {@link #close()}. */
    public static LogWatch forThrowable(Class<? extends Throwable> type) {
        return new LogWatch(type);
    }

    /** The logging calls that carried the throwable ("LEVEL logger: message [what named it]"), the first few. */
    public synchronized List<String> seen() {
        List<String> all = new ArrayList<>(seen);
        if (overflowWhileLogging) {
            all.add("(the stack overflowed inside a logging call)");
        }
        return all;
    }

    /** True once any logging call carried the throwable. */
    public boolean sawAny() {
        return overflowWhileLogging || !seen().isEmpty();
    }

    /** Fails with what was logged if any logging call carried the throwable. */
    public void assertNone() {
        List<String> found = seen();
        if (!found.isEmpty()) {
            throw new AssertionError(type.getName() + " was logged:\n" + String.join("\n", found));
        }
    }

    @Override
    public void close() {
        context.getTurboFilterList().remove(filter);
        filter.stop();
    }

    private synchronized void record(Level level, Logger logger, String format, String evidence) {
        if (seen.size() < MAX_KEPT) {
            seen.add(level + " " + (logger == null ? "?" : logger.getName()) + ": " + format + " [" + evidence + "]");
        }
    }

    /** What in {@code o} names the watched type, or null. */
    private String evidence(Object o) {
        if (o instanceof Throwable t) {
            for (int depth = 0; t != null && depth < 20; depth++, t = t.getCause()) {
                if (type.isInstance(t)) {
                    return t.toString();
                }
            }
            return null;
        }
        return o instanceof CharSequence text && text.toString().contains(type.getName()) ? text.toString() : null;
    }

    private final class Filter extends TurboFilter {

        @Override
        public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
            try {
                String found = evidence(t) != null ? evidence(t) : evidence(format);
                for (int i = 0; found == null && params != null && i < params.length; i++) {
                    found = evidence(params[i]);
                }
                if (found != null) {
                    record(level, logger, format, found);
                }
            } catch (StackOverflowError e) {
                // Logging from a nearly exhausted stack: that is the overflow being watched for, or close to it.
                if (type.isInstance(e)) {
                    overflowWhileLogging = true;
                }
            }
            return FilterReply.NEUTRAL;
        }
    }
}
