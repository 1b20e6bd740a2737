package io.picotunnel.protocol.yamux;

/**
 * Receive-side flow control of one stream. The peer may send as many bytes as the window allows; more is a
 * protocol error. Credit goes back as the application consumes data, once the owed amount reaches half of the
 * current window size (as stream.go's {@code sendWindowUpdate}), so a reader that stops reading stops the sender.
 *
 * <p>With auto-tuning the window size starts at the spec's 256 KiB and doubles, up to a cap and within the
 * session's {@link WindowBudget}, each time half of it was consumed within two round trips of the previous
 * credit: then the window, not the reader, limits the stream (the bandwidth-delay product exceeds it).
 */
final class ReceiveWindow {

    private final int cap;
    private final boolean autoTuning;
    private final WindowBudget budget;
    /** Current window size: what the peer may have in flight at most. */
    private long size = YamuxSpec.INITIAL_STREAM_WINDOW;
    /** Bytes the peer may still send. */
    private long window = YamuxSpec.INITIAL_STREAM_WINDOW;
    /** Bytes consumed by the application and not yet credited back. */
    private long consumed;
    /** Growth taken from the session's budget (a fixed window larger than the spec's takes none). */
    private long borrowed;
    private long lastCreditNanos = Long.MIN_VALUE;

    ReceiveWindow(int cap, boolean autoTuning, WindowBudget budget) {
        this.cap = cap;
        this.autoTuning = autoTuning;
        this.budget = budget;
    }

    /**
     * The delta that grows the peer's view of our window from the spec's initial 256 KiB to a fixed window; sent
     * with our SYN or ACK (0 with the default window or with auto-tuning, as hashicorp/yamux sends it).
     */
    long takeInitialDelta() {
        if (autoTuning) {
            return 0;
        }
        long delta = cap - window;
        window = cap;
        size = cap;
        return delta;
    }

    void onData(long length, int streamId) {
        if (length > window) {
            throw new YamuxProtocolException("receive window exceeded on stream " + Integer.toUnsignedLong(streamId)
                    + ": " + length + " bytes with " + window + " left");
        }
        window -= length;
    }

    /**
     * Records consumed bytes; returns the credit to send to the peer now, or 0.
     *
     * @param rttNanos the session's round-trip estimate, 0 while unknown (no growth then)
     */
    long onConsumed(long length, long nowNanos, long rttNanos) {
        consumed += length;
        if (consumed < size / 2) {
            return 0;
        }
        long growth = 0;
        if (autoTuning && rttNanos > 0 && size < cap && lastCreditNanos != Long.MIN_VALUE
                && nowNanos - lastCreditNanos < 2 * rttNanos) {
            growth = budget.take(Math.min(size, cap - size));
            size += growth;
            borrowed += growth;
        }
        lastCreditNanos = nowNanos;
        long delta = consumed + growth;
        consumed = 0;
        window += delta;
        return delta;
    }

    /** The stream ended: its growth goes back to the session's budget. */
    void release() {
        budget.give(borrowed);
        size -= borrowed;
        borrowed = 0;
    }

    long window() {
        return window;
    }

    long size() {
        return size;
    }

    @Override
    public String toString() {
        return "receiveWindow=" + window + "/" + size + " consumed=" + consumed;
    }
}
