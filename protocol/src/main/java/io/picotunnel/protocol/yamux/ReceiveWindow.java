package io.picotunnel.protocol.yamux;

/**
 * Receive-side flow control of one stream. The peer may send as many bytes as the window allows; more is a
 * protocol error. Credit goes back as the application consumes data, once the owed amount reaches half of the
 * maximum window (as stream.go's {@code sendWindowUpdate}), so a reader that stops reading stops the sender.
 */
final class ReceiveWindow {

    private final int max;
    /** Bytes the peer may still send. */
    private long window = YamuxSpec.INITIAL_STREAM_WINDOW;
    /** Bytes consumed by the application and not yet credited back. */
    private long consumed;

    ReceiveWindow(int max) {
        this.max = max;
    }

    /**
     * The delta that grows the peer's view of our window from the spec's initial 256 KiB to {@code max}; sent
     * with our SYN or ACK (0 with the default window, as hashicorp/yamux sends it).
     */
    long takeInitialDelta() {
        long delta = max - window;
        window = max;
        return delta;
    }

    void onData(long length, int streamId) {
        if (length > window) {
            throw new YamuxProtocolException("receive window exceeded on stream " + Integer.toUnsignedLong(streamId)
                    + ": " + length + " bytes with " + window + " left");
        }
        window -= length;
    }

    /** Records consumed bytes; returns the credit to send to the peer now, or 0. */
    long onConsumed(long length) {
        consumed += length;
        if (consumed < max / 2) {
            return 0;
        }
        long delta = consumed;
        consumed = 0;
        window += delta;
        return delta;
    }

    long window() {
        return window;
    }
}
