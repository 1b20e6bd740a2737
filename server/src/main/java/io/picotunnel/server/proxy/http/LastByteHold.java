package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * The last byte of an HTTP/2 request body of announced length (content-length), held back from the target until the
 * stream's END_STREAM: the body goes up with that Content-Length, and a target given every byte of it has a whole
 * request, though the visitor may still reset the stream or close its connection before ending it. Held, the target is
 * reset with a byte missing instead. One byte, at most one per exchange, copied out of the buffer it was read into.
 */
final class LastByteHold {

    /** Whether the body has an announced length: else nothing is held. */
    private final boolean announced;
    /** Bytes of the announced length not passed on yet; below 0 once more came than announced. */
    private long left;
    private ByteBuf held;

    private LastByteHold(long contentLength) {
        this.announced = contentLength >= 0;
        this.left = contentLength;
    }

    /** For {@code request}'s body: one that holds nothing unless it came over HTTP/2 with a content-length. */
    static LastByteHold of(HttpRequest request, boolean http2) {
        long length = -1;
        if (http2) {
            try {
                length = HttpUtil.getContentLength(request, -1L);
            } catch (NumberFormatException e) {
                // the HTTP/2 codec refuses a stream whose content-length is not a number: never here
            }
        }
        return new LastByteHold(length);
    }

    /** {@code content}, or what goes up in its place: without the body's last byte, or with it once the stream ended. */
    HttpContent passOn(HttpContent content) {
        if (content instanceof LastHttpContent last) {
            return held == null ? content : withTheHeldByte(last);
        }
        ByteBuf piece = content.content();
        int length = piece.readableBytes();
        if (!announced || length == 0 || (left -= length) > 0) {
            return content;
        }
        // A copy: a slice would keep alive the whole buffer the piece was read into, no longer counted by the
        // Http2UploadBudget once passed on, for as long as the visitor keeps the stream open.
        ByteBuf last = piece.alloc().heapBuffer(1, 1).writeByte(piece.getByte(piece.readerIndex() + length - 1));
        ByteBuf rest = piece.retainedSlice(piece.readerIndex(), length - 1);
        content.release();
        // More than announced (which the HTTP/2 codec refuses before it gets here): the byte held before goes first.
        ByteBuf before = held;
        held = last;
        return new DefaultHttpContent(before == null ? rest : Unpooled.wrappedBuffer(before, rest));
    }

    private LastHttpContent withTheHeldByte(LastHttpContent last) {
        ByteBuf body = Unpooled.wrappedBuffer(held, last.content()); // takes both references
        held = null;
        return new DefaultLastHttpContent(body, last.trailingHeaders());
    }

    /** Lets go of the byte held, if any: the body will not end. */
    void release() {
        if (held != null) {
            held.release();
            held = null;
        }
    }
}
