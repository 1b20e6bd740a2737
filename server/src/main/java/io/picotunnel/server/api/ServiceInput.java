package io.picotunnel.server.api;

import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.DomainWithUrlParts;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.protocol.net.Hostnames;
import io.picotunnel.server.net.PathNormalizer;
import io.picotunnel.server.net.PortRanges;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;

import java.util.List;
import java.util.Set;

/**
 * Turns a request body into a valid {@link Service}: fields checked one by one with a message naming the field,
 * defaults filled in ({@code path_prefix "/"}, {@code tls_mode "terminate"}, {@code enabled true}), names
 * normalised to lower case and ASCII (a domain or host beyond it in its xn-- form). Conflicts between services are the store's business.
 */
final class ServiceInput {

    static final Set<String> WRITABLE = Set.of("type", "domain", "path_prefix", "tls_mode", "listen_addr", "target_addr", "enabled",
            "https_redirect", "auth", "ip_allow", "ip_deny", "rate_limit");
    static final Set<String> READ_ONLY = Set.of("id", "tunnel_id", "created_at", "updated_at",
            "cert_status", "cert_expires_at", "cert_error", "active", "error");
    private static final int MAX_PATH_PREFIX = 1024;

    /** The server's own listeners, which no tcp service may take. */
    private final List<ApiServer.ReservedAddress> reserved;
    /** The ports tcp services may listen on (PICOTUNNEL_TCP_PORTS). */
    private final PortRanges tcpPorts;
    /** Whether the server has an OIDC provider, which {@code auth: oidc} services sign in through. */
    private final boolean oidcAvailable;

    ServiceInput(List<ApiServer.ReservedAddress> reserved, PortRanges tcpPorts, boolean oidcAvailable) {
        this.reserved = List.copyOf(reserved);
        this.tcpPorts = tcpPorts;
        this.oidcAvailable = oidcAvailable;
    }

    /** A new service of {@code tunnelId} (id and created_at are assigned by the store). */
    Service create(String tunnelId, JsonBody body) {
        String typeText = body.string("type");
        if (typeText == null) {
            throw ApiError.invalidField("type", "is required: \"http\" or \"tcp\"");
        }
        ServiceType type = type(typeText);
        Service draft = new Service(null, tunnelId, type, null, "/", TlsMode.TERMINATE, null, null, true, null);
        return validateWithAccess(apply(draft, body, new PasswordHashes()), null, null);
    }

    /** {@code stored} with the fields present in {@code body} changed; a field given as null goes back to its default. */
    Service patch(Service stored, JsonBody body) {
        return patch(stored, body, new PasswordHashes());
    }

    /** As {@link #patch(Service, JsonBody)}, a password hashed through {@code hashes}. */
    Service patch(Service stored, JsonBody body, PasswordHashes hashes) {
        if (body.has("type") && type(body.string("type")) != stored.type()) {
            throw ApiError.invalidField("type", "cannot be changed; delete the service and create a new one");
        }
        return validateWithAccess(apply(stored, body, hashes), stored.domain(), stored.listenAddr());
    }

    /** {@code storedDomain}, {@code storedListen}: the domain and listen address the service has now (null for a new one). */
    private Service validateWithAccess(Service applied, String storedDomain, String storedListen) {
        Service valid = validate(applied, storedDomain, storedListen);
        return valid.withAccess(AccessInput.check(valid, applied.access(), oidcAvailable));
    }

    private static ServiceType type(String text) {
        if (text != null) {
            for (ServiceType type : ServiceType.values()) {
                if (type.json().equals(text)) {
                    return type;
                }
            }
        }
        throw ApiError.invalidField("type", "unknown type " + ControlCharacters.quoted(text) + "; expected \"http\" or \"tcp\"");
    }

