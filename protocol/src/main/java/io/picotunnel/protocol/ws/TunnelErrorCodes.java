package io.picotunnel.protocol.ws;

/**
 * The error codes of the tunnel endpoint's JSON answers ({@code {"error": code, "message": ...}}) to a client's
 * upgrade that the request itself did not cause (docs/protocol.md, the handshake's refusals): spelled here for the
 * server and for the client, which tells some of them apart by code (server_stopping, too_many_attempts,
 * too_many_connections, and unauthorized: a 401 without it is a front proxy's, not the server's refusal of the
 * token). The server's management API and its HTTP proxy answer some of them too (docs/api.md, docs/http-proxy.md,
 * docs/access-control.md). The codes only the proxy answers with are the server's.
 */
public final class TunnelErrorCodes {

    /**
     * The server drains for a shutdown: its 503 to a tunnel upgrade, and its HTTP proxy's 503 pages for the same drain.
     * A client refused with it says the server is shutting down (a store failure's 503 is {@link #UNAVAILABLE}).
     */
    public static final String SERVER_STOPPING = "server_stopping";
    /** The server cannot check the upgrade's token (its database fails): its 503. */
    public static final String UNAVAILABLE = "unavailable";
    /**
     * The server refuses a tunnel upgrade from an address that sent too many wrong tokens: its 429, answered only once
     * it knows it does not drain, so a client waiting for its restart takes it for a server that is back (its
     * {@code too_many_connections} 429 is answered as a connection is accepted, draining or not). Its management API
     * and its HTTP proxy's password gate answer their own too many wrong tokens or passwords with the same code.
     */
    public static final String TOO_MANY_ATTEMPTS = "too_many_attempts";
    /**
     * The server refuses a connection from an address that has too many open already: its 429, answered as the
     * connection is accepted (ConnectionLimits), so also while it drains; on its HTTP proxy's plain listener too.
     */
    public static final String TOO_MANY_CONNECTIONS = "too_many_connections";
    /**
     * The server refuses a connection over its listener's limit: its 503, answered as the connection is accepted
     * (ConnectionLimits), on its HTTP proxy's plain listener too.
     */
    public static final String OVERLOADED = "overloaded";
    /**
     * The server's 401s: a missing or unknown tunnel token at the upgrade (the client stops for good on it), a wrong
     * admin token at the management API, missing or wrong credentials at the HTTP proxy's password gate.
     */
    public static final String UNAUTHORIZED = "unauthorized";

    private TunnelErrorCodes() {
    }
}
