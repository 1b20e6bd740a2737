package io.picotunnel.server.access;

import io.picotunnel.server.auth.FetchMode;

import java.net.InetAddress;

/**
 * The parts of an HTTP request the access checks look at.
 *
 * @param serviceId     the service it was routed to
 * @param policy        that service's access policy
 * @param visitor       the visitor's address (the peer, or what a trusted proxy said)
 * @param https         whether the visitor used HTTPS: over TLS here, or at a trusted proxy in front that says so
 *                      in {@code X-Forwarded-Proto} ({@link TrustedProxies#https})
 * @param host          the Host it was sent to (without port) and {@code authority} with the port, as sent
 * @param authority     the Host header as sent
 * @param uri           the request target in origin form
 * @param method        GET, POST, ...
 * @param authorization the Authorization header, or null
 * @param cookie        the Cookie header(s) joined with "; ", or null
 * @param origin        the Origin header, or null
 * @param fetchSite     the Sec-Fetch-Site header, or null
 * @param fetch         what the browser says the request is for (its Sec-Fetch-Mode, Sec-Fetch-Dest, Sec-Purpose)
 */
public record HttpAccessRequest(String serviceId, AccessPolicy policy, InetAddress visitor, boolean https,
        String host, String authority, String uri, String method, String authorization, String cookie,
        String origin, String fetchSite, FetchMode fetch) {
}
