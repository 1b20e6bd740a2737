package io.picotunnel.server.tunnel;

/** A stream was asked of a tunnel whose client is not connected. */
public final class TunnelOfflineException extends RuntimeException {

    public TunnelOfflineException(String tunnelId) {
        super("the client of tunnel " + tunnelId + " is not connected");
    }
}
