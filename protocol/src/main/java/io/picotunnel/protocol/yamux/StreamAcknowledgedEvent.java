package io.picotunnel.protocol.yamux;

/**
 * Fired as a user event through the pipeline of a stream we opened when the peer's ACK arrives, once. The open
 * future completes earlier, at the SYN: until this event the peer may still refuse the stream
 * ({@link ResetReason#refused()}) without its target having seen anything written to it.
 */
public final class StreamAcknowledgedEvent {

    public static final StreamAcknowledgedEvent INSTANCE = new StreamAcknowledgedEvent();

    private StreamAcknowledgedEvent() {
    }

    @Override
    public String toString() {
        return "StreamAcknowledgedEvent";
    }
}
