package io.picotunnel.server.access;

/**
 * The {@code error} codes of the HTTP proxy's answers to a request whose password check ({@code auth: basic}) did not
 * give a verdict (docs/access-control.md): {@code busy} and {@code check_timeout} are the proxy's alone, and
 * {@code internal_error} is the server's 500 for a failure of its own, which its management API answers too. The
 * codes the password gate shares with the tunnel endpoint ({@code unauthorized}, {@code too_many_attempts},
 * {@code server_stopping}) are {@link io.picotunnel.protocol.ws.TunnelErrorCodes}'.
 */
public final class AccessErrorCodes {

    /** The password gate refuses a check as its checks are all taken, its queue full: its 503. */
    public static final String BUSY = "busy";
    /** The password gate did not end a request's check within the proxy's bound: the proxy's 503. */
    public static final String CHECK_TIMEOUT = "check_timeout";
    /**
     * A failure of the server's own: a request's access check failed (a bug) or could not start, the proxy's 500; a
     * request to the management API failed (a bug, a database failure), its 500.
     */
    public static final String INTERNAL_ERROR = "internal_error";

    private AccessErrorCodes() {
    }
}
