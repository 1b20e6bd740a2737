package io.picotunnel.protocol.yamux;

import java.io.IOException;

/** A write failed because its stream was reset (RST), or the session ended before the data was sent. */
public final class StreamResetException extends IOException {

    public StreamResetException(String message) {
        super(message);
    }

    public StreamResetException(String message, Throwable cause) {
        super(message, cause);
    }
}
