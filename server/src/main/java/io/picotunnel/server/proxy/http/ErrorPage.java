package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.ws.TunnelErrorCodes;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.server.net.RetryAfter;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * The small pages the proxy answers itself: HTML for browsers, or JSON
 * ({@code {"error": "...", "message": "..."}}) when the request's {@code Accept} asks for JSON and not HTML.
 */
record ErrorPage(HttpResponseStatus status, String error, String message, Button button, Duration retryAfter) {

    /** The error of {@link #tunnelError()}. */
    static final String TUNNEL_ERROR = "tunnel_error";

    /** A form under the message whose one button POSTs to {@code action} (a path of the same origin). */
    record Button(String action, String label) {
    }

    ErrorPage(HttpResponseStatus status, String error, String message) {
        this(status, error, message, null, null);
    }

    ErrorPage(HttpResponseStatus status, String error, String message, Button button) {
        this(status, error, message, button, null);
    }

    static ErrorPage unknownHost(String host) {
        return new ErrorPage(HttpResponseStatus.NOT_FOUND, "unknown_host",
                "No service is configured for " + describeHost(host) + ". Add an http service with this domain "
                        + "(and a path prefix matching this path) to a tunnel.");
    }

    /**
     * A request over TLS this proxy terminated for a host whose TLS goes to a passthrough service: the client reused a
     * connection made for another name its certificate also covers (HTTP/2 connection reuse). 421 tells it to ask again
     * on a connection of its own for that host (RFC 9110, section 15.5.20), which browsers do by themselves.
     */
    static ErrorPage misdirected(String host) {
        return new ErrorPage(HttpResponseStatus.MISDIRECTED_REQUEST, "misdirected_request",
                "This connection cannot serve " + describeHost(host) + ": open a new connection to it.");
    }

