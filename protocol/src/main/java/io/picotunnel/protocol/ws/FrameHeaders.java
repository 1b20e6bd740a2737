package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;

/** The first bytes of a WebSocket frame (RFC 6455 5.2), up to its payload, as Netty's encoders write them. */
final class FrameHeaders {

    private FrameHeaders() {
    }

    /** How many bytes {@link #write} writes for a payload of {@code length} bytes. */
    static int length(int length, boolean masked) {
        return 2 + extendedLengthBytes(length) + (masked ? Masking.KEY_LENGTH : 0);
    }

    /**
     * The byte of FIN, RSV and opcode, then the mask bit and the payload's {@code length} in as few bytes as it takes,
     * then, for a masked frame, the place of its key, which {@link Masking#maskWithFreshKey} fills. Returns where the
     * payload starts.
     */
    static int write(ByteBuf out, int firstByte, int length, boolean masked) {
        int maskBit = masked ? 0x80 : 0;
        out.writeByte(firstByte);
        switch (extendedLengthBytes(length)) {
            case 0 -> out.writeByte(maskBit | length);
            case 2 -> out.writeByte(maskBit | 126).writeShort(length);
            default -> out.writeByte(maskBit | 127).writeLong(length);
        }
        if (masked) {
            out.writeInt(0);
        }
        return out.writerIndex();
    }

    /** The bytes of the length after the second byte: none up to 125, 16 bits up to 65535, 64 bits above. */
    private static int extendedLengthBytes(int length) {
        return length <= 125 ? 0 : length <= 0xFFFF ? 2 : 8;
    }
}
