package io.picotunnel.protocol.yamux;

import java.io.IOException;

/** {@link YamuxSession#openStream} could not open a stream: the session is closed, going away, or full. */
public final class StreamOpenException extends IOException {

    public StreamOpenException(String message) {
        super(message);
    }
}
