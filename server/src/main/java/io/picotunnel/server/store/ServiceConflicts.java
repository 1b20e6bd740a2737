package io.picotunnel.server.store;

import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.net.PathNormalizer;

import java.util.List;
import java.util.Objects;

/**
 * Services that cannot coexist: two http services with the same domain and path prefix, compared as routing
 * compares them ({@link PathNormalizer#normalizePrefix}: {@code /%61pi/} is {@code /api}) (a passthrough service
 * takes its whole domain, since TLS passthrough routes by name only), or two tcp services whose listen addresses
 * overlap. Disabled services count too, so that enabling one never fails on a conflict.
 */
final class ServiceConflicts {

    private ServiceConflicts() {
    }

    static void check(List<Service> existing, Service candidate) throws ServiceConflictException {
        for (Service other : existing) {
            if (other.id().equals(candidate.id()) || other.type() != candidate.type()) {
                continue;
            }
            if (candidate.type() == ServiceType.HTTP) {
                checkHttp(other, candidate);
            } else {
                checkTcp(other, candidate);
            }
        }
    }

    /**
     * Whether {@code after} listens or routes otherwise than {@code before}, so that it may conflict anew. What the
     * API does to every value it stores does not count: a domain in lower case, and a prefix stored as typed before
     * the API percent-encoded prefixes as browsers send them ({@code /{id}}, which any change through the API now
     * stores as {@code /%7Bid%7D}), so that a pair stored before such pairs were refused stays editable.
     */
    static boolean routesDiffer(Service before, Service after) {
        return before.type() != after.type() || !sameDomain(before.domain(), after.domain())
                || !Objects.equals(encoded(before.pathPrefix()), encoded(after.pathPrefix()))
                || before.tlsMode() != after.tlsMode() || !Objects.equals(before.listenAddr(), after.listenAddr());
    }

    private static String encoded(String prefix) {
        return prefix == null ? null : PathNormalizer.percentEncodeAsBrowsers(prefix);
    }

    private static boolean sameDomain(String a, String b) {
        return a == null ? b == null : a.equalsIgnoreCase(b);
    }

    private static void checkHttp(Service other, Service candidate) throws ServiceConflictException {
        if (!other.domain().equalsIgnoreCase(candidate.domain())) {
            return;
        }
        if (other.tlsMode() == TlsMode.PASSTHROUGH || candidate.tlsMode() == TlsMode.PASSTHROUGH) {
            throw new ServiceConflictException("domain " + candidate.domain() + " is already used by service " + other.id()
                    + "; a passthrough service needs its domain to itself");
        }
        String prefix = candidate.pathPrefix();
        if (PathNormalizer.normalizePrefix(other.pathPrefix()).equals(PathNormalizer.normalizePrefix(prefix))) {
            String spelling = other.pathPrefix().equals(prefix) ? ""
                    : " (its path_prefix " + other.pathPrefix() + " routes the same requests)";
            throw new ServiceConflictException("domain " + candidate.domain() + " with path_prefix " + prefix
                    + " is already used by service " + other.id() + spelling);
        }
    }

    private static void checkTcp(Service other, Service candidate) throws ServiceConflictException {
        HostPort mine = HostPort.parse(candidate.listenAddr(), HostPort.Rules.SERVICE_LISTEN);
        HostPort theirs = HostPort.parse(other.listenAddr(), HostPort.Rules.SERVICE_LISTEN);
        if (mine.overlaps(theirs)) {
            throw new ServiceConflictException("listen_addr " + candidate.listenAddr() + " overlaps listen_addr "
                    + other.listenAddr() + " of service " + other.id());
        }
    }
}
