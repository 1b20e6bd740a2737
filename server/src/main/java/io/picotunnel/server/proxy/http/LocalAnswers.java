package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.ContentLengthNotAllowedException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.TlsMode;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * What the proxy answers itself, in one place: invalid requests (400, 414, 431), paths a target may read as another
 * service's (400, {@link RouteTable#readsAsAnotherService}), ACME HTTP-01 challenges, unknown hosts (404), redirects
 * to HTTPS (308), and the error pages of a failed exchange. {@link #decide} says for each request whether it is
 * answered here or forwarded to which service.
 */
final class LocalAnswers {

    private static final String ACME_PREFIX = "/.well-known/acme-challenge/";
    private static final String AMBIGUOUS_PATH = "The request path can be read as a path of another service on this"
            + " host (by letter case, empty segments, ;parameters, encoded or double-encoded slashes, dot segments,"
            + " NUL or trailing dots and spaces), so it is refused."
            + " Request the path as the site spells it.";

    /** A request's fate: answered here, or forwarded. */
    sealed interface Decision permits Answer, Forward {
    }

    /**
     * Answer with {@code response}; {@code close} the connection after it (the request could not be framed). An answer
     * to a request routed to an http service ({@code https_redirect}'s 308, the 400 of a path another service's may be
     * read as) counts as one of {@code service}'s requests, as its access checks' answers do; null for the others (no
     * service, or a passthrough one, whose figures are its connections).
     */
    record Answer(FullHttpResponse response, boolean close, Service service) implements Decision {

        Answer(FullHttpResponse response, boolean close) {
            this(response, close, null);
        }
    }

    record Forward(Service service) implements Decision {
    }

    private final HttpProxy proxy;
    private final boolean https;
    private final boolean http2;

    LocalAnswers(HttpProxy proxy, boolean https, boolean http2) {
        this.proxy = proxy;
        this.https = https;
        this.http2 = http2;
    }

    /**
     * {@code visitorHttps}: whether the visitor used https, over this connection's TLS or at a trusted proxy that
     * ends TLS in front ({@link AccessHook#https}): such a visitor is not sent to https again by {@code https_redirect}.
     * ACME challenges and passthrough services go by the connection's own scheme.
     */
    Decision decide(HttpRequest request, boolean visitorHttps, ByteBufAllocator alloc) {
        DecoderResult result = request.decoderResult();
        if (result.isFailure()) {
            return new Answer(page(request, decodeFailurePage(result.cause()), alloc), true);
        }
        String invalid = invalidRequestLine(request);
        if (invalid != null) {
            return new Answer(page(request, ErrorPage.badRequest(invalid), alloc), true);
        }
        String te = request.headers().get(HttpHeaderNames.TRANSFER_ENCODING);
        if (te != null && !HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(te.trim())) {
            return new Answer(page(request,
                    ErrorPage.badRequest("Transfer-Encoding other than chunked is not accepted."), alloc), true);
        }
        String unsafe = RequestSanitizer.sanitize(request);
        if (unsafe != null) {
            return new Answer(page(request, ErrorPage.badRequest(unsafe), alloc), true);
        }
        String host = RequestTarget.hostOf(request);
        if (host == null && request.protocolVersion().equals(HttpVersion.HTTP_1_1)) {
            return new Answer(page(request, ErrorPage.badRequest("The request has no Host header."), alloc), true);
        }
        String path = RequestTarget.pathOf(request.uri());
        if (!https && isAcmeChallenge(request, path)) {
            Optional<String> keyAuthorization = proxy.acmeChallenges().apply(path.substring(ACME_PREFIX.length()));
            if (keyAuthorization.isPresent()) {
                return new Answer(text(alloc, HttpResponseStatus.OK, keyAuthorization.get()), false);
            }
        }
        Optional<Service> route = proxy.routes().route(host, path);
        if (route.isEmpty()) {
            return new Answer(page(request, proxy.routes().routesToDisabled(host, path)
                    ? ErrorPage.serviceDisabled() : ErrorPage.unknownHost(host), alloc), false);
        }
        Service service = route.get();
        boolean passthrough = service.tlsMode() == TlsMode.PASSTHROUGH;
        if (proxy.routes().readsAsAnotherService(host, path, service)) {
            return new Answer(page(request, ErrorPage.badRequest(AMBIGUOUS_PATH), alloc), false,
                    passthrough ? null : service);
        }
        if (!https && passthrough) {
            return new Answer(redirectToHttps(host, request.uri(), alloc), false);
        }
        if (!visitorHttps && service.httpsRedirect()) {
            return new Answer(redirectToHttps(host, request.uri(), alloc), false, service);
        }
        if (https && passthrough) {
            // TLS for the host itself would have gone to the service's target: this connection was made for another name
            return new Answer(page(request, host != null && proxy.passedThrough(RouteTable.normalizeHost(host))
                    ? ErrorPage.misdirected(host) : ErrorPage.unknownHost(host), alloc), false);
        }
        return new Forward(service);
    }

    /** {@code page} as HTML or JSON, as the request's {@code Accept} prefers; without body for HEAD. */
    static FullHttpResponse page(HttpRequest request, ErrorPage page, ByteBufAllocator alloc) {
        return page(request, request.headers().get(HttpHeaderNames.ACCEPT), page, alloc);
    }

    /** {@code page} as HTML or JSON, as {@code accept} (the visitor's, read before its headers were edited) prefers. */
    static FullHttpResponse page(HttpRequest request, String accept, ErrorPage page, ByteBufAllocator alloc) {
        return page.toResponse(alloc, HttpVersion.HTTP_1_1, accept, request.method().equals(HttpMethod.HEAD));
    }

    private String invalidRequestLine(HttpRequest request) {
        HttpVersion version = request.protocolVersion();
        if (!http2 && (!version.protocolName().equals("HTTP") || version.majorVersion() != 1)) {
            return "The request is not HTTP/1.x.";
        }
        if (request.method().equals(HttpMethod.CONNECT)) {
            return "CONNECT is not supported: this is a reverse proxy.";
        }
        String uri = request.uri();
        boolean valid = uri.startsWith("/") || uri.startsWith("http://") || uri.startsWith("https://")
                || (uri.equals("*") && request.method().equals(HttpMethod.OPTIONS));
        return valid ? null : "The request target is not a path.";
    }

    private static ErrorPage decodeFailurePage(Throwable cause) {
        if (cause instanceof TooLongHttpHeaderException) {
            return ErrorPage.headersTooLarge();
        }
        if (cause instanceof TooLongHttpLineException) {
            return ErrorPage.uriTooLong();
        }
        if (cause instanceof ContentLengthNotAllowedException) {
            return ErrorPage.badRequest("The request has both Content-Length and Transfer-Encoding.");
        }
        String message = String.valueOf(cause.getMessage());
        if (message.startsWith("Multiple Content-Length")) {
            return ErrorPage.badRequest("The request has more than one Content-Length.");
        }
        if (message.contains("chunked transfer coding")) {
            return ErrorPage.badRequest("The request's Transfer-Encoding is invalid.");
        }
        return ErrorPage.badRequest("The request is not valid HTTP.");
    }

    private static boolean isAcmeChallenge(HttpRequest request, String path) {
        return (request.method().equals(HttpMethod.GET) || request.method().equals(HttpMethod.HEAD))
                && path.startsWith(ACME_PREFIX) && path.length() > ACME_PREFIX.length();
    }

    private FullHttpResponse redirectToHttps(String host, String uri, ByteBufAllocator alloc) {
        String name = RouteTable.normalizeHost(host);
        int port = proxy.httpsPort();
        String location = "https://" + name + (port == 443 ? "" : ":" + port) + RequestTarget.originForm(uri);
        FullHttpResponse response = text(alloc, HttpResponseStatus.PERMANENT_REDIRECT, "Moved to " + location);
        response.headers().set(HttpHeaderNames.LOCATION, location);
        return response;
    }

    private static FullHttpResponse text(ByteBufAllocator alloc, HttpResponseStatus status, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                alloc.buffer(bytes.length).writeBytes(bytes));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .set(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return response;
    }
}
