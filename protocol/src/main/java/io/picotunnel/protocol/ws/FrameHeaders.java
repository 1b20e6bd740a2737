package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;

/** The first bytes of a WebSocket frame (RFC 6455 5.2), up to its mask key, as Netty's encoders write them. */
final class FrameHeaders {

    /** The most bytes a frame holds before its payload: two, an 8-byte length and a 4-byte mask key. */
    static final int MAX_LENGTH = 14;

    private FrameHeaders() {
    }

    /** The byte of FIN, RSV and opcode, then the mask bit and the payload's {@code length} in as few bytes as it takes. */
    static void write(ByteBuf out, int firstByte, int length, boolean masked) {
        int maskBit = masked ? 0x80 : 0;
        out.writeByte(firstByte);
        if (length <= 125) {
            out.writeByte(maskBit | length);
        } else if (length <= 0xFFFF) {
            out.writeByte(maskBit | 126).writeShort(length);
        } else {
            out.writeByte(maskBit | 127).writeLong(length);
        }
    }
}
