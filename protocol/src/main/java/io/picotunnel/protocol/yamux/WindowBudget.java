package io.picotunnel.protocol.yamux;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How much all streams of one session may grow their receive windows beyond the initial 256 KiB each, so that
 * auto-tuned windows keep the session's memory bounded however many streams it carries. Taken and given on the
 * event loop; {@link #granted} may be read from any thread.
 */
final class WindowBudget {

    private static final Logger log = LoggerFactory.getLogger(WindowBudget.class);

    private final long total;
    /** Written on the event loop only (taken and given back rarely: at a window's growth and its stream's end). */
    private volatile long granted;
    private boolean overReturnLogged;

    WindowBudget(long total) {
        this.total = total;
    }

    /** Takes up to {@code wanted} bytes; returns what was granted (0 when the budget is spent). */
    long take(long wanted) {
        long granting = Math.max(0, Math.min(wanted, total - granted));
        granted += granting;
        return granting;
    }

    /**
     * Gives back growth taken with {@link #take}. More than is granted is a bug (a window released twice, or one
     * that never took from the budget): said once at WARN with the amounts, and the count stays at 0, so that the
     * session goes on, its streams at worst allowed to grow more than the budget meant.
     */
    void give(long bytes) {
        if (bytes > granted) {
            if (!overReturnLogged) {
                overReturnLogged = true;
                log.warn("a yamux session's window budget was given back {} bytes while only {} were taken (a"
                        + " receive window released twice?); counting from 0; said once per session", bytes, granted);
            }
            granted = 0;
            return;
        }
        granted -= bytes;
    }

    long granted() {
        return granted;
    }
}
