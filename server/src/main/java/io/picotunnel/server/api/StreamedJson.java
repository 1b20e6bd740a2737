package io.picotunnel.server.api;

import com.fasterxml.jackson.core.JsonGenerator;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A JSON answer written as it is made, for a route whose answer is too large to build whole (a list read from the
 * database a part at a time). Either the client gets the whole answer, or one it cannot take for whole:
 * <ul>
 *   <li>the first {@value #HELD_BYTES} bytes are held back: when the writing fails before then (a database read),
 *       nothing has been sent, and the exception goes on to the API's exception handlers, which answer the usual JSON
 *       error with its status (503 {@code database_busy}, 500 {@code internal_error});</li>
 *   <li>past them, the answer is sent as it comes, and a failure can no longer change its status: the exception
 *       handlers then abort the response ({@link #abort}): the connection is closed before the end of the chunked
 *       body, and the JSON is left open, so that no client takes the part it received for the whole answer.</li>
 * </ul>
 * <p>
 * HEAD sends no body, so it need not send its status before the answer is made: the whole answer is made (and what
 * is past the first {@value #HELD_BYTES} bytes dropped) before anything is sent, and a failure anywhere in it is the
 * JSON error a GET could give only before then. The status and headers are then those of the GET.
 * <p>
 * Jackson's generator would otherwise close the open array and object when closed in a {@code finally} (its
 * {@code AUTO_CLOSE_JSON_CONTENT}), and the answer end as normal: a 200 with a whole-looking array, part of it missing.
 * <p>
 * "Sent" is marked on the request ({@link #begun}) and the response committed at once, rather than read off
 * {@code isCommitted()} alone: to a client that takes gzip, Javalin compresses without flushing, and Jetty commits
 * only once its buffer holds 32 KiB of compressed bytes (several hundred KiB of JSON); an error written in that window
 * went into the same gzip stream after the part of the array, as a 500.
 */
public final class StreamedJson {

    /**
     * What is held back (of JSON, before any compression) before the first byte is sent: an answer up to this size
     * goes to Javalin whole, as any other answer.
     */
    static final int HELD_BYTES = 64 * 1024;
    /** The request attribute that says the answer began to be sent: see {@link #begun}. */
    private static final String BEGUN = StreamedJson.class.getName() + ".begun";

    /** Writes the whole answer onto {@code json}; an exception leaves it unfinished. */
    @FunctionalInterface
    public interface Body {
        void write(JsonGenerator json) throws IOException;
    }

    private StreamedJson() {
    }

    /**
     * Answers 200 {@code application/json} with what {@code body} writes. When it throws, the exception is thrown on as
     * it is: with nothing sent, the exception handlers answer it; with the answer begun, they abort it.
     */
    public static void answer(Context ctx, Body body) throws IOException {
        ctx.status(200).contentType("application/json");
        HeldBack out = new HeldBack(ctx, ctx.method() == HandlerType.HEAD);
        JsonGenerator json = JsonBody.MAPPER.getFactory().createGenerator(out);
        // Never closed on a failure (a close would flush, and close the array); and should a close come, it must
        // not write the missing ends.
        json.disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
        body.write(json);
        json.close();
    }

    /**
     * Whether part of {@code ctx}'s answer was sent (or is on its way: compressed, not yet out of Javalin's gzip
     * stream), so that an error can no longer be answered, only {@link #abort cut} it.
     */
    static boolean begun(Context ctx) {
        return ctx.res().isCommitted() || ctx.attribute(BEGUN) != null;
    }

    /**
     * Ends {@code ctx}'s response abnormally, for an answer that failed once its first bytes were sent: its
     * connection is closed at once, without the last chunk (nor, gzipped, the end of the gzip stream), so the client's
     * read fails.
     */
    static void abort(Context ctx, Throwable failure) {
        ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
        request.getServletChannel().abort(failure);
        // The abort alone takes effect once the request is done, and Javalin closes its gzip stream before: the end of
        // the gzip stream and the last chunk went out, the answer ended as if whole. The connection (HTTP/1.1: this
        // answer's own) is closed now, so that nothing more goes out.
        request.getConnectionMetaData().getConnection().getEndPoint().close(failure);
    }

    /**
     * Holds the first {@link #HELD_BYTES} bytes back; past them, marks the answer {@link #begun}, sends them and
     * commits the response (the status and headers go out, Content-Encoding too). Closed with less, it gives them to
     * Javalin as the result, sent as any answer: compressed for a client that takes it; with a Content-Length when
     * it fits Jetty's buffer (32 KiB, once compressed if it is), chunked otherwise.
     * <p>
     * For HEAD, past them it drops the rest, and sends them only once closed (the answer made whole), so that the
     * headers are those of the GET (chunked, compressed or not); Jetty sends no body to a HEAD.
     */
    private static final class HeldBack extends OutputStream {
        private final Context ctx;
        private final boolean head;
        private ByteArrayOutputStream held = new ByteArrayOutputStream();
        private OutputStream sent;
        private boolean dropping;

        HeldBack(Context ctx, boolean head) {
            this.ctx = ctx;
            this.head = head;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            if (sent != null) {
                sent.write(bytes, offset, length);
                return;
            }
            if (dropping) {
                return;
            }
            held.write(bytes, offset, length);
            if (held.size() > HELD_BYTES) {
                if (head) {
                    dropping = true;
                    return;
                }
                ctx.attribute(BEGUN, true); // first: from here on, an error can only cut the answer
                send();
            }
        }

        private void send() throws IOException {
            sent = ctx.outputStream();
            held.writeTo(sent);
            held = null;
            ctx.res().flushBuffer(); // Javalin's stream does nothing on flush(), compressing or not
        }

        /** Commits the response, once the answer is being sent; what Javalin's gzip stream holds stays there. */
        @Override
        public void flush() throws IOException {
            if (sent != null) {
                ctx.res().flushBuffer();
            }
        }

        @Override
        public void close() throws IOException {
            if (dropping) {
                dropping = false;
                send();
            }
            if (sent != null) {
                sent.close();
            } else if (held != null) {
                ctx.result(held.toByteArray());
                held = null;
            }
        }
    }
}
