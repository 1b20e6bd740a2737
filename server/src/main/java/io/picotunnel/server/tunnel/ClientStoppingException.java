package io.picotunnel.server.tunnel;

/**
 * A stream was asked of a tunnel whose client, chosen as able to take it, sent GoAway (it is stopping) before the
 * stream could be opened, and no other client could take it: the stream went nowhere.
 */
public final class ClientStoppingException extends RuntimeException {

    public ClientStoppingException(String tunnelId) {
        super("the client of tunnel " + tunnelId + " is stopping and no other client could take the stream");
    }
}
