package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The request body sent up a stream, kept (as retained duplicates, no copy of the bytes) so that it can go again to
 * another client when the stream is refused before its ACK. Only a small body is kept: past {@link #MAX_BYTES} the
 * pieces kept are let go and the body cannot be sent again.
 */
final class BodyCopy {

    static final int MAX_BYTES = 64 * 1024;

    /** Null until a piece is kept (most requests have no body), and once let go. */
    private List<HttpContent> pieces;
    private int bytes;
    private boolean whole;
    private boolean letGo;

    /** Keeps {@code content}, on its way up the stream, unless the body is too big to keep. */
    void keep(HttpContent content) {
        if (letGo) {
            return;
        }
        bytes += content.content().readableBytes();
        if (bytes > MAX_BYTES) {
            release();
            return;
        }
        if (pieces == null) {
            pieces = new ArrayList<>(2);
        }
        pieces.add(content.retainedDuplicate());
        whole = content instanceof LastHttpContent;
    }

    /** The whole body is kept: it can be sent again. */
    boolean isWhole() {
        return !letGo && whole;
    }

    /** Hands the body kept, piece by piece, to {@code write}, which takes its own reference; keeps it still. */
    void writeTo(Consumer<HttpContent> write) {
        for (HttpContent piece : pieces) {
            write.accept(piece.retainedDuplicate());
        }
    }

    /** Lets go of the pieces kept; nothing is kept from now on. */
    void release() {
        letGo = true;
        if (pieces != null) {
            pieces.forEach(HttpContent::release);
            pieces = null;
        }
    }
}