    static ErrorPage tunnelOffline() {
        return new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "tunnel_offline",
                "The tunnel is offline: its client is not connected at the moment. Please try again later.");
    }

    /**
     * The tunnel's client connection was lost after the request's stream reached the client and before the response
     * head: the app may have had the request, so it is not sent again, and the page blames no app. No Retry-After:
     * whether to send it again is the visitor's to decide, not a client library's.
     */
    static ErrorPage tunnelLost() {
        return new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "tunnel_lost",
                "The connection to this site's tunnel was lost while the request was under way, so no response came. "
                        + "The request may have reached the app. Please try again in a moment.");
    }

    /**
     * The server stopped (SIGTERM, at the end of its shutdown grace period) while the request waited for its response
     * head: as {@link #targetFailed} says for a client that stops, a 503 to try again, once the server is back.
     */
    static ErrorPage serverStopping() {
        return new ErrorPage(HttpResponseStatus.SERVICE_UNAVAILABLE, TunnelErrorCodes.SERVER_STOPPING,
                "The tunnel server is stopping, and this request was still open when it stopped, so no response came. "
                        + "The request may have reached the app. Please try again in a moment.", null,
                RetryAfter.IN_A_MOMENT);
    }

    /**
     * The server drains to stop (SIGTERM, within its shutdown grace period): its tunnel sessions take no new streams, so
     * a new request reached no client. A 503 to try again, which then goes to the server's next instance.
     */
    static ErrorPage serverDraining() {
        return new ErrorPage(HttpResponseStatus.SERVICE_UNAVAILABLE, TunnelErrorCodes.SERVER_STOPPING,
                "The tunnel server is stopping and takes no new requests: this one did not reach the app. "
                        + "Please try again in a moment.", null, RetryAfter.IN_A_MOMENT);
    }

    /**
     * The tunnel's client did not acknowledge the request's stream within the stream open timeout, so the server reset
     * it: the client, not the app, stayed silent.
     */
    static ErrorPage tunnelNotAnswering() {
        return new ErrorPage(HttpResponseStatus.GATEWAY_TIMEOUT, "tunnel_not_answering",
                "The tunnel's client did not answer in time when this request was sent to it, so no response came. "
                        + "Please try again in a moment.");
    }

    /**
     * The page for a stream the tunnel's client reset with a reason (docs/protocol.md): plain words for visitors,
     * no address and no flag. Null for {@link ResetReason#NONE}, which keeps the general page.
     */
    static ErrorPage targetFailed(ResetReason reason) {
        return switch (reason) {
            case NOT_ALLOWED -> new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "target_not_allowed",
                    "The tunnel's client does not allow this service's target. Its operator can allow it on the client.");
            case TARGET_REFUSED -> new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "target_not_running",
                    "The app behind this address is not running right now. Please try again later.");
            case TARGET_TIMEOUT -> new ErrorPage(HttpResponseStatus.GATEWAY_TIMEOUT, "target_not_answering",
                    "The app behind this address is not answering right now. Please try again later.");
            case UNKNOWN_HOST -> new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "target_not_found",
                    "The tunnel's client cannot find the app behind this address. Its operator can check the "
                            + "service's target.");
            case BUFFER_LIMIT -> new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "client_buffer_full",
                    "The tunnel's client is holding too much data that its apps have not read yet, or has no memory"
                            + " left to hold it, so it dropped this request. Its operator can raise the client's"
                            + " buffer limit or, if the client ran out of memory, give it more memory or a lower"
                            + " buffer limit.");
            case TARGET_UNREACHABLE -> new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "target_no_route",
                    "The tunnel's client cannot reach the app behind this address: its network has no way there."
                            + " Its operator can check the service's target and the client's network.");
            case CLIENT_STOPPING -> new ErrorPage(HttpResponseStatus.SERVICE_UNAVAILABLE, "client_stopping",
                    "The tunnel's client is stopping, and this request was still open when it stopped. Please try "
                            + "again in a moment.", null, RetryAfter.IN_A_MOMENT);
            case REFUSED_GOING_AWAY -> new ErrorPage(HttpResponseStatus.SERVICE_UNAVAILABLE, "client_stopping",
                    "The tunnel's client is stopping and took no new requests: this one did not reach the app. "
                            + "Please try again in a moment.", null, RetryAfter.IN_A_MOMENT);
            case REFUSED_STREAM_LIMIT -> new ErrorPage(HttpResponseStatus.SERVICE_UNAVAILABLE, "tunnel_busy",
                    "The tunnel's client is carrying as many requests as it may at once: this one did not reach the "
                            + "app. Please try again in a moment.", null, RetryAfter.IN_A_MOMENT);
            case NONE -> null;
        };
    }

    /**
     * The stream for the request could not be opened for a reason the proxy does not know (its log has it): the
     * request did not leave the server, so the page blames neither the app nor the client.
     */
    static ErrorPage tunnelError() {
        return new ErrorPage(HttpResponseStatus.BAD_GATEWAY, TUNNEL_ERROR,
                "The request could not be sent through this site's tunnel, so it did not reach the app. Please try "
                        + "again in a moment.");
    }

    /** The page names no target address: visitors have no business knowing it; the operator's log has it. */
    static ErrorPage targetUnreachable() {
        return new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "target_unreachable",
                "The tunnel's client could not get a response from the service: the connection was refused or "
                        + "closed before a response. Check that the service is running on the client's side.");
    }

    /** The same error as {@link #targetUnreachable}, which API callers know, with a text that says what happened. */
    static ErrorPage invalidResponse() {
        return new ErrorPage(HttpResponseStatus.BAD_GATEWAY, "target_unreachable",
                "The service behind this address sent a response that is not valid HTTP, so it was not passed on. "
                        + "Check the service's responses on the tunnel client's side.");
    }

    static ErrorPage timeout(Duration timeout) {
        return new ErrorPage(HttpResponseStatus.GATEWAY_TIMEOUT, "gateway_timeout",
                "The app behind this address did not answer within " + Durations.format(timeout)
                        + ". Please try again later.");
    }

    /** The request body stopped coming before it was whole. */
    static ErrorPage requestTimeout(Duration timeout) {
        return new ErrorPage(HttpResponseStatus.REQUEST_TIMEOUT, "request_timeout",
                "The request body did not arrive: nothing came for " + Durations.format(timeout)
                        + ". Send the request again.");
    }

    /** The tunnel carries as many requests as it may at once. */
    static ErrorPage tunnelBusy() {
        return new ErrorPage(HttpResponseStatus.SERVICE_UNAVAILABLE, "tunnel_busy",
                "The tunnel is carrying as many requests as it may at once. Try again in a moment.", null,
                RetryAfter.IN_A_MOMENT);
    }

    /**
     * HTTP/2: the uploads the server holds for apps slower than their visitors passed its budget, and this one, of the
     * connection holding the most, had gone longest without moving on, so it was stopped before the app answered
     * (Http2UploadBudget). The app saw the request cut, never whole; the page names neither the setting nor a size.
     */
    static ErrorPage serverBufferFull() {
        return new ErrorPage(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_buffer_full",
                "The tunnel server is holding too much of its visitors' uploads that the apps behind it have not read"
                        + " yet, so it stopped this one, which had waited longest, before the app answered. The app did"
                        + " not get the whole request. Please try again in a moment.", null, RetryAfter.IN_A_MOMENT);
    }

    static ErrorPage badRequest(String why) {
        return new ErrorPage(HttpResponseStatus.BAD_REQUEST, "bad_request", why);
    }

    static ErrorPage headersTooLarge() {
        return new ErrorPage(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large",
                "The request's headers are too large.");
    }

    static ErrorPage uriTooLong() {
        return new ErrorPage(HttpResponseStatus.REQUEST_URI_TOO_LONG, "uri_too_long",
                "The request line is too long.");
    }

    /** For visitors of a service its owner turned off: says so, and nothing about how it is set up. */
    static ErrorPage serviceDisabled() {
        return new ErrorPage(HttpResponseStatus.SERVICE_UNAVAILABLE, "service_disabled",
                "This site is turned off at the moment. Please try again later.");
    }

    private static String describeHost(String host) {
        return host == null || host.isBlank() ? "a request without a Host header" : "the host " + host;
    }

    FullHttpResponse toResponse(ByteBufAllocator alloc, HttpVersion version, String accept, boolean head) {
        boolean json = prefersJson(accept);
        byte[] body = (json ? json() : html()).getBytes(StandardCharsets.UTF_8);
        ByteBuf content = head ? alloc.buffer(0) : alloc.buffer(body.length).writeBytes(body);
        FullHttpResponse response = new DefaultFullHttpResponse(version, status, content);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, json ? "application/json" : "text/html; charset=utf-8")
                .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                .set("x-content-type-options", "nosniff");
        if (retryAfter != null) {
            response.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfter.toSeconds());
        }
        return response;
    }

    /** JSON when the client names a JSON type and does not name HTML (browsers always name HTML). */
    static boolean prefersJson(String accept) {
        if (accept == null) {
            return false;
        }
        String a = accept.toLowerCase(Locale.ROOT);
        return (a.contains("application/json") || a.contains("+json")) && !a.contains("text/html");
    }

    private String json() {
        return "{\"error\":\"" + jsonEscape(error) + "\",\"message\":\"" + jsonEscape(message) + "\"}\n";
    }

    private String html() {
        String title = status.code() + " " + status.reasonPhrase();
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + htmlEscape(title) + "</title></head>\n"
                + "<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\">\n<h1>" + htmlEscape(title)
                + "</h1>\n<p>" + htmlEscape(message) + "</p>\n"
                + (button == null ? "" : "<form method=\"post\" action=\"" + htmlEscape(button.action())
                        + "\"><button type=\"submit\">" + htmlEscape(button.label()) + "</button></form>\n")
                + "<hr><small>PicoTunnel</small>\n</body></html>\n";
    }

    private static String htmlEscape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static String jsonEscape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
