package io.picotunnel.protocol.yamux;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_ACK;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_FIN;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.hasFlag;

/**
 * The state machine of one stream (spec.md "Message Flow"), like stream.go's {@code processFlags}: the opening
 * handshake (SYN / ACK) and the two half-closes (FIN each way), or RST. Flags are bits and tested as bits, so a
 * frame may carry several (ACK|FIN, SYN|FIN, ...). Transitions the spec does not allow are protocol errors, but for
 * data after the peer's FIN, which resets the stream alone ({@link Transition#dataAfterFin}).
 */
final class StreamState {

    enum Phase {
        /** Both directions open. */
        OPEN,
        /** We sent FIN; the peer may still send. */
        LOCAL_CLOSE,
        /** The peer sent FIN; we may still send. */
        REMOTE_CLOSE,
        /** FIN both ways. */
        CLOSED,
        /** RST from either side. */
        RESET
    }

    /**
     * What an incoming frame changed.
     *
     * @param dataAfterFin the frame carries data although the peer had sent FIN: the stream is to be reset (the data
     *                     dropped), not the session ended, since hashicorp/yamux can send it (a {@code Write} that
     *                     passed its state check races a {@code Close}) and accepts it itself
     */
    record Transition(boolean acknowledged, boolean remoteFinished, boolean reset, boolean dataAfterFin) {
    }

    private static final Transition NOTHING = new Transition(false, false, false, false);
    private static final Transition DATA_AFTER_FIN = new Transition(false, false, false, true);

    private Phase phase = Phase.OPEN;
    /** Our first frame must carry SYN (we open the stream). */
    private boolean synToSend;
    /** Our first frame must carry ACK (the peer opened the stream). */
    private boolean ackToSend;
    /** We sent SYN and the peer has not acknowledged it yet. */
    private boolean awaitingAck;
    /** The peer reset the stream we opened before acknowledging it (an ACK on the RST frame acknowledges it). */
    private boolean resetUnacknowledged;

    private StreamState(boolean outbound) {
        synToSend = outbound;
        ackToSend = !outbound;
    }

    /** A stream we open: our first frame carries SYN. */
    static StreamState outbound() {
        return new StreamState(true);
    }

    /** A stream the peer opened with SYN: our first frame carries ACK. */
    static StreamState inbound() {
        return new StreamState(false);
    }

    Phase phase() {
        return phase;
    }

    boolean awaitingAck() {
        return awaitingAck;
    }

    /** We opened the stream and the peer has not acknowledged it (its SYN may not even be written yet). */
    boolean unacknowledged() {
        return synToSend || awaitingAck;
    }

    boolean resetUnacknowledged() {
        return resetUnacknowledged;
    }

    boolean isTerminal() {
        return phase == Phase.CLOSED || phase == Phase.RESET;
    }

    boolean inputOpen() {
        return phase == Phase.OPEN || phase == Phase.LOCAL_CLOSE;
    }

    boolean outputOpen() {
        return phase == Phase.OPEN || phase == Phase.REMOTE_CLOSE;
    }

    /** The flags our next frame on this stream must carry (SYN or ACK once), as stream.go's {@code sendFlags}. */
    int takeSendFlags() {
        if (synToSend) {
            synToSend = false;
            awaitingAck = true;
            return FLAG_SYN;
        }
        if (ackToSend) {
            ackToSend = false;
            return FLAG_ACK;
        }
        return 0;
    }

    /**
     * Applies the flags of an incoming Data or WindowUpdate frame. The SYN that created an inbound stream is
     * not passed here; a SYN for a stream that exists is a duplicate.
     *
     * @param carriesData the frame is a Data frame with a payload (checked against the state before the frame's
     *                    own FIN, which comes after its payload)
     */
    Transition onFrame(int flags, boolean carriesData, int streamId) {
        if (hasFlag(flags, FLAG_RST)) {
            resetUnacknowledged = unacknowledged() && !hasFlag(flags, FLAG_ACK);
            phase = Phase.RESET;
            awaitingAck = false;
            return new Transition(false, false, true, false);
        }
        if (hasFlag(flags, FLAG_SYN)) {
            throw new YamuxProtocolException("duplicate SYN for open stream " + Integer.toUnsignedLong(streamId));
        }
        if (carriesData && !inputOpen() && !hasFlag(flags, FLAG_FIN)) {
            // Not a protocol error: stream.go accepts it; the stream alone goes (a second FIN stays an error, below).
            return DATA_AFTER_FIN;
        }
        boolean acknowledged = false;
        if (hasFlag(flags, FLAG_ACK) && awaitingAck) {
            // An ACK we are not waiting for is ignored, as stream.go does.
            awaitingAck = false;
            acknowledged = true;
        }
        boolean finished = false;
        if (hasFlag(flags, FLAG_FIN)) {
            phase = switch (phase) {
                case OPEN -> Phase.REMOTE_CLOSE;
                case LOCAL_CLOSE -> Phase.CLOSED;
                default -> throw new YamuxProtocolException(
                        "unexpected FIN in state " + phase + " on stream " + Integer.toUnsignedLong(streamId));
            };
            finished = true;
        }
        if (!acknowledged && !finished) {
            return NOTHING;
        }
        return new Transition(acknowledged, finished, false, false);
    }

    /** We send FIN. */
    void onLocalFin() {
        phase = switch (phase) {
            case OPEN -> Phase.LOCAL_CLOSE;
            case REMOTE_CLOSE -> Phase.CLOSED;
            default -> throw new IllegalStateException("FIN already sent or stream reset: " + phase);
        };
    }

    /** We send RST. */
    void onLocalReset() {
        phase = Phase.RESET;
        awaitingAck = false;
    }
}
