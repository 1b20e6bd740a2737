package io.picotunnel.client.config;

import io.picotunnel.protocol.config.DeclaredSetting;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.config.StopSignals;

/**
 * Every client setting: its flag, its {@code PICOTUNNEL_*} environment variable (the same name), its default and its
 * help. A flag wins over the environment variable, which wins over the default.
 */
public enum Setting implements DeclaredSetting {
    SERVER("--server", "ADDRESS", null,
            // Each address starts its own line (%n): picocli breaks a line after any ':' or '.', inside a URL too.
            "Server tunnel address, one of:%nhost:port or wss://host:port: TLS.%nws://host:port: no TLS.%nRequired."),
    TOKEN("--token", "TOKEN", null, "The tunnel's token (prefer the environment variable). Required."),
    INSECURE("--insecure", "BOOL", "false", "Skip TLS certificate verification (of the server, and of an https://"
            + " proxy). For development only."),
    ALLOW("--allow", "HOST:PORT[,...]", null,
            "Only these targets may be dialled for the server; others are refused. Default: any."),
    SHUTDOWN_GRACE("--shutdown-grace", "DURATION", "10s",
            "On SIGTERM, how long open streams may go on (for example 10s, 500ms, 2m, 1h); a second signal "
                    + Durations.format(StopSignals.SAME_REQUEST) + " or more after the first ends it at once; one sooner"
                    + " is the same request."),
    DIAL_TIMEOUT("--dial-timeout", "DURATION", "10s",
            "How long a target's name lookup and connection may take together, its addresses sharing it"
                    + " (for example 10s, 500ms, 1m)."),
    CONNECT_TIMEOUT("--connect-timeout", "DURATION", "10s",
            "How long the name lookup and the connection to the server (through a proxy: to the proxy, TLS to an"
                    + " https:// one, and its answer to CONNECT or its SOCKS5 handshake) may take together, its addresses"
                    + " sharing it. TLS and the WebSocket upgrade then have up to 10 s more."),
    MAX_STREAM_WINDOW("--max-stream-window", "BYTES", "16MiB",
            "Largest receive window per stream; windows start at 256KiB and grow while the link, not the reader,"
                    + " limits a stream. At most half of --session-buffer-limit."),
    SESSION_WINDOW_BUDGET("--session-window-budget", "BYTES", "64MiB",
            "How much the windows of the connection may grow in all (bounds memory)."),
    MAX_STREAMS("--max-streams", "N", "65536", "Most open streams on the connection; the server's next one is refused"
            + " and goes to another client of the tunnel, or its visitor gets 503 tunnel_busy (Retry-After: 5) or a reset."),
    SESSION_BUFFER_LIMIT("--session-buffer-limit", "BYTES", null,
            "Most bytes the streams of the connection may hold for targets that read slower than the server sends;"
                    + " beyond, the stream whose target has gone longest without reading is reset. Default: 256MiB,"
                    + " or a quarter of the heap or of the direct memory (-XX:MaxDirectMemorySize) if less."),
    TARGET_THREADS("--target-threads", "N", "0",
            "Threads for the connections to targets. 0: the tunnel's own thread, fastest on small machines (nothing"
                    + " handed between threads); N: a pool of N, for many busy targets on many cores."),
    PROXY("--proxy", "URL", null,
            "Proxy to reach the server through, one of:"
                    + "%nhttp://[user:password@]host:port: HTTP CONNECT."
                    + "%nhttps://[user:password@]host:port: HTTP CONNECT over TLS, its certificate checked as the"
                    + " server's, --insecure skipping both."
                    + "%nsocks5://[user:password@]host:port: SOCKS5; the proxy resolves the server's name, as in Go;"
                    + " socks5h://... is the same."
                    + "%nnone: connect directly."
                    + "%nDefault: HTTPS_PROXY for wss, HTTP_PROXY for ws (ALL_PROXY is not read, as in Go), unless NO_PROXY"
                    + " names the server or it is on this machine. A proxy the client cannot use (another scheme,"
                    + " such as socks4://, or a value it cannot read) is an error at start, from these variables too:"
                    + " set --proxy to a proxy it can use, or to none.");

    private final Declaration declaration;

    Setting(String flag, String paramLabel, String defaultValue, String description) {
        this.declaration = new Declaration(flag, paramLabel, defaultValue, description);
    }

    @Override
    public Declaration declaration() {
        return declaration;
    }
}
