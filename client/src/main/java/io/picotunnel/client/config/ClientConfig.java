package io.picotunnel.client.config;

import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.config.PrintableToken;
import io.picotunnel.protocol.config.QuotedSecrets;
import io.picotunnel.protocol.config.SettingValues;
import io.picotunnel.protocol.yamux.SessionLimits;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Everything the client needs to run, validated in one place. Each setting comes from a flag or from the
 * {@code PICOTUNNEL_*} environment variable of the same name; the flag wins.
 *
 * <p>{@code proxy}: the HTTP proxy the server is reached through, null to connect directly.
 *
 * <p>{@link #toString()} leaves the token and the proxy's password out, so the config may be logged.
 */
public record ClientConfig(
        ServerAddress server,
        String token,
        boolean insecure,
        AllowList allow,
        Duration shutdownGrace,
        Duration dialTimeout,
        Duration connectTimeout,
        SessionLimits limits,
        int targetThreads,
        ProxyUrl proxy) {

    /** Most threads for target connections: more than any machine has cores to give them. */
    public static final int MAX_TARGET_THREADS = 256;

    public static final Duration DEFAULT_SHUTDOWN_GRACE = Durations.parse(Setting.SHUTDOWN_GRACE.defaultValue());
    /** The longest grace period: far beyond any use, and short enough that deadlines in nanoseconds cannot overflow. */
    public static final Duration MAX_SHUTDOWN_GRACE = Duration.ofDays(365);
    /** A target's name lookup and connection together, as Go's net.Dialer Timeout. */
    public static final Duration DEFAULT_DIAL_TIMEOUT = Durations.parse(Setting.DIAL_TIMEOUT.defaultValue());
    /** The name lookup and the TCP connection to the server, or to the proxy with its answer to CONNECT, together. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Durations.parse(Setting.CONNECT_TIMEOUT.defaultValue());
    private static final int MAX_TOKEN_LENGTH = 1024;

    /**
     * Checks each setting by the rule {@link #resolve} applies, with the same message: "Invalid --x (PICOTUNNEL_X):
     * ...", also for configs made in code.
     */
    public ClientConfig {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(allow, "allow");
        Objects.requireNonNull(limits, "limits");
        token = token(token);
        shutdownGrace(shutdownGrace);
        SettingValues.duration(Setting.DIAL_TIMEOUT, dialTimeout, false);
        SettingValues.duration(Setting.CONNECT_TIMEOUT, connectTimeout, false);
        SettingValues.count(Setting.TARGET_THREADS, targetThreads, 0, MAX_TARGET_THREADS);
    }

    private static void shutdownGrace(Duration grace) {
        Objects.requireNonNull(grace, "shutdownGrace");
        // Before the general bound of ten years, which would name a limit this setting does not have.
        if (grace.compareTo(MAX_SHUTDOWN_GRACE) > 0) {
            throw ConfigException.invalid(Setting.SHUTDOWN_GRACE, "it must be at most a year ("
                    + MAX_SHUTDOWN_GRACE.toSeconds() + "s)");
        }
        SettingValues.duration(Setting.SHUTDOWN_GRACE, grace, true);
    }

    /**
     * The token to send, without quotes ({@link QuotedSecrets#unquoted}). Its messages name the flag and the variable, as either may
     * hold it, and never repeat any of it: it is a secret.
     */
    private static String token(String given) {
        if (given == null || given.isBlank()) {
            throw ConfigException.invalid(Setting.TOKEN, "no token given; pass " + Setting.TOKEN.flag() + " or set "
                    + Setting.TOKEN.envVar() + " to the token of the tunnel, from the server's API or UI");
        }
        String token = QuotedSecrets.unquoted(given.strip());
        if (!PrintableToken.isToken(token, 0, MAX_TOKEN_LENGTH)) {
            throw ConfigException.invalid(Setting.TOKEN, "the token must be at most " + MAX_TOKEN_LENGTH
                    + " printable ASCII characters without spaces");
        }
        return token;
    }

    /** A config with the defaults for everything but server and token. */
    public static ClientConfig of(ServerAddress server, String token) {
        return new ClientConfig(server, token, false, AllowList.ANY, DEFAULT_SHUTDOWN_GRACE, DEFAULT_DIAL_TIMEOUT,
                DEFAULT_CONNECT_TIMEOUT, SessionLimits.DEFAULTS, 0, null);
    }

    public ClientConfig withInsecure(boolean value) {
        return new ClientConfig(server, token, value, allow, shutdownGrace, dialTimeout, connectTimeout, limits,
                targetThreads, proxy);
    }

    public ClientConfig withAllow(AllowList value) {
        return new ClientConfig(server, token, insecure, value, shutdownGrace, dialTimeout, connectTimeout, limits,
                targetThreads, proxy);
    }

    public ClientConfig withShutdownGrace(Duration value) {
        return new ClientConfig(server, token, insecure, allow, value, dialTimeout, connectTimeout, limits,
                targetThreads, proxy);
    }

    public ClientConfig withDialTimeout(Duration value) {
        return new ClientConfig(server, token, insecure, allow, shutdownGrace, value, connectTimeout, limits,
                targetThreads, proxy);
    }

    public ClientConfig withConnectTimeout(Duration value) {
        return new ClientConfig(server, token, insecure, allow, shutdownGrace, dialTimeout, value, limits,
                targetThreads, proxy);
    }

    public ClientConfig withTargetThreads(int value) {
        return new ClientConfig(server, token, insecure, allow, shutdownGrace, dialTimeout, connectTimeout, limits,
                value, proxy);
    }

    public ClientConfig withProxy(ProxyUrl value) {
        return new ClientConfig(server, token, insecure, allow, shutdownGrace, dialTimeout, connectTimeout, limits,
                targetThreads, value);
    }

    public ClientConfig withLimits(SessionLimits value) {
        return new ClientConfig(server, token, insecure, allow, shutdownGrace, dialTimeout, connectTimeout, value,
                targetThreads, proxy);
    }

    /**
     * Resolves {@code flags} (given on the command line) over environment variables over defaults; throws {@link
     * ConfigException} naming the problem. What a value must be beyond its type (the token, the grace's year) the
     * constructor checks.
     */
    public static ClientConfig resolve(Map<Setting, String> flags, Map<String, String> env) {
        SettingValues<Setting> values = SettingValues.resolve(Setting.class, flags, env);
        if (values.raw(Setting.SERVER) == null) {
            throw ConfigException.invalid(Setting.SERVER, "no server given; pass " + Setting.SERVER.flag()
                    + " host:port or set " + Setting.SERVER.envVar());
        }
        ServerAddress server = values.parsed(Setting.SERVER, ServerAddress::parse);
        return new ClientConfig(server, values.raw(Setting.TOKEN), values.bool(Setting.INSECURE),
                values.parsed(Setting.ALLOW, AllowList::parse), values.duration(Setting.SHUTDOWN_GRACE, true),
                values.duration(Setting.DIAL_TIMEOUT, false), values.duration(Setting.CONNECT_TIMEOUT, false),
                values.sessionLimits(Setting.MAX_STREAM_WINDOW, Setting.SESSION_WINDOW_BUDGET, Setting.MAX_STREAMS,
                        Setting.SESSION_BUFFER_LIMIT),
                values.count(Setting.TARGET_THREADS, 0, MAX_TARGET_THREADS), proxy(values, server, env));
    }

    private static ProxyUrl proxy(SettingValues<Setting> values, ServerAddress server, Map<String, String> env) {
        try {
            return ProxyUrl.resolve(values.raw(Setting.PROXY), values.source(Setting.PROXY), server, env);
        } catch (IllegalArgumentException e) {
            // The message names the setting or the standard variable that is wrong, and says how to go on.
            throw new ConfigException(e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "ClientConfig[server=" + server + ", token=<hidden>, insecure=" + insecure + ", allow=" + allow
                + ", shutdownGrace=" + shutdownGrace + ", dialTimeout=" + dialTimeout + ", connectTimeout=" + connectTimeout
                + ", limits=" + limits
                + ", targetThreads=" + targetThreads + ", proxy=" + (proxy == null ? "none" : proxy) + "]";
    }
}
