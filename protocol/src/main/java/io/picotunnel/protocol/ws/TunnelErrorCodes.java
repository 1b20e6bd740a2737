package io.picotunnel.protocol.ws;

/**
 * The error codes of the server's JSON answers ({@code {"error": code, "message": ...}}) that the client reads, so
 * that both sides spell them from one place (docs/protocol.md, the handshake's refusals), and those of the tunnel
 * endpoint's that its management API and its HTTP proxy's password gate ({@code auth: basic}) answer with too
 * (docs/api.md, docs/access-control.md). The codes only the proxy answers with are the server's.
 */
public final class TunnelErrorCodes {

    /**
     * The server drains for a shutdown: its 503 to a tunnel upgrade, and its HTTP proxy's 503 pages for the same drain.
     * A client refused with it says the server is shutting down (a store failure's 503 is "unavailable").
     */
    public static final String SERVER_STOPPING = "server_stopping";
    /**
     * The server refuses a tunnel upgrade from an address that sent too many wrong tokens: its 429, answered only once
     * it knows it does not drain, so a client waiting for its restart takes it for a server that is back (its
     * {@code too_many_connections} 429 is answered as a connection is accepted, draining or not). Its management API
     * and its HTTP proxy's password gate answer their own too many wrong tokens or passwords with the same code.
     */
    public static final String TOO_MANY_ATTEMPTS = "too_many_attempts";
    /**
     * The server refuses a connection from an address that has too many open already: its 429, answered as the
     * connection is accepted (ConnectionLimits), so also while it drains.
     */
    public static final String TOO_MANY_CONNECTIONS = "too_many_connections";
    /**
     * The HTTP proxy's password gate: its 401 to a request without valid Basic credentials or with wrong ones (the
     * server's other 401s, a wrong tunnel or admin token, spell the same code).
     */
    public static final String UNAUTHORIZED = "unauthorized";

    private TunnelErrorCodes() {
    }
}
