package io.picotunnel.client.config;

import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.yamux.SessionLimits;

import java.time.Duration;
import java.util.Locale;
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
        HttpProxy proxy) {

    public static final String ENV_SERVER = "PICOTUNNEL_SERVER";
    public static final String ENV_TOKEN = "PICOTUNNEL_TOKEN";
    public static final String ENV_INSECURE = "PICOTUNNEL_INSECURE";
    public static final String ENV_ALLOW = "PICOTUNNEL_ALLOW";
    public static final String ENV_SHUTDOWN_GRACE = "PICOTUNNEL_SHUTDOWN_GRACE";
    public static final String ENV_MAX_STREAM_WINDOW = "PICOTUNNEL_MAX_STREAM_WINDOW";
    public static final String ENV_SESSION_WINDOW_BUDGET = "PICOTUNNEL_SESSION_WINDOW_BUDGET";
    public static final String ENV_MAX_STREAMS = "PICOTUNNEL_MAX_STREAMS";
    public static final String ENV_SESSION_BUFFER_LIMIT = "PICOTUNNEL_SESSION_BUFFER_LIMIT";
    public static final String ENV_TARGET_THREADS = "PICOTUNNEL_TARGET_THREADS";
    public static final String ENV_DIAL_TIMEOUT = "PICOTUNNEL_DIAL_TIMEOUT";
    public static final String ENV_CONNECT_TIMEOUT = "PICOTUNNEL_CONNECT_TIMEOUT";
    public static final String ENV_PROXY = HttpProxy.ENV_PROXY;
    /** Most threads for target connections: more than any machine has cores to give them. */
    public static final int MAX_TARGET_THREADS = 256;

    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);
    /** The longest grace period: far beyond any use, and short enough that deadlines in nanoseconds cannot overflow. */
    public static final Duration MAX_SHUTDOWN_GRACE = Duration.ofDays(365);
    /** A target's name lookup and connection together, as Go's net.Dialer Timeout. */
    public static final Duration DEFAULT_DIAL_TIMEOUT = Duration.ofSeconds(10);
    /** The TCP connection to the server, or to the proxy with its answer to CONNECT, counted after the lookup. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_TOKEN_LENGTH = 1024;

    public ClientConfig {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(allow, "allow");
        Objects.requireNonNull(limits, "limits");
        if (token == null || token.isBlank()) {
            throw new ConfigException("no token given: pass --token or set " + ENV_TOKEN
                    + " (the token of the tunnel, from the server's API or UI)");
        }
        token = unquoted(token.strip());
        if (token.length() > MAX_TOKEN_LENGTH || !token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new ConfigException("the token must be printable ASCII without spaces, at most "
                    + MAX_TOKEN_LENGTH + " characters");
        }
        if (shutdownGrace.isNegative()) {
            throw new ConfigException("--shutdown-grace must not be negative");
        }
        if (shutdownGrace.compareTo(MAX_SHUTDOWN_GRACE) > 0) {
            throw new ConfigException("--shutdown-grace must be at most a year (" + MAX_SHUTDOWN_GRACE.toSeconds() + "s)");
        }
        if (!dialTimeout.isPositive()) {
            throw new ConfigException("--dial-timeout must be more than 0 (a target's name lookup and connection"
                    + " together; default " + Durations.format(DEFAULT_DIAL_TIMEOUT).replace(" ", "") + ")");
        }
        if (!connectTimeout.isPositive()) {
            throw new ConfigException("--connect-timeout must be more than 0 (the connection to the server or its"
                    + " proxy; default " + Durations.format(DEFAULT_CONNECT_TIMEOUT).replace(" ", "") + ")");
        }
        if (targetThreads < 0 || targetThreads > MAX_TARGET_THREADS) {
            throw new ConfigException("--target-threads must be 0 (the tunnel's own thread) to " + MAX_TARGET_THREADS);
        }
    }

    /**
     * {@code "TOKEN"} or {@code 'TOKEN'} as {@code TOKEN}: {@code docker run --env-file} keeps the quotes of
     * {@code PICOTUNNEL_TOKEN="..."} (Docker Compose's {@code env_file}, systemd's EnvironmentFile and shells remove
     * them), and the server, whose tokens are hex, answered 401 with nothing to say why. Only one pair of matching quotes around a
     * token without quotes or spaces of its own; anything else is left as it is.
     */
    public static String unquoted(String token) {
        return isQuoted(token) ? token.substring(1, token.length() - 1) : token;
    }

    /** Whether {@link #unquoted} takes quotes off {@code token}. */
    public static boolean isQuoted(String token) {
        if (token == null || token.length() < 3) {
            return false;
        }
        char first = token.charAt(0);
        if ((first != '"' && first != '\'') || token.charAt(token.length() - 1) != first) {
            return false;
        }
        return token.substring(1, token.length() - 1).chars()
                .allMatch(c -> c > 0x20 && c < 0x7f && c != '"' && c != '\'');
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

    public ClientConfig withProxy(HttpProxy value) {
        return new ClientConfig(server, token, insecure, allow, shutdownGrace, dialTimeout, connectTimeout, limits,
                targetThreads, value);
    }

    public ClientConfig withLimits(SessionLimits value) {
        return new ClientConfig(server, token, insecure, allow, shutdownGrace, dialTimeout, connectTimeout, value,
                targetThreads, proxy);
    }

    /** Settings as given on the command line; null where the flag was not given. */
    public record Flags(String server, String token, Boolean insecure, String allow, String shutdownGrace,
                        String maxStreamWindow, String sessionWindowBudget, String maxStreams, String targetThreads,
                        String sessionBufferLimit, String proxy, String dialTimeout, String connectTimeout) {

        public Flags(String server, String token, Boolean insecure, String allow, String shutdownGrace) {
            this(server, token, insecure, allow, shutdownGrace, null, null, null, null, null, null, null, null);
        }

        public Flags(String server, String token, Boolean insecure, String allow, String shutdownGrace,
                     String maxStreamWindow, String sessionWindowBudget, String maxStreams, String targetThreads,
                     String sessionBufferLimit) {
            this(server, token, insecure, allow, shutdownGrace, maxStreamWindow, sessionWindowBudget, maxStreams,
                    targetThreads, sessionBufferLimit, null);
        }

        public Flags(String server, String token, Boolean insecure, String allow, String shutdownGrace,
                     String maxStreamWindow, String sessionWindowBudget, String maxStreams, String targetThreads,
                     String sessionBufferLimit, String proxy) {
            this(server, token, insecure, allow, shutdownGrace, maxStreamWindow, sessionWindowBudget, maxStreams,
                    targetThreads, sessionBufferLimit, proxy, null, null);
        }
    }

    /** Resolves flags over environment variables over defaults; throws {@link ConfigException} naming the problem. */
    public static ClientConfig resolve(Flags flags, Map<String, String> env) {
        String serverText = pick(flags.server(), env.get(ENV_SERVER));
        if (serverText == null) {
            throw new ConfigException("no server given: pass --server host:port or set " + ENV_SERVER);
        }
        ServerAddress server;
        try {
            server = ServerAddress.parse(serverText);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--server: " + e.getMessage());
        }
        boolean insecure = flags.insecure() != null
                ? flags.insecure()
                : parseBoolean(env.get(ENV_INSECURE), ENV_INSECURE);
        AllowList allow;
        try {
            allow = AllowList.parse(pick(flags.allow(), env.get(ENV_ALLOW)));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--allow: " + e.getMessage());
        }
        String graceText = pick(flags.shutdownGrace(), env.get(ENV_SHUTDOWN_GRACE));
        Duration grace = graceText == null ? DEFAULT_SHUTDOWN_GRACE : parseDuration(graceText, "--shutdown-grace");
        String dialText = pick(flags.dialTimeout(), env.get(ENV_DIAL_TIMEOUT));
        Duration dialTimeout = dialText == null ? DEFAULT_DIAL_TIMEOUT : parseDuration(dialText, "--dial-timeout");
        String connectText = pick(flags.connectTimeout(), env.get(ENV_CONNECT_TIMEOUT));
        Duration connectTimeout = connectText == null ? DEFAULT_CONNECT_TIMEOUT
                : parseDuration(connectText, "--connect-timeout");
        SessionLimits limits;
        try {
            limits = SessionLimits.parse(pick(flags.maxStreamWindow(), env.get(ENV_MAX_STREAM_WINDOW)),
                    pick(flags.sessionWindowBudget(), env.get(ENV_SESSION_WINDOW_BUDGET)),
                    pick(flags.maxStreams(), env.get(ENV_MAX_STREAMS)),
                    pick(flags.sessionBufferLimit(), env.get(ENV_SESSION_BUFFER_LIMIT)));
        } catch (SessionLimits.InvalidLimit e) {
            String[] names = {"--max-stream-window", "--session-window-budget", "--max-streams", "--session-buffer-limit"};
            throw new ConfigException(names[e.which()] + ": " + e.getMessage());
        }
        String threadsText = pick(flags.targetThreads(), env.get(ENV_TARGET_THREADS));
        int targetThreads = 0;
        if (threadsText != null) {
            try {
                targetThreads = Integer.parseInt(threadsText.strip());
            } catch (NumberFormatException e) {
                throw new ConfigException("--target-threads='" + threadsText + "' is not a whole number");
            }
        }
        HttpProxy proxy;
        try {
            proxy = flags.proxy() != null
                    ? HttpProxy.resolve(flags.proxy(), "--proxy", server, env)
                    : HttpProxy.resolve(pick(null, env.get(ENV_PROXY)), ENV_PROXY, server, env);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        return new ClientConfig(server, pick(flags.token(), env.get(ENV_TOKEN)), insecure, allow, grace,
                dialTimeout, connectTimeout, limits, targetThreads, proxy);
    }

    private static String pick(String flag, String env) {
        if (flag != null) {
            return flag;
        }
        return env == null || env.isBlank() ? null : env;
    }

    private static boolean parseBoolean(String value, String name) {
        if (value == null || value.isBlank()) {
            return false;
        }
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw new ConfigException(name + "='" + value + "' is not a boolean: use true or false");
        };
    }

    static Duration parseDuration(String text, String name) {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(name + ": " + e.getMessage());
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
