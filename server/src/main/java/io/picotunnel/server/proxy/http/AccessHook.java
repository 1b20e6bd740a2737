package io.picotunnel.server.proxy.http;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.access.HttpAccessRequest;
import io.picotunnel.server.access.HttpVerdict;
import io.picotunnel.server.access.ServiceAuth;
import io.picotunnel.server.access.ServiceSignIn;
import io.picotunnel.server.access.VisitorAddress;
import io.picotunnel.server.auth.Cookies;
import io.picotunnel.server.auth.FetchMode;
import io.picotunnel.server.auth.ManagementAuth;
import io.picotunnel.server.store.Service;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Where the proxy meets {@link AccessControl}: who the visitor is, the request as the checks see it, and the
 * verdict turned into a response or into the headers the target gets. The checks themselves live in
 * {@code io.picotunnel.server.access}.
 */
final class AccessHook {

    private static final HeaderNameSet IDENTITY = HeaderNameSet.of(AccessControl.IDENTITY_HEADERS);
    /** The management server's cookies, as named over http and over https. */
    private static final Set<String> MANAGEMENT_COOKIES = Stream.of(ManagementAuth.COOKIE, ManagementAuth.SIGN_IN_COOKIE,
                    ManagementAuth.SIGN_IN_ERROR_COOKIE, ServiceSignIn.BROWSER_COOKIE)
            .flatMap(name -> Stream.of(Cookies.named(name, false), Cookies.named(name, true)))
            .collect(Collectors.toUnmodifiableSet());
    /** The start of the management server's sign-in cookies, one per sign-in ({@code PendingLogins.cookieName}). */
    private static final List<String> MANAGEMENT_SIGN_IN_COOKIES = Stream.of(ManagementAuth.SIGN_IN_COOKIE,
                    ServiceSignIn.BROWSER_COOKIE)
            .flatMap(name -> Stream.of(Cookies.named(name, false), Cookies.named(name, true)))
            .map(name -> name + "-")
            .toList();

    private AccessHook() {
    }

    /** The visitor's address: a PROXY header's source, else the peer, or what a trusted proxy put in X-Forwarded-For. */
    static InetAddress visitor(AccessControl access, Channel channel, HttpRequest request) {
        return access.trustedProxies().visitor(VisitorAddress.of(channel), () -> request.headers().getAll("x-forwarded-for"));
    }

    /**
     * Whether the visitor used https: the connection's TLS ({@code overTls}), or the TLS a trusted proxy that ends it
     * in front says the visitor used, in the SSL TLV of its PROXY protocol header ({@link VisitorAddress#tlsAtProxy})
     * or in {@code X-Forwarded-Proto}, read from the same peer as {@link #visitor} (with the PROXY protocol, not from
     * a visitor its header names). A plain request whose peer claims https there without being a trusted proxy is
     * logged ({@link io.picotunnel.server.access.UntrustedProxyHint}); not one a PROXY header names, whose proxy is
     * trusted.
     */
    static boolean https(AccessControl access, Channel channel, HttpRequest request, boolean overTls) {
        boolean tls = overTls || VisitorAddress.tlsAtProxy(channel);
        InetAddress peer = VisitorAddress.of(channel);
        boolean https = access.trustedProxies().https(peer, () -> request.headers().getAll("x-forwarded-proto"), tls);
        if (!https && !VisitorAddress.proxied(channel)) {
            access.untrustedProxyHint().onPlainHttpRequest(peer, request.headers().get("x-forwarded-proto"));
        }
        return https;
    }

    /** A connection without an IP peer (never on the public listeners) passes only services without a gate. */
    static HttpVerdict withoutAddress(Service service) {
        return service.access().equals(AccessPolicy.OPEN) ? HttpVerdict.Pass.ANONYMOUS
                : HttpVerdict.Answer.of(403, "forbidden", "The visitor's address is unknown, so this service refuses it.");
    }

    static HttpAccessRequest describe(Service service, InetAddress visitor, boolean https, HttpRequest request) {
        String authority = RequestTarget.hostOf(request);
        String host = authority == null ? null : RouteTable.normalizeHost(authority);
        String cookie = request.headers().contains(HttpHeaderNames.COOKIE)
                ? String.join("; ", request.headers().getAll(HttpHeaderNames.COOKIE)) : null;
        return new HttpAccessRequest(service.id(), service.access(), visitor, https, host,
                authority == null ? "" : authority, RequestTarget.originForm(request.uri()), request.method().name(),
                request.headers().get(HttpHeaderNames.AUTHORIZATION), cookie, request.headers().get(HttpHeaderNames.ORIGIN),
                request.headers().get("sec-fetch-site"), FetchMode.of(request.headers()::get));
    }

    /** Visitors may not tell the target who they are: the identity headers are only ever the proxy's. */
    static void stripIdentity(HttpHeaders headers) {
        IDENTITY.removeFrom(headers);
    }

