package io.picotunnel.server.net;

/**
 * The {@code error} codes of the management API's JSON answers ({@code {"error": code, "message": ...}}, docs/api.md's
 * table), of its sign-in's, and of the tunnel endpoint's answers to an upgrade request it cannot take as sent (a
 * malformed or oversized request, another path or method). The codes the tunnel endpoint's client tells apart, and
 * the 401 and 429 the API shares with it, are {@link io.picotunnel.protocol.ws.TunnelErrorCodes}'; the 500 of a
 * failure of the server's own is {@link io.picotunnel.server.access.AccessErrorCodes#INTERNAL_ERROR}. Here, below the
 * API, its sign-in and the tunnel endpoint, as all three answer with them.
 */
public final class ApiErrorCodes {

    /** A field of the request's body is missing or invalid: the API's 400, its message starting with the field. */
    public static final String INVALID_FIELD = "invalid_field";
    /** A field of the request's body the endpoint does not know: the API's 400. */
    public static final String UNKNOWN_FIELD = "unknown_field";
    /** A query parameter out of range, or with a {@code %} not followed by two hex digits: the API's 400. */
    public static final String INVALID_PARAMETER = "invalid_parameter";
    /** The body is not JSON, not one object, or has trailing data or duplicate keys: the API's 400. */
    public static final String MALFORMED_JSON = "malformed_json";
    /** The body could not be read (its framing broke off): the API's and its sign-in's 400. */
    public static final String UNREADABLE_BODY = "unreadable_body";
    /** A request the server cannot read (a path's invalid percent-encoding, a malformed upgrade request): 400. */
    public static final String BAD_REQUEST = "bad_request";
    /** An unknown tunnel, service or path of the API or the UI, or an upgrade to another path than the tunnel's. */
    public static final String NOT_FOUND = "not_found";
    /** A known path, another method (the tunnel endpoint's upgrade is a GET): 405, {@code Allow} naming the methods. */
    public static final String METHOD_NOT_ALLOWED = "method_not_allowed";
    /** A write from another web page than this server's UI: the API's and its sign-in's 403. */
    public static final String CSRF_REJECTED = "csrf_rejected";
    /** An http service with another's domain and path prefix: the API's 409. */
    public static final String CONFLICT = "conflict";
    /** The body did not arrive in time: the API's and its sign-in's 408. */
    public static final String REQUEST_TIMEOUT = "request_timeout";
    /** A body over what the API or its sign-in reads: 413. */
    public static final String BODY_TOO_LARGE = "body_too_large";
    /** A body that is not JSON by its Content-Type, or compressed: the API's and its sign-in's 415. */
    public static final String UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type";
    /** With {@code PICOTUNNEL_AUTH=none}, a Host that is not a loopback name: the API's 421. */
    public static final String HOST_NOT_ALLOWED = "host_not_allowed";
    /** A tunnel or service beyond the server's limits: the API's 429. */
    public static final String LIMIT_REACHED = "limit_reached";
    /** The disk of the server's database is full, nothing changed: the API's 507. */
    public static final String DISK_FULL = "disk_full";
    /** The database is locked by another program or a long task of the server's: the API's 503. */
    public static final String DATABASE_BUSY = "database_busy";
    /** The sign-in with the admin token, where the server does not take it: its 400. */
    public static final String TOKEN_SIGN_IN_UNAVAILABLE = "token_sign_in_unavailable";
    /** A sign-in without an admin token: its 400. */
    public static final String INVALID_TOKEN = "invalid_token";
    /** A request to the UI's sign-in that is no page load (an image, a fetch), which cannot sign in: its 401. */
    public static final String SIGN_IN_REQUIRED = "sign_in_required";
    /** An upgrade request for another WebSocket version than 13: the tunnel endpoint's 426. */
    public static final String UNSUPPORTED_WEBSOCKET_VERSION = "unsupported_websocket_version";
    /** An upgrade request with a body: the tunnel endpoint's 413. */
    public static final String BODY_NOT_ALLOWED = "body_not_allowed";
    /** An upgrade request's line over the tunnel endpoint's limit: its 414. */
    public static final String URI_TOO_LONG = "uri_too_long";
    /** An upgrade request's headers over the tunnel endpoint's limit: its 431. */
    public static final String HEADERS_TOO_LARGE = "headers_too_large";

    private ApiErrorCodes() {
    }
}
