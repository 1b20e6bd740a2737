package io.picotunnel.client.tunnel;

/**
 * The server answered the WebSocket upgrade with its HTTP 401 (its JSON error {@code unauthorized}; a front proxy's 401
 * is an {@link ConnectFailures.UpgradeRefusedException}): the token is wrong, revoked or regenerated.
 */
public final class TokenRejectedException extends Exception {

    public TokenRejectedException() {
        super("the server rejected the token (HTTP 401)");
    }
}
