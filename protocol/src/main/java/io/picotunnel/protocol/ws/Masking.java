package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ThreadLocalRandom;

/** The XOR of WebSocket masking (RFC 6455 5.3), eight bytes at a time: in place, or while copying. */
final class Masking {

    /** The bytes of a mask key. */
    static final int KEY_LENGTH = 4;

    private Masking() {
    }

    /**
     * Masks a client's frame with a key of its own (RFC 6455 5.3: a fresh one for each frame): puts the key in the
     * place {@link FrameHeaders#write} left for it before {@code payloadStart}, masks in place the payload's bytes
     * {@code out} holds from there, then copies in {@code rest}'s readable bytes, masked as the payload's last.
     */
    static void maskWithFreshKey(ByteBuf out, int payloadStart, ByteBuf rest) {
        int key = ThreadLocalRandom.current().nextInt();
        out.setInt(payloadStart - KEY_LENGTH, key);
        int written = out.writerIndex() - payloadStart;
        if (written > 0) {
            xor(out, payloadStart, written, key, 0);
        }
        int length = rest.readableBytes();
        out.ensureWritable(length);
        copyMasked(rest, rest.readerIndex(), length, out, out.writerIndex(), key, written);
        out.writerIndex(out.writerIndex() + length);
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
            ByteBuffer view = buf.nioBuffer(index, length).order(ByteOrder.BIG_ENDIAN);
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

    /**
     * Copies {@code length} bytes of {@code src} from {@code srcIndex} to {@code dst} at {@code dstIndex}, masked with
     * {@code key} from byte {@code offset} of the payload: one pass over the bytes instead of a copy and a second pass.
     * {@code dst}'s writer index is left alone.
     */
    private static void copyMasked(ByteBuf src, int srcIndex, int length, ByteBuf dst, int dstIndex, int key,
            int offset) {
        if (dst.nioBufferCount() != 1 || src.nioBufferCount() < 1) {
            dst.setBytes(dstIndex, src, srcIndex, length);
            xor(dst, dstIndex, length, key, offset);
            return;
        }
        ByteBuffer out = dst.nioBuffer(dstIndex, length).order(ByteOrder.BIG_ENDIAN);
        int done = 0;
        for (ByteBuffer in : src.nioBuffers(srcIndex, length)) {
            in.order(ByteOrder.BIG_ENDIAN);
            int n = in.remaining();
            int from = in.position();
            int rotated = Integer.rotateLeft(key, 8 * ((offset + done) & 3));
            long key8 = (rotated & 0xFFFFFFFFL) << 32 | (rotated & 0xFFFFFFFFL);
            int i = 0;
            for (; i + 8 <= n; i += 8) {
                out.putLong(done + i, in.getLong(from + i) ^ key8);
            }
            for (; i < n; i++) {
                out.put(done + i, (byte) (in.get(from + i) ^ rotated >>> 24 - 8 * (i & 3)));
            }
            done += n;
        }
    }
}
