package io.picotunnel.server.store;

/**
 * A tunnel with its new token ({@link Tunnel#token} set), and the SHA-256 of the token it replaced: the clients that
 * came with that one are the ones to drop. Not "every client": one may have come already with a token regenerated
 * after this one.
 */
public record RegeneratedToken(Tunnel tunnel, String replacedTokenSha256) {
}
