package io.picotunnel.server.proxy.http;

import io.picotunnel.server.access.ServiceAuth;
import io.picotunnel.server.access.UnicodeNames;
import io.picotunnel.server.net.PathNormalizer;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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
 *       the query. Of two services whose prefixes are one route, the older (created first) is served
 *       ({@link #coinciding}).</li>
 *   <li>A path that a target could read as a path of another service of the host than the one it routes to
 *       ({@link PathReadings}) is ambiguous: {@link #readsAsAnotherService}.</li>
 * </ul>
 */
final class RouteTable {

    static final RouteTable EMPTY = new RouteTable(Map.of(), Map.of());

    /** A service with its prefix in the normal form routing compares (worked out once, not per request). */
    private record Route(Service service, String prefix) {
    }

    /**
     * Services of one domain whose prefixes are one route ({@code /{id}}, stored raw before the API percent-encoded
     * prefixes, and {@code /%7Bid%7D}): {@code winner} gets the requests of both, {@code loser} none.
     */
    record Coinciding(String domain, String prefix, Service winner, Service loser) {
    }

    /**
     * Longest prefix first (two prefixes of one length never match one path); of prefixes that are one route, next to
     * each other, the oldest service first, so that it is the one served whatever the order the services came in.
     * Oldest by {@link Service#creationOrder}, not by created_at: a clock set back makes that earlier for the newer.
     */
    private static final Comparator<Route> LONGEST_PREFIX_FIRST =
            Comparator.comparingInt((Route r) -> r.prefix().length()).reversed()
                    .thenComparing(Route::prefix)
                    .thenComparingLong(r -> r.service().creationOrder())
                    .thenComparing(r -> r.service().id());

    private final Map<String, List<Route>> exact;
    private final Map<String, List<Route>> wildcard;

    private RouteTable(Map<String, List<Route>> exact, Map<String, List<Route>> wildcard) {
        this.exact = exact;
        this.wildcard = wildcard;
    }

    static RouteTable of(Collection<Service> services) {
        Map<String, List<Route>> exact = new HashMap<>();
        Map<String, List<Route>> wildcard = new HashMap<>();
        for (Service service : services) {
            if (service.type() != ServiceType.HTTP || !service.enabled() || service.domain() == null) {
                continue;
            }
            String domain = normalizeHost(service.domain());
            Route route = new Route(service, PathNormalizer.normalizePrefix(service.pathPrefix()));
            if (domain.startsWith("*.")) {
                wildcard.computeIfAbsent(domain.substring(2), d -> new ArrayList<>()).add(route);
            } else {
                exact.computeIfAbsent(domain, d -> new ArrayList<>()).add(route);
            }
        }
        return new RouteTable(sorted(exact), sorted(wildcard));
    }

    private static Map<String, List<Route>> sorted(Map<String, List<Route>> byDomain) {
        Map<String, List<Route>> result = new HashMap<>();
        byDomain.forEach((domain, list) -> result.put(domain, list.stream().sorted(LONGEST_PREFIX_FIRST).toList()));
        return Map.copyOf(result);
    }

    /** Every service that another of its domain hides: a prefix that is the same route as an older service's. */
    List<Coinciding> coinciding() {
        List<Coinciding> found = new ArrayList<>();
        exact.forEach((domain, routes) -> addCoinciding(domain, routes, found));
        wildcard.forEach((domain, routes) -> addCoinciding("*." + domain, routes, found));
        return found;
    }

    private static void addCoinciding(String domain, List<Route> routes, List<Coinciding> found) {
        Route winner = null;
        for (Route route : routes) {
            if (winner != null && winner.prefix().equals(route.prefix())) {
                found.add(new Coinciding(domain, route.prefix(), winner.service(), route.service()));
            } else {
                winner = route;
            }
        }
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
        return longestPrefix(wildcardRoutes(name), path);
    }

    /** The routes of the wildcard over {@code name} ({@code *.example.com} over {@code a.example.com}), or none. */
    private List<Route> wildcardRoutes(String name) {
        int dot = name.indexOf('.');
        return dot <= 0 || wildcard.isEmpty() ? List.of() : wildcard.getOrDefault(name.substring(dot + 1), List.of());
    }

    /**
     * The user names of the {@code auth: basic} services a request to {@code host} may be routed to (of its own name
     * and of a wildcard over it). A browser that signed in to one of them sends the credentials with every request to
     * the host, whatever the path: those for another service of the host are not its target's to see.
     */
    Set<String> basicUsers(String host) {
        if (host == null || host.isEmpty()) {
            return Set.of();
        }
        String name = normalizeHost(host);
        Set<String> users = new HashSet<>();
        for (List<Route> routes : List.of(exact.getOrDefault(name, List.of()), wildcardRoutes(name))) {
            for (Route route : routes) {
                if (route.service().access().auth() instanceof ServiceAuth.Basic basic) {
                    users.add(UnicodeNames.composed(basic.username()));
                }
            }
        }
        return users;
    }

    /**
     * Whether some {@linkplain PathReadings reading} of {@code path} routes to another of the host's services than
     * {@code routed}, the one the path itself routes to: to a target that reads paths so, the request would be one
     * for that service, which may have another gate, or none. Readings that route nowhere do not count; a path
     * with more readings than are tried ({@link PathReadings#MAX_READINGS}), or that would take more work to read
     * ({@link PathReadings#MAX_CHARACTERS}), counts as read so.
     */
    boolean readsAsAnotherService(String host, String path, Service routed) {
        String name = normalizeHost(host);
        List<Route> exactServices = exact.getOrDefault(name, List.of());
        List<Route> wildcardServices = wildcardRoutes(name);
        if (exactServices.size() + wildcardServices.size() < 2) {
            return false;
        }
        List<Route> candidates = new ArrayList<>(exactServices);
        candidates.addAll(wildcardServices);
        List<String> prefixes = candidates.stream().map(Route::prefix).toList();
        Optional<Set<PathReadings.Reading>> readings = PathReadings.of(path, prefixes);
        if (readings.isEmpty()) {
            return true;
        }
        for (PathReadings.Reading reading : readings.get()) {
            List<Integer> chosen = longestMatches(reading, 0, exactServices.size());
            if (chosen.isEmpty()) {
                chosen = longestMatches(reading, exactServices.size(), candidates.size());
            }
            if (!chosen.isEmpty() && chosen.stream().noneMatch(i -> candidates.get(i).service().id().equals(routed.id()))) {
                return true;
            }
        }
        return false;
    }

    /** The indexes in {@code [from, to)} of the reading's longest prefixes that match its path (ties all). */
    private static List<Integer> longestMatches(PathReadings.Reading reading, int from, int to) {
        List<Integer> longest = new ArrayList<>();
        int length = -1;
        for (int i = from; i < to; i++) {
            String prefix = PathNormalizer.withoutTrailingSlashes(reading.prefixes().get(i));
            if (prefix.length() >= length && prefixMatches(prefix, reading.path())) {
                if (prefix.length() > length) {
                    longest.clear();
                    length = prefix.length();
                }
                longest.add(i);
            }
        }
        return longest;
    }

    private static Optional<Service> longestPrefix(List<Route> candidates, String path) {
        if (candidates == null) {
            return Optional.empty();
        }
        for (Route route : candidates) {
            if (prefixMatches(route.prefix(), path)) {
                return Optional.of(route.service());
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