    private static Service apply(Service base, JsonBody body, PasswordHashes hashes) {
        boolean http = base.type() == ServiceType.HTTP;
        for (String field : http ? List.of("listen_addr") : List.of("domain", "path_prefix", "tls_mode", "https_redirect")) {
            if (body.has(field) && !body.isNull(field)) {
                throw ApiError.invalidField(field, "applies to " + (http ? "tcp" : "http") + " services only");
            }
        }
        String domain = body.has("domain") ? body.string("domain") : base.domain();
        String pathPrefix = body.has("path_prefix") ? orDefault(body.string("path_prefix"), "/") : base.pathPrefix();
        TlsMode tlsMode = body.has("tls_mode") ? tlsMode(body.string("tls_mode")) : base.tlsMode();
        String listenAddr = body.has("listen_addr") ? body.string("listen_addr") : base.listenAddr();
        String targetAddr = body.has("target_addr") ? body.string("target_addr") : base.targetAddr();
        boolean enabled = body.has("enabled") ? orDefault(body.bool("enabled"), true) : base.enabled();
        boolean httpsRedirect = body.has("https_redirect") ? orDefault(body.bool("https_redirect"), false)
                : base.httpsRedirect();
        return new Service(base.id(), base.tunnelId(), base.type(), domain, pathPrefix, tlsMode, listenAddr, targetAddr,
                enabled, base.createdAt(), httpsRedirect, AccessInput.apply(base.access(), body, hashes));
    }

    private static <T> T orDefault(T value, T fallback) {
        return value == null ? fallback : value;
    }

    private static TlsMode tlsMode(String text) {
        if (text == null) {
            return TlsMode.TERMINATE;
        }
        for (TlsMode mode : TlsMode.values()) {
            if (mode.json().equals(text)) {
                return mode;
            }
        }
        throw ApiError.invalidField("tls_mode", "unknown mode " + ControlCharacters.quoted(text) + "; expected \"terminate\" or \"passthrough\"");
    }

    private Service validate(Service service, String storedDomain, String storedListen) {
        String target = address("target_addr", service.targetAddr(), HostPort.Rules.CONNECT, "localhost:8080").toString();
        if (service.type() == ServiceType.HTTP) {
            String domain = domain(service.domain());
            if (!domain.equals(storedDomain)) {
                // As for a listen address: a domain stored before these were refused keeps the service editable.
                routable(domain);
            }
            String pathPrefix = pathPrefix(service.pathPrefix());
            if (service.tlsMode() == TlsMode.PASSTHROUGH && !pathPrefix.equals("/")) {
                throw ApiError.invalidField("path_prefix", "must be \"/\" for a passthrough service, which is routed by name only");
            }
            return new Service(service.id(), service.tunnelId(), service.type(), domain, pathPrefix, service.tlsMode(),
                    null, target, service.enabled(), service.createdAt(), service.httpsRedirect());
        }
        // Port 0: any free port, which the store has chosen (PortPicker) by the time it stores the service.
        HostPort listen = address("listen_addr", service.listenAddr(), HostPort.Rules.SERVICE_REQUEST, "0.0.0.0:2222");
        // Kept as stored, though the settings may no longer allow it (a narrowed range, a server listener moved onto
        // it), the service stays editable (disabled, retargeted); the server does not publish it meanwhile.
        if (!listen.toString().equals(storedListen)) {
            allowed(listen);
        }
        return new Service(service.id(), service.tunnelId(), service.type(), null, "/", TlsMode.TERMINATE,
                listen.toString(), target, service.enabled(), service.createdAt(), false);
    }

    /** Refuses a new listen address the settings do not allow: outside the range, or the server's own. */
    private void allowed(HostPort listen) {
        if (listen.port() != 0 && !tcpPorts.contains(listen.port())) {
            throw ApiError.invalidField("listen_addr", "port " + listen.port() + " is not one tcp services may use on"
                    + " this server (" + tcpPorts + "); pick a port in it, or have the operator change "
                    + Setting.TCP_PORTS.envVar());
        }
        for (ApiServer.ReservedAddress own : reserved) {
            if (own.address().port() != 0 && own.address().overlapsAsResolved(listen)) {
                throw ApiError.conflict("listen_addr: " + listen + " is taken by the server itself (" + own.setting() + ")",
                        "listen_addr");
            }
        }
    }

    private static HostPort address(String field, String value, HostPort.Rules rules, String example) {
        if (value == null || value.isBlank()) {
            throw ApiError.invalidField(field, "is required, for example \"" + example + "\"");
        }
        try {
            return HostPort.parse(value, rules);
        } catch (IllegalArgumentException e) {
            throw ApiError.invalidField(field, e.getMessage());
        }
    }

