package io.picotunnel.client.tunnel;

/** The server answered the WebSocket upgrade with HTTP 401: the token is wrong, revoked or regenerated. */
public final class TokenRejectedException extends Exception {

    public TokenRejectedException() {
        super("the server rejected the token (HTTP 401)");
    }
}
