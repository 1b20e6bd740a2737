package io.picotunnel.server.config;

import io.picotunnel.protocol.config.DeclaredSetting;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.server.net.RetryAfter;

/**
 * Every server setting: its flag, its {@code PICOTUNNEL_*} environment variable (the same name), its default and its
 * help. A flag wins over the environment variable, which wins over the default.
 */
public enum Setting implements DeclaredSetting {
    DATA_DIR("--data", "DIR", "./data", "Directory for the database, the admin token and certificates.", "--data-dir"),
    LISTEN_ADDR("--listen-addr", "ADDR", ":8080", "Management UI and REST API address."),
    TUNNEL_ADDR("--tunnel-addr", "ADDR", ":8443", "Tunnel client connections (WebSocket)."),
    HTTP_ADDR("--http-addr", "ADDR", ":80", "HTTP proxy address."),
    HTTPS_ADDR("--https-addr", "ADDR", ":443", "HTTPS proxy address."),
    PUBLIC_HTTP_PORT("--public-http-port", "PORT", null,
            "The port visitors reach the HTTP proxy on, when a port mapping or load balancer in front makes it differ"
                    + " from --http-addr's (for the UI's links). Default: the listening port."),
    PUBLIC_HTTPS_PORT("--public-https-port", "PORT", null,
            "The same for the HTTPS proxy (https_redirect, the UI's links). Default: the listening port."),
    PUBLIC_TUNNEL_PORT("--public-tunnel-port", "PORT", null,
            "The same for the tunnel endpoint (the client commands the UI shows). Default: the listening port."),
    DOMAIN("--domain", "NAME", null, "The server's own domain name, for example tunnel.example.com."),
    ADMIN_TOKEN("--admin-token", "TOKEN", null,
            "Admin token for the API (prefer the environment variable); generated into <data>/admin-token when unset."),
    AUTH("--auth", "MODE", "token", "API authentication: 'token' (default) or 'none' (no authentication at all; unsafe)."),
    OIDC_ISSUER("--oidc-issuer", "URL", null, "OIDC issuer URL for sign-in to the web UI (a host beyond ASCII is used"
            + " in its xn-- form, which the provider's issuer must then be)."),
    OIDC_CLIENT_ID("--oidc-client-id", "ID", null, "OIDC client id."),
    OIDC_CLIENT_SECRET("--oidc-client-secret", "SECRET", null, "OIDC client secret (prefer the environment variable)."),
    OIDC_REDIRECT_URL("--oidc-redirect-url", "URL", null, "OIDC redirect URL, for example:"
            // Its own line (%n): picocli breaks a line after any '.' or ':', inside a URL too.
            + "%nhttps://tunnel.example.com/auth/callback."),
    OIDC_ALLOWED_EMAILS("--oidc-allowed-emails", "LIST", null, "Comma-separated e-mail addresses allowed to sign in."),
    OIDC_ALLOWED_GROUPS("--oidc-allowed-groups", "LIST", null, "Comma-separated groups allowed to sign in."),
    OIDC_ALLOW_ALL("--oidc-allow-all", "BOOL", "false",
            "Let every user of the OIDC provider manage this server (needed when no allow list is set)."),
    ACME_ENABLED("--acme-enabled", "BOOL", "false", "Obtain certificates from an ACME CA (Let's Encrypt)."),
    ACME_EMAIL("--acme-email", "EMAIL", null,
            "Contact e-mail for the ACME account (optional; with Let's Encrypt not an example address such as admin@example.com)."),
    ACME_DIRECTORY("--acme-directory", "URL", "production",
            "ACME directory: 'production' (Let's Encrypt), 'staging' (Let's Encrypt staging) or a URL."),
    ACME_CA_FILE("--acme-ca-file", "FILE", null,
            "PEM file of extra CA certificates to trust for the ACME directory (a private ACME CA)."),
    TLS_CERT("--tls-cert", "FILE", null, "PEM certificate chain for the server's domain (with --tls-key)."),
    TLS_KEY("--tls-key", "FILE", null, "PEM private key for --tls-cert."),
    PROXY_TIMEOUT("--proxy-timeout", "DURATION", "60s",
            "How long the proxy waits for a response from a service, for a request body that stopped moving, and on the"
                    + " service for the rest of a response body (time waiting on the visitor does not count: --send-timeout),"
                    + " as nginx's proxy_read_timeout, for example 30s, 2m."),
    KEEPALIVE_TIMEOUT("--keepalive-timeout", "DURATION", "75s",
            "How long a visitor's HTTP connection stays open, idle, for its next request (HTTP/2: with no stream open),"
                    + " as nginx's keepalive_timeout; behind a load balancer, longer than the balancer's idle timeout."),
    SEND_TIMEOUT("--send-timeout", "DURATION", "60s",
            "How long a visitor may take none of an answer being written to it (the body still coming from the service"
                    + " or already whole at the proxy) before its connection (HTTP/2: its stream) is reset; only time"
                    + " waiting on the visitor counts, as nginx's send_timeout."),
    UPSTREAM_KEEPALIVE_TIMEOUT("--upstream-keepalive-timeout", "DURATION", "60s",
            "How long a connection to a service's target stays open, idle, for the next request (0: a new one per request)."),
    UPSTREAM_KEEPALIVE("--upstream-keepalive", "N", "128",
            "Most idle connections to one service's target kept open for the next requests, as nginx's keepalive."),
    MAX_STREAM_WINDOW("--max-stream-window", "BYTES", "16MiB",
            "Largest receive window per tunnel stream; windows start at 256KiB and grow while the link, not the reader, limits a stream."
                    + " At most half of --session-buffer-limit, and of --total-buffer-limit (never below 256KiB)."),
    SESSION_WINDOW_BUDGET("--session-window-budget", "BYTES", "64MiB",
            "How much the windows of one client connection may grow in all, which bounds its memory."),
    MAX_STREAMS("--max-streams", "N", "65536", "Most open streams (connections and requests) per client connection;"
            + " when every client connection of a tunnel has as many, an HTTP request to it gets 503 tunnel_busy"
            + " (Retry-After: " + RetryAfter.IN_A_MOMENT.toSeconds() + ") and a WARN (once a minute per tunnel at"
            + " most), a tcp or passthrough connection is reset"
            + " (and a WARN of its own, once a minute per tunnel at most)."),
    SESSION_BUFFER_LIMIT("--session-buffer-limit", "BYTES", null,
            "Most bytes the streams of one client connection may hold for visitors that read slower than the client sends;"
                    + " beyond, the stream whose visitor has gone longest without reading is reset. Also the most the uploads of all"
                    + " HTTP/2 visitors may hold for targets slower than them; beyond, the upload that has gone longest without"
                    + " moving on is ended (503 server_buffer_full if the target had not answered yet, else a reset)."
                    + " Default: 256MiB, or a quarter of the heap or of the direct memory"
                    + " (-XX:MaxDirectMemorySize) if less."),
    TOTAL_BUFFER_LIMIT("--total-buffer-limit", "BYTES", null,
            "Most bytes the streams of all client connections together may hold for visitors that read slower than the"
                    + " clients send (0: no limit but each connection's --session-buffer-limit); beyond, the connection"
                    + " holding the most resets streams as at its own limit. HTTP/2 visitors' uploads are not counted:"
                    + " --session-buffer-limit bounds them apart. Default: half of the heap or of the direct"
                    + " memory (-XX:MaxDirectMemorySize), whichever is less."),
    TRUSTED_PROXIES("--trusted-proxies", "LIST", null,
            "Comma-separated addresses or CIDRs of front proxies whose X-Forwarded-For names the visitor (for ip_allow, ip_deny, rate_limit, the management port's limits on failed sign-ins, and the tunnel endpoint's on wrong tunnel tokens)"
                    + " and whose X-Forwarded-Proto the scheme the visitor used (for single sign-on, https_redirect, the"
                    + " target's X-Forwarded-Proto); their connections count in --max-connections only, not per address."),
    PROXY_PROTOCOL("--proxy-protocol", "BOOL", "false",
            "Read a PROXY protocol (v1 or v2) header first on every public connection from a trusted proxy (needs --trusted-proxies)."),
    STREAM_OPEN_TIMEOUT("--stream-open-timeout", "DURATION", "30s",
            "How long a client may take to acknowledge a new stream (a request or connection sent to it) before the"
                    + " stream is reset: an HTTP visitor gets 504 tunnel_not_answering, a tcp one is reset. Longer for"
                    + " clients on slow links (satellite, mobile); from 1s to 10m. Only this wait: a yamux ping, a"
                    + " closed stream that makes no progress and a stalled reader after its session ended keep "
                    + Durations.format(YamuxConfig.DEFAULT_TIMEOUT) + "."),
    SHUTDOWN_GRACE("--shutdown-grace", "DURATION", "30s",
            "On SIGTERM: how long open streams may finish once the server takes no new ones; then they are reset (0: at once)."
                    + " A SIGTERM during the start waits for it for this time or 30s, whichever is longer (a start"
                    + " takes its time whatever the grace), else exits 1."),
    HEADER_TIMEOUT("--header-timeout", "DURATION", "20s",
            "How long a new connection to the HTTP, HTTPS or management listener may take to send its first request head"
                    + " (HTTP/2: to open its first stream)."),
    MAX_CONNECTIONS("--max-connections", "N", "10000",
            "Most open connections per listener (HTTP, HTTPS, management API, tunnel endpoint, each tcp service);"
                    + " beyond, new ones get 503 or are closed."),
    MAX_CONNECTIONS_PER_ADDRESS("--max-connections-per-address", "N", "256",
            "Most open connections per client IP address (IPv6: per /64; with --proxy-protocol, the visitor's)"
                    + " and listener, a trusted proxy's not counted; beyond, new ones get 429 or are closed."),
    MAX_TUNNEL_REQUESTS("--max-tunnel-requests", "N", null,
            "Most proxied HTTP requests open at once per tunnel (streams); beyond, 503 tunnel_busy (Retry-After: "
                    + RetryAfter.IN_A_MOMENT.toSeconds() + ")"
                    + " and a WARN (once a minute per tunnel at most). Below --max-streams;"
                    + " default 4096, or half of --max-streams when that is less."),
    MAX_TUNNELS("--max-tunnels", "N", "1000", "Most tunnels the API creates."),
    MAX_SERVICES("--max-services", "N", "10000", "Most services the API creates, over all tunnels."),
    TCP_PORTS("--tcp-ports", "PORTS", "1024-65535",
            "Ports tcp services may listen on: ranges and single ports, for example 2000-3000,3306; a listen_addr with"
                    + " port 0 gets a free one of them."),
    IMAGE_PREFIX("--image-prefix", "PREFIX", null,
            "Registry path put before the image names picotunnel-client and picotunnel-server in the UI's commands, for example registry.example.com/team/."),
    CHECK_INTERVAL("--check-interval", "DURATION", "60s", "How often every tunnel and service is checked, for example 30s, 5m."),
    CHECK_RETENTION("--check-retention", "DURATION", "90d", "How long check results and events are kept, for example 30d."),
    WEBHOOK_URL("--webhook-url", "URLS", null,
            "Comma-separated webhook URLs (Slack, Discord or any JSON receiver) told when a tunnel or service goes down or up."),
    MAX_EVENTS("--max-events", "N", "100000",
            "Most events kept (at least 100); beyond, the oldest are deleted, so a flapping tunnel cannot fill the disk."),
    ALERT_AFTER("--alert-after", "N", "2", "How many checks in a row a new state must hold before the webhooks are told."),
    METRICS_PUBLIC("--metrics-public", "BOOL", "false",
            "Serve /metrics (Prometheus) without the admin token; only where the management port is private.");

    private final Declaration declaration;

    Setting(String flag, String paramLabel, String defaultValue, String description, String... aliases) {
        this.declaration = new Declaration(flag, paramLabel, defaultValue, description, aliases);
    }

    @Override
    public Declaration declaration() {
        return declaration;
    }
}
