package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;

import java.nio.ByteBuffer;

/** The XOR of WebSocket masking (RFC 6455 5.3), in place, eight bytes at a time. */
final class Masking {

    private Masking() {
    }

    /**
     * XORs {@code length} bytes of {@code buf} from {@code index} with the mask {@code key} (its four bytes
     * big-endian, as on the wire): byte {@code i} with key byte {@code (offset + i) % 4}, {@code offset} being where
     * this piece starts in its frame's payload.
     */
    static void xor(ByteBuf buf, int index, int length, int key, int offset) {
        int rotated = Integer.rotateLeft(key, 8 * (offset & 3));
        long key8 = (rotated & 0xFFFFFFFFL) << 32 | (rotated & 0xFFFFFFFFL);
        int i = 0;
        if (buf.nioBufferCount() == 1) {
            // A view on the same memory: its accessors are intrinsics, where each ByteBuf access of a slice
            // checks its index and the reference count of the buffer under it.
            ByteBuffer view = buf.nioBuffer(index, length);
            for (; i + 8 <= length; i += 8) {
                view.putLong(i, view.getLong(i) ^ key8);
            }
            for (; i < length; i++) {
                view.put(i, (byte) (view.get(i) ^ rotated >>> 24 - 8 * (i & 3)));
            }
            return;
        }
        for (; i + 8 <= length; i += 8) {
            buf.setLong(index + i, buf.getLong(index + i) ^ key8);
        }
        for (; i < length; i++) {
            buf.setByte(index + i, buf.getByte(index + i) ^ rotated >>> 24 - 8 * (i & 3));
        }
    }
}
