package io.picotunnel.protocol.stream;

import io.netty.handler.codec.DecoderException;

/** The bytes at the start of a stream are not a valid stream header; the message says what is wrong. */
public final class StreamHeaderException extends DecoderException {

    public StreamHeaderException(String message) {
        super(message);
    }

    public StreamHeaderException(String message, Throwable cause) {
        super(message, cause);
    }
}
