package io.picotunnel.protocol.yamux;

/** The peer broke the yamux protocol; the session answers with GoAway(PROTOCOL_ERROR) and closes. */
public final class YamuxProtocolException extends RuntimeException {

    public YamuxProtocolException(String message) {
        super(message);
    }
}
