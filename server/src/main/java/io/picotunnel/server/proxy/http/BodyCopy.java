package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.function.Consumer;

/**
 * The request body sent up a stream, kept so that it can go again to another client when the stream is refused
 * before its ACK. Only a small body is kept: past {@link #MAX_BYTES} what is kept is let go and the body cannot be
 * sent again. Its bytes are copied into one buffer of their own: a piece kept as it came would keep alive the whole
 * buffer it was read into (~16 KiB behind a one-byte HTTP/2 DATA frame, a decoder's cumulation for an HTTP/1 chunk),
 * and one object per piece, 65,536 of them for a body of one-byte pieces. The bytes kept are counted in a
 * {@link BodyCopyBudget} shared by all the exchanges: past it the body is let go too, and its bytes go back to the
 * budget once, when the body is let go.
 */
final class BodyCopy {

    static final int MAX_BYTES = 64 * 1024;

    private final BodyCopyBudget budget;
    /** Null until a byte is kept (most requests have no body), and once let go. */
    private ByteBuf bytes;
    private int size;
    /** Bytes taken from {@link #budget}, given back when the body is let go. */
    private int counted;
    /** The last piece's trailers, once it came: the body is whole. */
    private HttpHeaders trailers;
    private boolean letGo;

    BodyCopy(BodyCopyBudget budget) {
        this.budget = budget;
    }

    /** Copies {@code content}, on its way up the stream, unless the body is too big to keep. */
    void keep(HttpContent content) {
        if (letGo) {
            return;
        }
        ByteBuf piece = content.content();
        int length = piece.readableBytes();
        size += length;
        if (size > MAX_BYTES) {
            release();
            return;
        }
        if (length > 0 && !budget.take(length)) {
            release();
            return;
        }
        counted += length;
        if (length > 0 && !copied(piece, length)) {
            release();
            return;
        }
        if (content instanceof LastHttpContent last) {
            trailers = last.trailingHeaders().copy();
        }
    }

    /**
     * Copies {@code length} bytes of {@code piece} into the heap (not the direct memory the reads fill), false if there
     * is no memory for it: the caller, which has the piece to send on, must not fail because the body cannot be kept.
     */
    private boolean copied(ByteBuf piece, int length) {
        try {
            if (bytes == null) {
                bytes = piece.alloc().heapBuffer(length, MAX_BYTES);
            }
            bytes.writeBytes(piece, piece.readerIndex(), length);
            return true;
        } catch (OutOfMemoryError | RuntimeException e) {
            return false;
        }
    }

    /** The whole body is kept: it can be sent again. */
    boolean isWhole() {
        return !letGo && trailers != null;
    }

    /** Hands the whole body kept, as one last piece, to {@code write}, which takes its own reference; keeps it still. */
    void writeTo(Consumer<HttpContent> write) {
        ByteBuf content = bytes == null ? Unpooled.EMPTY_BUFFER : bytes.retainedDuplicate();
        write.accept(new DefaultLastHttpContent(content, trailers));
    }

    /** Lets go of what was kept, its bytes back to the budget; nothing is kept from now on. */
    void release() {
        letGo = true;
        budget.giveBack(counted);
        counted = 0;
        if (bytes != null) {
            bytes.release();
            bytes = null;
        }
    }
}
