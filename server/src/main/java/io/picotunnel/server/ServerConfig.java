package io.picotunnel.server;

import io.picotunnel.protocol.config.ByteSize;
import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.protocol.config.QuotedSecrets;
import io.picotunnel.protocol.config.SettingValues;
import io.picotunnel.protocol.net.Hostnames;
import io.picotunnel.protocol.text.AsciiNumbers;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.protocol.yamux.SessionLimits;
import io.picotunnel.protocol.yamux.TotalBufferBudget;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.server.access.Cidr;
import io.picotunnel.server.auth.AdminToken;
import io.picotunnel.server.config.AuthMode;
import io.picotunnel.server.config.ExampleEmail;
import io.picotunnel.server.config.Limits;
import io.picotunnel.server.config.PublicPorts;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.monitor.MonitorSettings;
import io.picotunnel.server.net.DomainWithUrlParts;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.net.PortRanges;
import io.picotunnel.server.net.UrlHosts;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Optional;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The server's settings, immutable and validated. Built by {@link #load} from flags and {@code PICOTUNNEL_*}
 * environment variables (a flag wins, then the variable, then the {@link Setting} default). Optional groups
 * ({@link #domain}, {@link #adminToken}, {@link #oidc}, {@link #tlsFiles}) are null when not configured.
 * {@code asciiHosts}: for the start-up log, a sentence for each URL setting whose host, beyond ASCII, is used in its
 * ASCII form.
 */
public record ServerConfig(
        Path dataDir,
        HostPort listenAddr,
        HostPort tunnelAddr,
        HostPort httpAddr,
        HostPort httpsAddr,
        String domain,
        String adminToken,
        AuthMode authMode,
        Oidc oidc,
        Acme acme,
        TlsFiles tlsFiles,
        Duration proxyTimeout,
        Duration keepaliveTimeout,
        Duration sendTimeout,
        UpstreamKeepalive upstreamKeepalive,
        Duration shutdownGrace,
        SessionLimits tunnels,
        Duration streamOpenTimeout,
        long totalBufferLimit,
        Limits limits,
        List<Cidr> trustedProxies,
        boolean proxyProtocol,
        String imagePrefix,
        MonitorSettings monitoring,
        PublicPorts publicPorts,
        List<String> asciiHosts) {

    public static final String LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
    public static final String LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

    /**
     * Upstream keep-alive of the HTTP proxy: how long a stream to a service's target waits, idle, for the next
     * request (zero: never reused) and how many wait per service at most (as nginx's {@code keepalive}).
     */
    public record UpstreamKeepalive(Duration idleTimeout, int maxIdle) {
        /** Checked by the rules and messages of --upstream-keepalive-timeout and --upstream-keepalive. */
        public UpstreamKeepalive {
            SettingValues.duration(Setting.UPSTREAM_KEEPALIVE_TIMEOUT, idleTimeout, true);
            SettingValues.count(Setting.UPSTREAM_KEEPALIVE, maxIdle, 1, Integer.MAX_VALUE);
        }
    }

    public static final Duration MIN_STREAM_OPEN_TIMEOUT = Duration.ofSeconds(1);
    public static final Duration MAX_STREAM_OPEN_TIMEOUT = Duration.ofMinutes(10);

    /** Shortest admin token accepted from the operator (a generated one has 64 hex characters). */
    public static final int MIN_ADMIN_TOKEN_LENGTH = AdminToken.MIN_TOKEN_LENGTH;
    /** Longest admin token accepted, as the client's longest token. */
    public static final int MAX_ADMIN_TOKEN_LENGTH = AdminToken.MAX_TOKEN_LENGTH;

    /**
     * OIDC sign-in for the web UI: users on {@code allowedEmails}/{@code allowedGroups} may enter, or with
     * {@code allowAll} (and no list) every user of the provider.
     */
    public record Oidc(URI issuer, String clientId, String clientSecret, URI redirectUrl,
                       List<String> allowedEmails, List<String> allowedGroups, boolean allowAll) {
        public Oidc {
            Objects.requireNonNull(issuer);
            Objects.requireNonNull(clientId);
            Objects.requireNonNull(redirectUrl);
            allowedEmails = List.copyOf(allowedEmails);
            allowedGroups = List.copyOf(allowedGroups);
        }

        @Override
        public String toString() {
            return "Oidc[issuer=" + issuer + ", clientId=" + clientId + ", redirectUrl=" + redirectUrl
                    + ", allowAll=" + allowAll + "]";
        }
    }

    /** ACME certificates; {@code email} and {@code caFile} are null when unset. */
    public record Acme(boolean enabled, String email, URI directory, Path caFile) {
        public Acme {
            Objects.requireNonNull(directory);
        }
    }

    /** A certificate chain and key for the server's own domain, given by the operator. */
    public record TlsFiles(Path certificate, Path privateKey) {
        public TlsFiles {
            Objects.requireNonNull(certificate);
            Objects.requireNonNull(privateKey);
        }
    }

    /**
     * Checks each duration by the rule {@link #load} applies, with the same message: "Invalid --x (PICOTUNNEL_X): ...",
     * also for configs made in code (a proxy timeout beyond ten years failed later, in the HTTP proxy's builder, in
     * words that named no setting); those of {@link Limits}, {@link MonitorSettings} and {@link UpstreamKeepalive} are
     * checked by their own records, but for the least check interval.
     */
    public ServerConfig {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(listenAddr, "listenAddr");
        Objects.requireNonNull(tunnelAddr, "tunnelAddr");
        Objects.requireNonNull(httpAddr, "httpAddr");
        Objects.requireNonNull(httpsAddr, "httpsAddr");
        adminToken = adminToken(adminToken);
        Objects.requireNonNull(authMode, "authMode");
        Objects.requireNonNull(acme, "acme");
        SettingValues.duration(Setting.PROXY_TIMEOUT, proxyTimeout, false);
        SettingValues.duration(Setting.KEEPALIVE_TIMEOUT, keepaliveTimeout, false);
        SettingValues.duration(Setting.SEND_TIMEOUT, sendTimeout, false);
        Objects.requireNonNull(upstreamKeepalive, "upstreamKeepalive");
        SettingValues.duration(Setting.SHUTDOWN_GRACE, shutdownGrace, true);
        Objects.requireNonNull(tunnels, "tunnels");
        SettingValues.duration(Setting.STREAM_OPEN_TIMEOUT, streamOpenTimeout, false);
        if (!streamOpenTimeoutInRange(streamOpenTimeout)) {
            throw ConfigException.invalid(Setting.STREAM_OPEN_TIMEOUT, "it must be from 1s to 10m");
        }
        Objects.requireNonNull(limits, "limits");
        trustedProxies = List.copyOf(trustedProxies);
        Objects.requireNonNull(monitoring, "monitoring");
        checkInterval(monitoring.checkInterval());
        Objects.requireNonNull(publicPorts, "publicPorts");
        asciiHosts = List.copyOf(asciiHosts);
    }

    /** Below a second a client busy for a moment would lose requests; beyond ten minutes a visitor waits on. */
    private static boolean streamOpenTimeoutInRange(Duration timeout) {
        return timeout.compareTo(MIN_STREAM_OPEN_TIMEOUT) >= 0 && timeout.compareTo(MAX_STREAM_OPEN_TIMEOUT) <= 0;
    }

    /** Each probe may take at most the interval: below a second checks time out and the table fills fast. */
    private static Duration checkInterval(Duration interval) {
        SettingValues.duration(Setting.CHECK_INTERVAL, interval, false);
        if (interval.compareTo(MonitorSettings.MIN_CHECK_INTERVAL) < 0) {
            throw ConfigException.invalid(Setting.CHECK_INTERVAL, "it must be at least "
                    + MonitorSettings.MIN_CHECK_INTERVAL.toSeconds() + "s: checks more often would time out and fill"
                    + " the database");
        }
        return interval;
    }

    /**
     * {@code given} without one pair of quotes around it ({@link QuotedSecrets}), if it is an admin token
     * {@code --admin-token} takes; null when unset. Also for configs made in code.
     */
    private static String adminToken(String given) {
        String token = QuotedSecrets.unquoted(given);
        if (token == null) {
            return null;
        }
        AdminToken.Refusal refusal = AdminToken.refusal(token);
        if (refusal == AdminToken.Refusal.PLACEHOLDER) {
            throw ConfigException.invalid(Setting.ADMIN_TOKEN, "it is the placeholder of an example"
                    + " (examples/kubernetes/secret.yaml), known to everyone: set a random one, e.g. openssl rand -hex 32");
        }
        if (refusal != null) {
            // The value itself is a secret: never repeat it.
            throw ConfigException.invalid(Setting.ADMIN_TOKEN, "the token must be from " + MIN_ADMIN_TOKEN_LENGTH
                    + " to " + MAX_ADMIN_TOKEN_LENGTH + " printable ASCII characters without spaces (or leave it unset"
                    + " to have one generated)");
        }
        return token;
    }

    /** Reads every setting from {@code flags} (given on the command line), then {@code env}, then the default. */
    public static ServerConfig load(Map<Setting, String> flags, Map<String, String> env) {
        String dataDir = flags.get(Setting.DATA_DIR);
        if (dataDir != null && dataDir.isBlank()) {
            throw new ConfigException(emptyDataDirFlag());
        }
        return new Parser(SettingValues.resolve(Setting.class, flags, env)).parse();
    }

    /**
     * What an empty {@code --data} is told: given on the command line (a variable in a script that was not set), it
     * must not quietly become the default ./data, nor the current directory (what an empty path is).
     */
    static String emptyDataDirFlag() {
        return "Invalid " + Setting.DATA_DIR.displayName() + ": " + Setting.DATA_DIR.flag() + " is empty; name the"
                + " data directory, or leave the flag out for " + Setting.DATA_DIR.envVar() + " or the default "
                + Setting.DATA_DIR.defaultValue() + ".";
    }

    /** Settings given as flags only, without looking at any environment. */
    public static ServerConfig load(Map<Setting, String> flags) {
        return load(flags, Map.of());
    }

    /**
     * Every listener on 127.0.0.1 with an ephemeral port and the data in {@code dataDir}, then {@code overrides}:
     * for tests and for embedding the server.
     */
    public static ServerConfig ephemeral(Path dataDir, Map<Setting, String> overrides) {
        Map<Setting, String> flags = new EnumMap<>(Setting.class);
        flags.put(Setting.DATA_DIR, dataDir.toString());
        for (Setting address : List.of(Setting.LISTEN_ADDR, Setting.TUNNEL_ADDR, Setting.HTTP_ADDR, Setting.HTTPS_ADDR)) {
            flags.put(address, "127.0.0.1:0");
        }
        flags.putAll(overrides);
        return load(flags);
    }

    public static ServerConfig ephemeral(Path dataDir) {
        return ephemeral(dataDir, Map.of());
    }

    /**
     * When stream windows are kept below --max-stream-window, the sentence that says so for the start, naming the
     * limit that keeps them: --total-buffer-limit when it is below --session-buffer-limit, else as
     * {@link SessionLimits#windowKept}.
     */
    public Optional<String> windowKept() {
        if (totalBufferLimit == 0 || totalBufferLimit >= tunnels.sessionBufferLimit()
                || tunnels.maxStreamWindow() >= tunnels.askedStreamWindow()) {
            return tunnels.windowKept();
        }
        return Optional.of("Stream windows grow to at most " + tunnels.maxStreamWindow() + " bytes, half of"
                + " --total-buffer-limit (" + totalBufferLimit + " bytes) but never below 256 KiB, not to --max-stream-window ("
                + tunnels.askedStreamWindow() + " bytes): a stream whose reader keeps up may hold a whole window for a"
                + " moment, and alone it must not take all client connections over the limit and be reset");
    }

    /** When --session-buffer-limit is above --total-buffer-limit, the sentence for the start: the total binds first. */
    public Optional<String> sessionBufferLimitAboveTotal() {
        if (totalBufferLimit == 0 || tunnels.sessionBufferLimit() <= totalBufferLimit) {
            return Optional.empty();
        }
        return Optional.of("--session-buffer-limit (" + tunnels.sessionBufferLimit() + " bytes) is above"
                + " --total-buffer-limit (" + totalBufferLimit + " bytes): a client connection's streams are reset at"
                + " the total before it reaches its own limit; set --session-buffer-limit at most --total-buffer-limit"
                + " (lowering it also lowers the HTTP/2 upload budget, which it sets)");
    }

    /** The settings of every client's yamux session: {@link #tunnels} and {@link #streamOpenTimeout}. */
    public YamuxConfig yamux() {
        return tunnels.yamux().withStreamOpenTimeout(streamOpenTimeout);
    }

    public boolean authDisabled() {
        return authMode == AuthMode.NONE;
    }

    @Override
    public String toString() {
        return "ServerConfig[dataDir=" + dataDir + ", listenAddr=" + listenAddr + ", tunnelAddr=" + tunnelAddr
                + ", httpAddr=" + httpAddr + ", httpsAddr=" + httpsAddr + ", domain=" + domain
                + ", adminToken=" + (adminToken == null ? "unset" : "set") + ", authMode=" + authMode
                + ", oidc=" + oidc + ", acme=" + acme + ", tlsFiles=" + tlsFiles + ", proxyTimeout=" + proxyTimeout + ", keepaliveTimeout=" + keepaliveTimeout
                + ", sendTimeout=" + sendTimeout
                + ", upstreamKeepalive=" + upstreamKeepalive
                + ", shutdownGrace=" + shutdownGrace + ", tunnels=" + tunnels + ", streamOpenTimeout=" + streamOpenTimeout
                + ", totalBufferLimit=" + totalBufferLimit + ", limits=" + limits
                + ", trustedProxies=" + trustedProxies + ", proxyProtocol=" + proxyProtocol
                + ", imagePrefix=" + imagePrefix
                + ", checkInterval=" + monitoring.checkInterval() + ", checkRetention=" + monitoring.checkRetention()
                + ", webhooks=" + monitoring.webhookUrls().size() + ", alertAfter=" + monitoring.alertAfter()
                + ", publicPorts=" + publicPorts + "]";
    }

    /** Turns the raw strings into typed values; every failure names the setting and what to do. */
    private static final class Parser {

        private static final String CONTACT_PUNCTUATION = ".-_+!$&'*/=~";

        private final SettingValues<Setting> values;
        private final List<String> asciiHosts = new ArrayList<>();

        Parser(SettingValues<Setting> values) {
            this.values = values;
        }

        ServerConfig parse() {
            long totalBufferLimit = totalBufferLimit();
            return new ServerConfig(
                    path(Setting.DATA_DIR),
                    address(Setting.LISTEN_ADDR),
                    address(Setting.TUNNEL_ADDR),
                    address(Setting.HTTP_ADDR),
                    address(Setting.HTTPS_ADDR),
                    domain(),
                    raw(Setting.ADMIN_TOKEN),
                    authMode(),
                    oidc(),
                    acme(),
                    tlsFiles(),
                    duration(Setting.PROXY_TIMEOUT),
                    duration(Setting.KEEPALIVE_TIMEOUT),
                    duration(Setting.SEND_TIMEOUT),
                    new UpstreamKeepalive(duration(Setting.UPSTREAM_KEEPALIVE_TIMEOUT, true),
                            count(Setting.UPSTREAM_KEEPALIVE, 1)),
                    duration(Setting.SHUTDOWN_GRACE, true),
                    tunnels(totalBufferLimit),
                    streamOpenTimeout(),
                    totalBufferLimit,
                    limits(),
                    trustedProxies(),
                    proxyProtocol(),
                    imagePrefix(),
                    monitoring(),
                    new PublicPorts(port(Setting.PUBLIC_HTTP_PORT), port(Setting.PUBLIC_HTTPS_PORT),
                            port(Setting.PUBLIC_TUNNEL_PORT)),
                    asciiHosts);
        }

        /** A port from 1 to 65535, or 0 when unset. */
        private int port(Setting setting) {
            String value = raw(setting);
            if (value == null) {
                return 0;
            }
            try {
                // Digits only: no sign ("+80"), as no other program writes a port with one.
                int port = AsciiNumbers.isDigits(value) ? AsciiNumbers.parseInt(value) : 0;
                if (port >= 1 && port <= 65535) {
                    return port;
                }
            } catch (NumberFormatException e) {
                // said below
            }
            throw invalid(setting, quoted(value) + " is not a port from 1 to 65535");
        }

        private Limits limits() {
            int maxStreams = sessionLimits().maxStreams();
            int maxTunnelRequests = raw(Setting.MAX_TUNNEL_REQUESTS) == null
                    ? Math.max(1, Math.min(Limits.DEFAULTS.maxTunnelRequests(), maxStreams / 2))
                    : count(Setting.MAX_TUNNEL_REQUESTS, 1);
            if (maxTunnelRequests >= maxStreams) {
                throw invalid(Setting.MAX_TUNNEL_REQUESTS, "it must be below " + Setting.MAX_STREAMS.displayName()
                        + " (" + maxStreams + "), so that tcp connections and the client's own streams still fit");
            }
            PortRanges tcpPorts;
            try {
                tcpPorts = PortRanges.parse(raw(Setting.TCP_PORTS));
            } catch (IllegalArgumentException e) {
                throw invalid(Setting.TCP_PORTS, e.getMessage());
            }
            return new Limits(duration(Setting.HEADER_TIMEOUT), count(Setting.MAX_CONNECTIONS, 1),
                    count(Setting.MAX_CONNECTIONS_PER_ADDRESS, 1), maxTunnelRequests, count(Setting.MAX_TUNNELS, 0),
                    count(Setting.MAX_SERVICES, 0), tcpPorts);
        }

        private int count(Setting setting, int min) {
            return values.count(setting, min);
        }

        private boolean proxyProtocol() {
            boolean on = bool(Setting.PROXY_PROTOCOL);
            if (on && raw(Setting.TRUSTED_PROXIES) == null) {
                throw invalid(Setting.PROXY_PROTOCOL, "the PROXY protocol is read only from trusted proxies; name them in "
                        + Setting.TRUSTED_PROXIES.displayName());
            }
            return on;
        }

        private List<Cidr> trustedProxies() {
            List<Cidr> proxies = new java.util.ArrayList<>();
            for (String entry : list(Setting.TRUSTED_PROXIES, false)) {
                try {
                    proxies.add(Cidr.parse(entry));
                } catch (IllegalArgumentException e) {
                    throw invalid(Setting.TRUSTED_PROXIES, e.getMessage());
                }
            }
            return proxies;
        }

        /** A registry path such as {@code registry.example.com/team/} put before the image names; empty by default. */
        private String imagePrefix() {
            String prefix = raw(Setting.IMAGE_PREFIX);
            if (prefix == null || prefix.isBlank()) {
                return "";
            }
            prefix = prefix.trim();
            if (!prefix.matches("[A-Za-z0-9._:/-]+")) {
                throw invalid(Setting.IMAGE_PREFIX, quoted(prefix) + " is not a registry path such as registry.example.com/team/");
            }
            return prefix.endsWith("/") ? prefix : prefix + "/";
        }

        private MonitorSettings monitoring() {
            List<URI> webhooks = new ArrayList<>();
            for (String url : list(Setting.WEBHOOK_URL, false)) {
                String entry = "entry " + (webhooks.size() + 1);
                String ascii;
                try {
                    ascii = UrlHosts.ascii(url);
                } catch (IllegalArgumentException e) {
                    // Its host only: the rest of the URL may hold a secret.
                    throw invalid(Setting.WEBHOOK_URL, entry + ": " + e.getMessage());
                }
                try {
                    URI uri = new URI(ascii);
                    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                    boolean port = uri.getPort() == -1 || uri.getPort() >= 1 && uri.getPort() <= 65535;
                    if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null && port) {
                        if (!ascii.equals(url)) {
                            asciiHosts.add(Setting.WEBHOOK_URL.displayName() + ", " + entry
                                    + ": its host is used in its ASCII form, " + uri.getHost());
                        }
                        webhooks.add(uri);
                        continue;
                    }
                } catch (URISyntaxException e) {
                    // reported below
                }
                // The URL may hold a secret (Slack and Discord put one in the path): name only its position.
                if (!url.contains("://")) {
                    throw invalid(Setting.WEBHOOK_URL, entry + " has no scheme: write https:// (or http://) before its"
                            + " host, as the receiver gives the URL");
                }
                throw invalid(Setting.WEBHOOK_URL, entry
                        + " is not an http(s) URL (with a port from 1 to 65535, if any)");
            }
            int alertAfter = values.count(Setting.ALERT_AFTER, 1, MonitorSettings.MAX_ALERT_AFTER);
            Duration interval = checkInterval(duration(Setting.CHECK_INTERVAL));
            return new MonitorSettings(interval, duration(Setting.CHECK_RETENTION), webhooks,
                    alertAfter, bool(Setting.METRICS_PUBLIC), count(Setting.MAX_EVENTS, MonitorSettings.MIN_MAX_EVENTS));
        }

        private Duration streamOpenTimeout() {
            Duration timeout = duration(Setting.STREAM_OPEN_TIMEOUT);
            if (!streamOpenTimeoutInRange(timeout)) {
                throw invalid(Setting.STREAM_OPEN_TIMEOUT, quoted(raw(Setting.STREAM_OPEN_TIMEOUT))
                        + " is not a duration from 1s to 10m");
            }
            return timeout;
        }

        /** 0 (none), or at least a stream's initial window, which every stream may be sent whatever the limit. */
        private long totalBufferLimit() {
            long limit = values.parsed(Setting.TOTAL_BUFFER_LIMIT,
                    text -> text == null ? TotalBufferBudget.DEFAULT_LIMIT : ByteSize.parse(text));
            if (limit != 0 && limit < YamuxConfig.INITIAL_STREAM_WINDOW) {
                throw invalid(Setting.TOTAL_BUFFER_LIMIT, "it must be 0 (no limit) or at least 256KiB");
            }
            return limit;
        }

        /**
         * Stream windows kept to half of {@code totalBufferLimit} too, when it is the lower: one download whose reader
         * keeps up may hold a whole window for a moment, and alone it must not take the total over and be reset.
         */
        private SessionLimits tunnels(long totalBufferLimit) {
            SessionLimits limits = sessionLimits();
            if (totalBufferLimit == 0) {
                return limits;
            }
            return new SessionLimits(YamuxConfig.windowWithin(limits.maxStreamWindow(), totalBufferLimit),
                    limits.sessionWindowBudget(), limits.maxStreams(), limits.sessionBufferLimit(),
                    limits.askedStreamWindow());
        }

        private SessionLimits sessionLimits() {
            return values.sessionLimits(Setting.MAX_STREAM_WINDOW, Setting.SESSION_WINDOW_BUDGET, Setting.MAX_STREAMS,
                    Setting.SESSION_BUFFER_LIMIT);
        }

        private String raw(Setting setting) {
            return values.raw(setting);
        }

        private ConfigException invalid(Setting setting, String problem) {
            return values.invalid(setting, problem);
        }

        /** A value as given, in quotes, its control characters written out: it goes to a message or a log line. */
        private static String quoted(String value) {
            return ControlCharacters.quoted(value);
        }

        private Path path(Setting setting) {
            try {
                return Path.of(raw(setting));
            } catch (InvalidPathException e) {
                throw invalid(setting, quoted(raw(setting)) + " is not a valid path");
            }
        }

        private Path existingFile(Setting setting) {
            if (raw(setting) == null) {
                return null;
            }
            Path file = path(setting);
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                throw invalid(setting, "file " + quoted(raw(setting)) + " does not exist or cannot be read");
            }
            return file;
        }

        private HostPort address(Setting setting) {
            try {
                return HostPort.parse(raw(setting), HostPort.Rules.SERVER_LISTEN);
            } catch (IllegalArgumentException e) {
                throw invalid(setting, e.getMessage());
            }
        }

        private String domain() {
            String domain = raw(Setting.DOMAIN);
            if (domain == null) {
                return null;
            }
            DomainWithUrlParts.explainServerDomain(domain).ifPresent(message -> {
                throw invalid(Setting.DOMAIN, message);
            });
            String ascii;
            try {
                ascii = Hostnames.ascii(domain);
            } catch (IllegalArgumentException e) {
                throw invalid(Setting.DOMAIN, quoted(domain) + " is not a valid host name: " + e.getMessage());
            }
            if (!Hostnames.isHostname(ascii)) {
                throw invalid(Setting.DOMAIN, quoted(domain) + " is not a valid host name such as tunnel.example.com"
                        + Hostnames.underscoreNote(ascii));
            }
            return ascii;
        }

        private AuthMode authMode() {
            return switch (raw(Setting.AUTH).toLowerCase(Locale.ROOT)) {
                case "token" -> AuthMode.TOKEN;
                case "none" -> AuthMode.NONE;
                default -> throw invalid(Setting.AUTH, quoted(raw(Setting.AUTH)) + " is not 'token' or 'none'");
            };
        }

        private Oidc oidc() {
            if (raw(Setting.OIDC_ISSUER) == null) {
                for (Setting other : List.of(Setting.OIDC_CLIENT_ID, Setting.OIDC_CLIENT_SECRET, Setting.OIDC_REDIRECT_URL,
                        Setting.OIDC_ALLOWED_EMAILS, Setting.OIDC_ALLOWED_GROUPS)) {
                    if (raw(other) != null) {
                        throw invalid(other, "it needs " + Setting.OIDC_ISSUER.displayName() + " to be set as well");
                    }
                }
                if (bool(Setting.OIDC_ALLOW_ALL)) {
                    throw invalid(Setting.OIDC_ALLOW_ALL, "it needs " + Setting.OIDC_ISSUER.displayName() + " to be set as well");
                }
                return null;
            }
            URI issuer = httpUrl(Setting.OIDC_ISSUER);
            String clientId = required(Setting.OIDC_CLIENT_ID, "OIDC sign-in");
            URI redirect = httpUrl(Setting.OIDC_REDIRECT_URL);
            if (redirect == null) {
                throw invalid(Setting.OIDC_REDIRECT_URL, "it is required for OIDC sign-in, e.g. https://tunnel.example.com/auth/callback");
            }
            List<String> emails = list(Setting.OIDC_ALLOWED_EMAILS, true);
            List<String> groups = list(Setting.OIDC_ALLOWED_GROUPS, false);
            boolean allowAll = bool(Setting.OIDC_ALLOW_ALL);
            if (emails.isEmpty() && groups.isEmpty() && !allowAll) {
                throw new ConfigException("OIDC sign-in is configured (" + Setting.OIDC_ISSUER.displayName()
                        + ") without an allow list, so every user of " + issuer + " would become an administrator of this"
                        + " server. Set " + Setting.OIDC_ALLOWED_EMAILS.displayName() + " or "
                        + Setting.OIDC_ALLOWED_GROUPS.displayName() + ", or, if that is what you want, "
                        + Setting.OIDC_ALLOW_ALL.envVar() + "=true (" + Setting.OIDC_ALLOW_ALL.flag() + ").");
            }
            if (allowAll && !(emails.isEmpty() && groups.isEmpty())) {
                throw invalid(Setting.OIDC_ALLOW_ALL, "it lets every user in, so it cannot be combined with "
                        + Setting.OIDC_ALLOWED_EMAILS.displayName() + " or " + Setting.OIDC_ALLOWED_GROUPS.displayName()
                        + "; set one or the other");
            }
            return new Oidc(issuer, clientId, QuotedSecrets.unquoted(raw(Setting.OIDC_CLIENT_SECRET)), redirect, emails,
                    groups, allowAll);
        }

        private String required(Setting setting, String purpose) {
            String value = raw(setting);
            if (value == null) {
                throw invalid(setting, "it is required for " + purpose);
            }
            return value;
        }

        private URI httpUrl(Setting setting) {
            String value = raw(setting);
            if (value == null) {
                return null;
            }
            String ascii;
            try {
                ascii = UrlHosts.ascii(value);
            } catch (IllegalArgumentException e) {
                throw invalid(setting, quoted(value) + ": " + e.getMessage());
            }
            try {
                URI uri = new URI(ascii);
                String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) {
                    if (!ascii.equals(value)) {
                        asciiHosts.add(setting.displayName() + ": " + value + " is used as " + ascii
                                + " (its host in ASCII, as browsers send it)" + (setting == Setting.OIDC_ISSUER
                                ? "; the provider's issuer (iss) must be that form" : ""));
                    }
                    return uri;
                }
            } catch (URISyntaxException e) {
                // reported below
            }
            throw invalid(setting, quoted(value) + " is not an http(s) URL");
        }

        private List<String> list(Setting setting, boolean lowerCase) {
            String value = raw(setting);
            if (value == null) {
                return List.of();
            }
            return Arrays.stream(value.split(","))
                    .map(String::trim)
                    .filter(item -> !item.isEmpty())
                    .map(item -> lowerCase ? item.toLowerCase(Locale.ROOT) : item)
                    .toList();
        }

        private boolean bool(Setting setting) {
            return values.bool(setting);
        }

        private Acme acme() {
            boolean enabled = bool(Setting.ACME_ENABLED);
            String email = raw(Setting.ACME_EMAIL);
            if (email != null && !email.matches("[^@\\s]+@[^@\\s]+")) {
                throw invalid(Setting.ACME_EMAIL, quoted(email) + " is not an e-mail address");
            }
            if (email != null) {
                refuseWhatAContactCannotHold(email);
            }
            String directory = raw(Setting.ACME_DIRECTORY);
            URI directoryUri = switch (directory.toLowerCase(Locale.ROOT)) {
                case "production" -> URI.create(LETS_ENCRYPT_PRODUCTION);
                case "staging" -> URI.create(LETS_ENCRYPT_STAGING);
                default -> httpUrl(Setting.ACME_DIRECTORY);
            };
            String placeholder = email == null ? null : ExampleEmail.placeholderDomain(email);
            if (enabled && placeholder != null && directoryUri.getHost().toLowerCase(Locale.ROOT).endsWith(".letsencrypt.org")) {
                throw invalid(Setting.ACME_EMAIL, quoted(email) + " is an example address and Let's Encrypt refuses"
                        + " accounts with a contact at " + placeholder + ", so no certificate would be issued; set your"
                        + " own e-mail address, or leave it unset for an account without a contact");
            }
            return new Acme(enabled, email, directoryUri, existingFile(Setting.ACME_CA_FILE));
        }

        /**
         * Refuses a character the account's {@code mailto:} contact (RFC 8555 7.3) cannot hold as it is: a control
         * character, anything beyond ASCII (Let's Encrypt refuses it), ',' (a second address), '?' (header fields)
         * and what a URI must %-escape. The rest is the plain address Let's Encrypt takes.
         */
        private void refuseWhatAContactCannotHold(String email) {
            for (int i = 0; i < email.length(); i += Character.charCount(email.codePointAt(i))) {
                int c = email.codePointAt(i);
                if (c == '@' || c < 128 && (Character.isLetterOrDigit(c) || CONTACT_PUNCTUATION.indexOf(c) >= 0)) {
                    continue;
                }
                String character = Character.toString(c);
                String named = !ControlCharacters.escape(character).equals(character)
                        ? "the control character " + ControlCharacters.escape(character)
                        : c < 128 ? "'" + character + "'" : "'" + character + "' (" + String.format("U+%04X", c) + ")";
                throw invalid(Setting.ACME_EMAIL, quoted(email) + " has " + named + ", which an ACME account's contact"
                        + " cannot hold; give a plain address of ASCII letters, digits and the characters " + CONTACT_PUNCTUATION
                        + " such as you@your-domain");
            }
        }

        private TlsFiles tlsFiles() {
            Path cert = existingFile(Setting.TLS_CERT);
            Path key = existingFile(Setting.TLS_KEY);
            if (cert == null && key == null) {
                return null;
            }
            if (cert == null) {
                throw invalid(Setting.TLS_CERT, "it is required when " + Setting.TLS_KEY.displayName() + " is set");
            }
            if (key == null) {
                throw invalid(Setting.TLS_KEY, "it is required when " + Setting.TLS_CERT.displayName() + " is set");
            }
            return new TlsFiles(cert, key);
        }

        private Duration duration(Setting setting) {
            return duration(setting, false);
        }

        private Duration duration(Setting setting, boolean zeroAllowed) {
            return values.duration(setting, zeroAllowed);
        }
    }
}
