package io.picotunnel.server.net;

import io.javalin.http.Handler;

import java.time.Duration;

/**
 * The handler of a POST that reads its body by {@link LimitedBody#read} within a read time, as the management API's
 * handlers do: it answers "read N" (N the body's length, -1 for none), or, for a body too slow, the answer of
 * {@link LimitedBody.TooSlow}.
 */
public final class ReadingHandler {

    private ReadingHandler() {
    }

    public static Handler within(Duration readTime) {
        return ctx -> {
            try {
                ctx.result("read " + LimitedBody.read(ctx.req(), readTime).map(bytes -> bytes.length).orElse(-1));
            } catch (LimitedBody.TooSlow e) {
                ctx.status(e.answer(ctx.req(), ctx.res())).result(e.getMessage());
            }
        };
    }
}
