package io.picotunnel.server.proxy.http;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable snapshot of the enabled {@code http} services, looked up by host and path.
 *
 * <ul>
 *   <li>Hosts compare case-insensitively; the port and a trailing dot are ignored.</li>
 *   <li>{@code *.example.com} matches exactly one more label: {@code a.example.com}, not {@code example.com}
 *       nor {@code a.b.example.com}.</li>
 *   <li>The services of the exact domain are tried first; wildcard services only when none of the exact
 *       domain's path prefixes matches the path.</li>
 *   <li>Among the candidates of a domain the longest matching {@code path_prefix} wins. Prefixes match whole
 *       path segments: {@code /api} matches {@code /api}, {@code /api/} and {@code /api/v1}, never
 *       {@code /apix}; a trailing slash on the prefix makes no difference. Paths and prefixes are compared in
 *       normal form ({@link PathNormalizer}: unreserved characters decoded, dot segments removed), without
 *       the query.</li>
 * </ul>
 */
final class RouteTable {

    static final RouteTable EMPTY = new RouteTable(Map.of(), Map.of());

    private static final Comparator<Service> LONGEST_PREFIX_FIRST =
            Comparator.comparingInt((Service s) -> normalizePrefix(s.pathPrefix()).length()).reversed();

    private final Map<String, List<Service>> exact;
    private final Map<String, List<Service>> wildcard;

    private RouteTable(Map<String, List<Service>> exact, Map<String, List<Service>> wildcard) {
        this.exact = exact;
        this.wildcard = wildcard;
    }

    static RouteTable of(Collection<Service> services) {
        Map<String, List<Service>> exact = new HashMap<>();
        Map<String, List<Service>> wildcard = new HashMap<>();
        for (Service service : services) {
            if (service.type() != ServiceType.HTTP || !service.enabled() || service.domain() == null) {
                continue;
            }
            String domain = normalizeHost(service.domain());
            if (domain.startsWith("*.")) {
                wildcard.computeIfAbsent(domain.substring(2), d -> new ArrayList<>()).add(service);
            } else {
                exact.computeIfAbsent(domain, d -> new ArrayList<>()).add(service);
            }
        }
        return new RouteTable(sorted(exact), sorted(wildcard));
    }

    private static Map<String, List<Service>> sorted(Map<String, List<Service>> byDomain) {
        Map<String, List<Service>> result = new HashMap<>();
        byDomain.forEach((domain, list) -> result.put(domain, list.stream().sorted(LONGEST_PREFIX_FIRST).toList()));
        return Map.copyOf(result);
    }

    /** The service for a request with this Host header value and request-target path. */
    Optional<Service> route(String host, String path) {
        if (host == null || host.isEmpty()) {
            return Optional.empty();
        }
        String name = normalizeHost(host);
        Optional<Service> match = longestPrefix(exact.get(name), path);
        if (match.isPresent()) {
            return match;
        }
        int dot = name.indexOf('.');
        if (dot <= 0) {
            return Optional.empty();
        }
        return longestPrefix(wildcard.get(name.substring(dot + 1)), path);
    }

    private static Optional<Service> longestPrefix(List<Service> candidates, String path) {
        if (candidates == null) {
            return Optional.empty();
        }
        for (Service service : candidates) {
            if (prefixMatches(normalizePrefix(service.pathPrefix()), path)) {
                return Optional.of(service);
            }
        }
        return Optional.empty();
    }

    static boolean prefixMatches(String prefix, String path) {
        if (prefix.equals("/")) {
            return true;
        }
        return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
    }

    static String normalizePrefix(String prefix) {
        if (prefix == null || prefix.isEmpty()) {
            return "/";
        }
        String normal = prefix.startsWith("/") ? PathNormalizer.normalize(prefix) : null;
        String p = normal == null ? prefix : normal;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    /** Lower case, without port and trailing dot: {@code Example.COM.:8080} becomes {@code example.com}. */
    static String normalizeHost(String host) {
        String h = host.trim();
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            h = end > 0 ? h.substring(0, end + 1) : h;
        } else {
            int colon = h.indexOf(':');
            if (colon >= 0 && colon == h.lastIndexOf(':')) {
                h = h.substring(0, colon);
            }
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h.toLowerCase(Locale.ROOT);
    }
}
