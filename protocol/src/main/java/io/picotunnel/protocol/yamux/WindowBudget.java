package io.picotunnel.protocol.yamux;

/**
 * How much all streams of one session may grow their receive windows beyond the initial 256 KiB each, so that
 * auto-tuned windows keep the session's memory bounded however many streams it carries. Event loop only.
 */
final class WindowBudget {

    private final long total;
    private long granted;

    WindowBudget(long total) {
        this.total = total;
    }

    /** Takes up to {@code wanted} bytes; returns what was granted (0 when the budget is spent). */
    long take(long wanted) {
        long granting = Math.max(0, Math.min(wanted, total - granted));
        granted += granting;
        return granting;
    }

    void give(long bytes) {
        granted = Math.max(0, granted - bytes);
    }

    long granted() {
        return granted;
    }
}