    private static String domain(String value) {
        if (value == null || value.isBlank()) {
            throw ApiError.invalidField("domain", "is required for an http service, for example \"app.example.com\"");
        }
        DomainWithUrlParts.explain(value).ifPresent(message -> {
            throw ApiError.invalidField("domain", message);
        });
        String domain;
        try {
            domain = Hostnames.ascii(value.strip());
        } catch (IllegalArgumentException e) {
            throw ApiError.invalidField("domain", ControlCharacters.quoted(value) + " is not a valid host name: " + e.getMessage());
        }
        if (!Hostnames.isHostnameOrWildcard(domain)) {
            throw ApiError.invalidField("domain", ControlCharacters.quoted(value) + " is not a valid host name such as app.example.com"
                    + " or *.example.com" + Hostnames.underscoreNote(domain));
        }
        return domain;
    }

    /**
     * Refuses a host name no request for a domain can carry: an IP address ({@code 1.2.3.4}, and any name whose last
     * label is a number, decimal or hexadecimal such as {@code 0x7f}, which browsers read as an IPv4 address: the
     * WHATWG URL standard's "ends in a number"), and a wildcard over a whole top-level domain
     * ({@code *.com}: every name under it). A domain of one label ({@code intranet}, {@code localhost}) is taken.
     */
    private static void routable(String domain) {
        boolean wildcard = domain.startsWith("*.");
        String name = wildcard ? domain.substring(2) : domain;
        String lastLabel = name.substring(name.lastIndexOf('.') + 1);
        if (isNumber(lastLabel)) {
            throw ApiError.invalidField("domain", ControlCharacters.quoted(domain) + " is " + (Hostnames.isIpv4Literal(name) && !wildcard
                    ? "an IP address" : "read as an IP address by browsers, since its last label is a number"
                    + (lastLabel.startsWith("0x") ? " (hexadecimal)" : ""))
                    + ", not a domain name; use a name such as app.example.com");
        }
        if (wildcard && !name.contains(".")) {
            throw ApiError.invalidField("domain", ControlCharacters.quoted(domain) + " would take every name under ." + name
                    + "; a wildcard needs a name of two labels or more after \"*.\", such as *.example.com");
        }
    }

    /** A label browsers read as a number of an IPv4 address: digits, or "0x" and hexadecimal digits (none too). */
    private static boolean isNumber(String label) {
        String digits = label.startsWith("0x") ? label.substring(2) : label;
        boolean hex = digits.length() != label.length();
        return (hex || !label.isEmpty()) && digits.chars()
                .allMatch(c -> c >= '0' && c <= '9' || hex && (c >= 'a' && c <= 'f'));
    }

    /**
     * The prefix as requests spell it: the characters browsers percent-encode in a path (the WHATWG path
     * percent-encode set: outside ASCII, space, {@code " < > ^ ` { }}) percent-encoded as UTF-8 with upper-case hex
     * ({@code /café} is {@code /caf%C3%A9}, {@code /a b} is {@code /a%20b}), as the proxy's normal form of a request
     * path keeps them. Stored as typed, such a prefix would never match a browser's request.
     */
    private static String pathPrefix(String value) {
        if (!value.startsWith("/")) {
            throw ApiError.invalidField("path_prefix", "must start with \"/\"");
        }
        if (value.length() > MAX_PATH_PREFIX) {
            throw ApiError.invalidField("path_prefix", "is longer than " + MAX_PATH_PREFIX + " characters");
        }
        if (value.chars().anyMatch(c -> c < ' ' || c == 0x7f || c == '?' || c == '#')) {
            throw ApiError.invalidField("path_prefix", "must not contain control characters, '?' or '#'");
        }
        HiddenCharacters.first(value).ifPresent(c -> {
            throw ApiError.invalidField("path_prefix", "must not contain the " + HiddenCharacters.describe(c));
        });
        String encoded = PathNormalizer.percentEncodeAsBrowsers(value);
        if (encoded.length() > MAX_PATH_PREFIX) {
            throw ApiError.invalidField("path_prefix", "is longer than " + MAX_PATH_PREFIX
                    + " characters once percent-encoded as browsers send it (" + encoded.length() + ")");
        }
        if (PathNormalizer.normalize(encoded) == null) {
            // The proxy answers such a request path 400: the service would never get a request.
            throw ApiError.invalidField("path_prefix", "has a '%' that is not followed by two hex digits"
                    + " (write '%25' for a percent sign)");
        }
        return encoded;
    }
}
