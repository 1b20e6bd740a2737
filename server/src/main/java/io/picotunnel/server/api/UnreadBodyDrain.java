package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.time.Duration;

/**
 * Reads and drops what is left of a request's body once its answer is sent, before Jetty ends the exchange: the
 * management port's one place where a body is dropped. Every answer given before the body was read to its end (a 401
 * or 403 before a write, the sign-in's CSRF 403, a DELETE sent with a body, a 404, a 413 from {@link LimitedBody})
 * otherwise closed the connection with bytes still coming, and the reset that follows reached a client still sending
 * before it read the answer (a write failing with "broken pipe", and Java's HTTP client then reports no answer at
 * all). Jetty only drops what has already arrived. At most {@link LimitedBody#DROPPED_BYTES} are read in all, what the
 * handler read counted, for at most {@link LimitedBody#DROP_TIME} (a read waiting then included); a body declared
 * larger, or one still coming or stalled after that time, has its connection closed as before. A client that sends its
 * body only once asked ({@code Expect: 100-continue}) and was not asked (nothing of it read) is left alone: it sends
 * none unless asked, and a look at the input would ask it ({@link LimitedBody#sentOnlyIfAsked}). A body that came
 * too slowly ({@link LimitedBody.TooSlow#answered}) is not waited on further: its connection closes.
 */
final class UnreadBodyDrain implements Filter {

    private final Duration dropTime;

    /** A drain that reads the rest of a body for up to {@code dropTime} ({@link LimitedBody#DROP_TIME} on the port). */
    UnreadBodyDrain(Duration dropTime) {
        this.dropTime = dropTime;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        chain.doFilter(request, response);
        if (request.isAsyncStarted() || request.getContentLengthLong() > LimitedBody.DROPPED_BYTES
                || LimitedBody.TooSlow.answered(request)) {
            return;
        }
        long read = Request.getContentBytesRead(ServletContextRequest.getServletContextRequest(request));
        if (read == 0 && request instanceof HttpServletRequest http && LimitedBody.sentOnlyIfAsked(http)) {
            return;
        }
        ServletInputStream in;
        try {
            in = request.getInputStream();
        } catch (IllegalStateException readAsText) {
            return;
        }
        if (in.isFinished()) {
            return;
        }
        try {
            response.flushBuffer(); // the answer first, so the client reads it while the rest comes
        } catch (IOException clientGone) {
            return;
        }
        LimitedBody.dropRest(request, LimitedBody.DROPPED_BYTES - read, dropTime);
    }
}
