package io.picotunnel.protocol.yamux;

/**
 * The constants of hashicorp/yamux {@code spec.md}, in the order the spec lists them
 * (see also {@code docs/protocol.md}).
 */
public final class YamuxSpec {

    /** "Version Field": always 0. */
    public static final int VERSION = 0;

    /** "Type Field": used to transmit data; the length is the number of payload bytes after the header. */
    public static final int TYPE_DATA = 0x0;
    /** "Type Field": a delta added to the receiver's send window; the length is the delta. */
    public static final int TYPE_WINDOW_UPDATE = 0x1;
    /** "Type Field": RTT measurement and keepalive; the length is an opaque value echoed back. */
    public static final int TYPE_PING = 0x2;
    /** "Type Field": session termination; the length is an error code. */
    public static final int TYPE_GO_AWAY = 0x3;

    /** "Flag Field": start of a new stream (Data or WindowUpdate), or an outbound ping. */
    public static final int FLAG_SYN = 0x1;
    /** "Flag Field": acknowledges a new stream, or answers a ping. */
    public static final int FLAG_ACK = 0x2;
    /** "Flag Field": half-close, the sender sends no further data. */
    public static final int FLAG_FIN = 0x4;
    /** "Flag Field": hard close of the stream. */
    public static final int FLAG_RST = 0x8;

    /** "StreamID Field": 0 addresses the session (Ping and GoAway). */
    public static final int SESSION_STREAM_ID = 0;

    /** Version (1) + type (1) + flags (2) + stream id (4) + length (4) bytes, big endian. */
    public static final int HEADER_LENGTH = 12;

    /** "Flow Control": every stream starts with a 256 KiB window in each direction. */
    public static final int INITIAL_STREAM_WINDOW = 256 * 1024;

    /** "Session termination": GoAway codes. */
    public static final int GO_AWAY_NORMAL = 0x0;
    public static final int GO_AWAY_PROTOCOL_ERROR = 0x1;
    public static final int GO_AWAY_INTERNAL_ERROR = 0x2;

    /** The largest value of the 32-bit unsigned length field. */
    public static final long MAX_LENGTH_FIELD = 0xFFFF_FFFFL;

    private YamuxSpec() {
    }

    public static boolean hasFlag(int flags, int flag) {
        return (flags & flag) != 0;
    }

    public static String typeName(int type) {
        return switch (type) {
            case TYPE_DATA -> "Data";
            case TYPE_WINDOW_UPDATE -> "WindowUpdate";
            case TYPE_PING -> "Ping";
            case TYPE_GO_AWAY -> "GoAway";
            default -> "Type(" + type + ")";
        };
    }

    public static String flagNames(int flags) {
        if (flags == 0) {
            return "-";
        }
        StringBuilder sb = new StringBuilder();
        appendFlag(sb, flags, FLAG_SYN, "SYN");
        appendFlag(sb, flags, FLAG_ACK, "ACK");
        appendFlag(sb, flags, FLAG_FIN, "FIN");
        appendFlag(sb, flags, FLAG_RST, "RST");
        int unknown = flags & ~(FLAG_SYN | FLAG_ACK | FLAG_FIN | FLAG_RST);
        if (unknown != 0) {
            appendName(sb, "0x" + Integer.toHexString(unknown));
        }
        return sb.toString();
    }

    private static void appendFlag(StringBuilder sb, int flags, int flag, String name) {
        if (hasFlag(flags, flag)) {
            appendName(sb, name);
        }
    }

    private static void appendName(StringBuilder sb, String name) {
        if (!sb.isEmpty()) {
            sb.append('|');
        }
        sb.append(name);
    }
}
