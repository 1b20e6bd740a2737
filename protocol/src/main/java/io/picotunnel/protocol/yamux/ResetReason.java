package io.picotunnel.protocol.yamux;

/**
 * Why a stream was reset, carried in the length field of the WindowUpdate|RST frame (ours, see
 * {@code docs/protocol.md}): the client says why it could not connect a stream to its target, or that it resets
 * the streams still open because it stops (or refuses one opened as it stopped, or beyond its stream limit), and either side says when it reset
 * a stream because its session held more unread data than its buffer limit. hashicorp/yamux
 * and older PicoTunnel servers ignore the length of an RST frame, so the code is backward compatible; 0 (and
 * any code not known here) means no reason given.
 */
public enum ResetReason {
    /** No reason given (0), or one this side does not know. */
    NONE(0),
    /** The target is not in the client's {@code --allow} list. */
    NOT_ALLOWED(1),
    /** The target refused the connection (nothing listens there). */
    TARGET_REFUSED(2),
    /** The target did not answer within the client's dial timeout. */
    TARGET_TIMEOUT(3),
    /** The target's host name did not resolve. */
    UNKNOWN_HOST(4),
    /**
     * The receiver held more data not yet read than its session buffer limit, and this stream's reader had gone
     * longest without taking any; or a Data frame found no memory to wait in for its reader: one of this stream, or
     * one of another stream while this stream's reader had taken nothing for 1 s or more.
     */
    BUFFER_LIMIT(5),
    /** The client has no route to the target: its host or its network is unreachable (EHOSTUNREACH, ENETUNREACH). */
    TARGET_UNREACHABLE(6),
    /**
     * The client is stopping (SIGTERM, {@code TunnelClient.stop}), and the stream was still open when its shutdown
     * grace period ended.
     */
    CLIENT_STOPPING(7),
    /**
     * The receiver refused the stream at its SYN, before taking any of it, because it had sent GoAway (a client that
     * stops) and the SYN crossed it: nothing of the stream went anywhere, so it may be opened on another session, as
     * HTTP/2's REFUSED_STREAM. Also what a reset with no reason before the ACK, after the peer's GoAway, is taken for:
     * hashicorp/yamux's refusal, which carries no code.
     */
    REFUSED_GOING_AWAY(8),
    /**
     * The receiver refused the stream at its SYN, before taking any of it, because it had as many streams open as it
     * may ({@code --max-streams}): nothing of the stream went anywhere, so it may be opened on another session.
     */
    REFUSED_STREAM_LIMIT(9);

    private final int code;

    ResetReason(int code) {
        this.code = code;
    }

    /** The receiver refused the stream at its SYN: nothing of it went anywhere, and it may be opened elsewhere. */
    public boolean refused() {
        return this == REFUSED_GOING_AWAY || this == REFUSED_STREAM_LIMIT;
    }

    /** The value of the RST frame's length field. */
    public int code() {
        return code;
    }

    public static ResetReason of(long code) {
        for (ResetReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return NONE;
    }
}