    /**
     * The target learns who signed in; the gate's own credentials do not travel on, nor those of another service of
     * the host ({@code routes}), which a browser sends to every path of the host once it signed in to one: the target
     * of an open {@code /public} next to a basic-auth {@code /} would otherwise get the visitor's password.
     */
    static void pass(HttpRequest request, Service service, HttpVerdict.Pass pass, HttpRoutes routes) {
        HttpHeaders headers = request.headers();
        if (service.access().auth() instanceof ServiceAuth.Basic) {
            headers.remove(HttpHeaderNames.AUTHORIZATION);
        } else if (headers.contains(HttpHeaderNames.AUTHORIZATION)) {
            // Only Basic credentials can be another service's: a Bearer token (API traffic) costs no route lookup.
            List<String> users = headers.getAll(HttpHeaderNames.AUTHORIZATION).stream()
                    .map(AccessControl::basicUserName).filter(Objects::nonNull).toList();
            if (!users.isEmpty()) {
                Set<String> gated = routes.basicUsers(RequestTarget.hostOf(request));
                if (users.stream().anyMatch(gated::contains)) {
                    headers.remove(HttpHeaderNames.AUTHORIZATION);
                }
            }
        }
        if (headers.contains(HttpHeaderNames.COOKIE) && carriesOurCookie(headers)) {
            // Sign-in cookies are the proxy's: no target sees one, not even an open service's on the same host
            // (the cookie's path is /), which could otherwise replay it. Nor the management server's: a browser
            // sends the UI's cookies to every port of the UI's host name, so a service on that name would get the
            // admin's session.
            List<String> kept = new ArrayList<>();
            for (String header : headers.getAll(HttpHeaderNames.COOKIE)) {
                for (String part : Cookies.parts(header)) {
                    if (!isOurs(part)) {
                        kept.add(part);
                    }
                }
            }
            headers.remove(HttpHeaderNames.COOKIE);
            if (!kept.isEmpty()) {
                headers.set(HttpHeaderNames.COOKIE, String.join("; ", kept));
            }
        }
        if (pass.user() != null) {
            headers.set("x-picotunnel-user", utf8(pass.user()));
        }
        if (pass.email() != null) {
            headers.set("x-picotunnel-email", utf8(pass.email()));
        }
    }

    /**
     * A header value in UTF-8, as Go's proxies (oauth2-proxy, Traefik) send it: Netty writes a String's characters
     * as US-ASCII, a "?" for each beyond, so "José" would reach the target as "Jos?".
     */
    private static CharSequence utf8(String value) {
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) > 0x7f) {
                return new AsciiString(value.getBytes(StandardCharsets.UTF_8), false);
            }
        }
        return value;
    }

    /**
     * Nor may a target set one of these cookies ({@code Set-Cookie} in its response, the 101 of an upgrade included):
     * cookies are not kept apart by port or path, so a target of an open {@code /public} next to a signed-in
     * {@code /}, or of a service on the UI's host name, could otherwise put a session of its choosing (its owner's,
     * signed in) in the visitor's browser, or a sign-in's browser key or error message on the UI's origin; over https
     * the {@code __Host-} prefix does not keep out the same host. Such headers are dropped; the others pass.
     */
    static void stripOurSetCookies(HttpHeaders headers) {
        if (!headers.contains(HttpHeaderNames.SET_COOKIE)) {
            return;
        }
        List<String> all = headers.getAll(HttpHeaderNames.SET_COOKIE);
        List<String> kept = all.stream().filter(cookie -> !isOurs(cookie)).toList();
        if (kept.size() != all.size()) {
            headers.remove(HttpHeaderNames.SET_COOKIE);
            kept.forEach(cookie -> headers.add(HttpHeaderNames.SET_COOKIE, cookie));
        }
    }

    /**
     * Whether {@code pair} (a {@code name=value} of a Cookie header, or a Set-Cookie's start) names one of our
     * cookies: a service's session or sign-in browser cookie, or the management server's, with or without {@code __Host-}.
     */
    private static boolean isOurs(String pair) {
        String name = Cookies.name(pair).strip();
        return ServiceSignIn.isProxysCookie(name) || MANAGEMENT_COOKIES.contains(name)
                || MANAGEMENT_SIGN_IN_COOKIES.stream().anyMatch(name::startsWith);
    }

    /** Every one of ours is named picotunnel_...: a request without that text keeps its Cookie header untouched. */
    private static boolean carriesOurCookie(HttpHeaders headers) {
        for (String header : headers.getAll(HttpHeaderNames.COOKIE)) {
            if (header.contains("picotunnel_")) {
                return true;
            }
        }
        return false;
    }

    static FullHttpResponse answer(HttpRequest request, HttpVerdict.Answer answer, ByteBufAllocator alloc) {
        ErrorPage page = new ErrorPage(HttpResponseStatus.valueOf(answer.status()), answer.error(), answer.message());
        boolean head = request.method().equals(HttpMethod.HEAD);
        FullHttpResponse response = answer.json()
                ? page.toResponse(alloc, HttpVersion.HTTP_1_1, "application/json", head)
                : LocalAnswers.page(request, page, alloc);
        answer.headers().forEach((name, value) -> response.headers().set(name, value));
        answer.cookies().forEach(cookie -> response.headers().add(HttpHeaderNames.SET_COOKIE, cookie));
        return response;
    }

    /** The page with its button; never in a frame, where another site could lay its own page over the button. */
    static FullHttpResponse confirm(HttpRequest request, HttpVerdict.Confirm confirm, ByteBufAllocator alloc) {
        FullHttpResponse response = LocalAnswers.page(request, new ErrorPage(HttpResponseStatus.OK, confirm.error(),
                confirm.message(), new ErrorPage.Button(confirm.action(), confirm.button())), alloc);
        response.headers().set("x-frame-options", "DENY").set("content-security-policy", "frame-ancestors 'none'");
        return response;
    }

    static FullHttpResponse redirect(HttpRequest request, HttpVerdict.Redirect redirect, ByteBufAllocator alloc) {
        HttpResponseStatus status = HttpResponseStatus.valueOf(redirect.status());
        FullHttpResponse response = LocalAnswers.page(request, new ErrorPage(status, "redirect",
                "Continue at " + redirect.location()), alloc);
        response.headers().set(HttpHeaderNames.LOCATION, redirect.location());
        redirect.cookies().forEach(cookie -> response.headers().add(HttpHeaderNames.SET_COOKIE, cookie));
        return response;
    }
}
