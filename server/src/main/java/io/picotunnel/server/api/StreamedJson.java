package io.picotunnel.server.api;

import com.fasterxml.jackson.core.JsonGenerator;
import io.javalin.http.Context;
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
 * Jackson's generator would otherwise close the open array and object when closed in a {@code finally} (its
 * {@code AUTO_CLOSE_JSON_CONTENT}), and the answer end as normal: a 200 with a whole-looking array, part of it missing.
 */
public final class StreamedJson {

    /** What is held back before the first byte is sent: an answer up to this size is sent whole, with its length. */
    static final int HELD_BYTES = 64 * 1024;

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
        HeldBack out = new HeldBack(ctx);
        JsonGenerator json = JsonBody.MAPPER.getFactory().createGenerator(out);
        // Never closed on a failure (a close would flush, and close the array); and should a close come, it must
        // not write the missing ends.
        json.disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
        body.write(json);
        json.close();
    }

    /**
     * Ends {@code ctx}'s response abnormally, for an answer that failed once its first bytes were sent: Jetty closes
     * the connection without the last chunk, so the client's read fails.
     */
    static void abort(Context ctx, Throwable failure) {
        ServletContextRequest.getServletContextRequest(ctx.req()).getServletChannel().abort(failure);
    }

    /**
     * Holds the first {@link #HELD_BYTES} bytes back; past them, sends them and commits the response (a flush: the
     * status and headers go out), so that from then on "committed" says that part of the answer was sent. Closed with
     * less, it gives them to Javalin as the result (sent with a Content-Length, compressed as any answer).
     */
    private static final class HeldBack extends OutputStream {
        private final Context ctx;
        private ByteArrayOutputStream held = new ByteArrayOutputStream();
        private OutputStream sent;

        HeldBack(Context ctx) {
            this.ctx = ctx;
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
            held.write(bytes, offset, length);
            if (held.size() > HELD_BYTES) {
                sent = ctx.outputStream();
                held.writeTo(sent);
                held = null;
                sent.flush();
            }
        }

        @Override
        public void flush() throws IOException {
            if (sent != null) {
                sent.flush();
            }
        }

        @Override
        public void close() throws IOException {
            if (sent != null) {
                sent.close();
            } else if (held != null) {
                ctx.result(held.toByteArray());
                held = null;
            }
        }
    }
}
