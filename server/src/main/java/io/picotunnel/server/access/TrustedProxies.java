package io.picotunnel.server.access;

import io.picotunnel.server.net.ForwardedProto;

import java.net.InetAddress;
import java.util.List;
import java.util.function.Supplier;

/**
 * The front proxies the operator trusts to say who the visitor is ({@code PICOTUNNEL_TRUSTED_PROXIES}). Only a
 * connection from one of them may name the visitor: in {@code X-Forwarded-For} (HTTP), or with
 * {@code proxyProtocol} ({@code PICOTUNNEL_PROXY_PROTOCOL}) in a PROXY protocol header, which every connection from
 * them to a public listener (HTTP, HTTPS, tcp services) must then start with; and the scheme the visitor used, in
 * {@code X-Forwarded-Proto} or in the SSL TLV of a version 2 PROXY protocol header (a proxy that ends TLS in front
 * of the plain HTTP listener). From anyone else these are ignored for access checks and sign-ins (and
 * X-Forwarded-For is replaced before the request goes on).
 */
public record TrustedProxies(List<Cidr> proxies, boolean proxyProtocol) {

    public static final TrustedProxies NONE = new TrustedProxies(List.of(), false);

    public TrustedProxies {
        proxies = List.copyOf(proxies);
        if (proxyProtocol && proxies.isEmpty()) {
            throw new IllegalArgumentException("the PROXY protocol is read only from trusted proxies; name them");
        }
    }

    public TrustedProxies(List<Cidr> proxies) {
        this(proxies, false);
    }

    public boolean trusts(InetAddress peer) {
        for (Cidr cidr : proxies) {
            if (cidr.contains(peer)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The visitor of an HTTP request that came from {@code peer} with these {@code X-Forwarded-For} values (null
     * or empty when none): from a trusted proxy, the right-most address in the header that is not itself a
     * trusted proxy (what the client wrote to the left may be forged); otherwise the peer.
     */
    public InetAddress visitor(InetAddress peer, List<String> forwardedFor) {
        return peer == null || !trusts(peer) ? peer : named(peer, forwardedFor);
    }

    /**
     * As {@link #visitor(InetAddress, List)}, reading the {@code X-Forwarded-For} values only when the peer is a
     * trusted proxy (the common case looks at no header).
     */
    public InetAddress visitor(InetAddress peer, Supplier<List<String>> forwardedFor) {
        return peer == null || !trusts(peer) ? peer : named(peer, forwardedFor.get());
    }

    private InetAddress named(InetAddress peer, List<String> forwardedFor) {
        if (forwardedFor == null || forwardedFor.isEmpty()) {
            return peer;
        }
        InetAddress visitor = peer;
        for (int h = forwardedFor.size() - 1; h >= 0; h--) {
            String[] hops = forwardedFor.get(h).split(",");
            for (int i = hops.length - 1; i >= 0; i--) {
                InetAddress hop = literal(hops[i].strip());
                if (hop == null) {
                    return visitor;
                }
                visitor = hop;
                if (!trusts(hop)) {
                    return hop;
                }
            }
        }
        return visitor;
    }

    /**
     * Whether the visitor of an HTTP request that came from {@code peer} (the same peer as for {@link #visitor}) used
     * https: from a trusted proxy, the first value of {@code X-Forwarded-Proto} ({@code forwardedProto}, null or
     * empty when none) when it is {@code http} or {@code https}; otherwise, and when a trusted proxy sent none or
     * anything else, {@code overTls}, the connection's own (over TLS, or, with the PROXY protocol, what the trusted
     * proxy's header says the visitor used: {@link VisitorAddress#tlsAtProxy}). A visitor who is not a trusted proxy
     * cannot claim https on a plain connection (to change the names of its cookies, or where a sign-in returns).
     */
    public boolean https(InetAddress peer, List<String> forwardedProto, boolean overTls) {
        return https(peer, () -> forwardedProto, overTls);
    }

    /** As {@link #https(InetAddress, List, boolean)}, reading the header only from a trusted proxy. */
    public boolean https(InetAddress peer, Supplier<List<String>> forwardedProtoValues, boolean overTls) {
        if (peer == null || !trusts(peer)) {
            return overTls;
        }
        List<String> forwardedProto = forwardedProtoValues.get();
        if (forwardedProto == null || forwardedProto.isEmpty()) {
            return overTls;
        }
        String scheme = ForwardedProto.scheme(forwardedProto.getFirst());
        return scheme == null ? overTls : scheme.equals("https");
    }


    /** An IP literal (never a DNS lookup), or null when it is not one. */
    static InetAddress literal(String text) {
        String value = text;
        if (value.startsWith("[") && value.contains("]")) {
            value = value.substring(1, value.indexOf(']'));
        } else if (value.chars().filter(c -> c == ':').count() == 1) {
            value = value.substring(0, value.indexOf(':'));
        }
        // Dotted-quad IPv4 only (no "10.1", no names such as "cafe.de" to look up); IPv6 in brackets, which Java
        // takes as a literal or nothing, never a name.
        if (value.isEmpty() || !value.matches("[0-9a-fA-F:.]+") || (!value.contains(":") && !value.matches(Cidr.IPV4))) {
            return null;
        }
        try {
            return InetAddress.getByName(value.contains(":") ? "[" + value + "]" : value);
        } catch (java.net.UnknownHostException e) {
            return null;
        }
    }
}
