package io.picotunnel.protocol.yamux;

import java.io.IOException;

/** {@link YamuxSession#openStream} could not open a stream: the session is closed, going away, or full. */
public final class StreamOpenException extends IOException {

    private final boolean atStreamLimit;

    public StreamOpenException(String message) {
        this(message, false);
    }

    private StreamOpenException(String message, boolean atStreamLimit) {
        super(message);
        this.atStreamLimit = atStreamLimit;
    }

    /** The session has {@code maxStreams} streams open: one opens again once some end. */
    static StreamOpenException streamLimit(int maxStreams) {
        return new StreamOpenException("stream limit of " + maxStreams + " reached", true);
    }

    /** True when the session was full, not closed or going away. */
    public boolean atStreamLimit() {
        return atStreamLimit;
    }
}
