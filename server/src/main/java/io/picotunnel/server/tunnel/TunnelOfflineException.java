package io.picotunnel.server.tunnel;

import io.picotunnel.protocol.ws.TunnelCloseStatus;

/** A stream was asked of a tunnel whose client is not connected. */
public final class TunnelOfflineException extends RuntimeException {

    private final boolean clientLost;
    private final TunnelCloseStatus endedBy;

    public TunnelOfflineException(String tunnelId) {
        this("the client of tunnel " + tunnelId + " is not connected", false);
    }

    private TunnelOfflineException(String message, boolean clientLost) {
        this(message, clientLost, null);
    }

    private TunnelOfflineException(String message, boolean clientLost, TunnelCloseStatus endedBy) {
        super(message);
        this.clientLost = clientLost;
        this.endedBy = endedBy;
    }

    /**
     * The tunnel has clients, but each is going away (GoAway sent by the server, as when it drains for its shutdown,
     * or by the client, stopping): none takes a new stream, as if none were connected.
     */
    static TunnelOfflineException goingAway(String tunnelId, boolean byClients) {
        return new TunnelOfflineException(byClients
                ? "every client of tunnel " + tunnelId + " is stopping (it sent GoAway): none takes new streams"
                : "the server sent GoAway to every client of tunnel " + tunnelId + " (it is stopping, or ending their"
                        + " connections): none takes new streams", false);
    }

    /**
     * The server drains or stops ({@link TunnelRegistry#serverStopping}): no client is asked, as none takes new streams.
     * Not said as the server's GoAway, which may not have left yet; ended by the server stopping, so that a request
     * gets {@code 503 server_stopping}.
     */
    static TunnelOfflineException serverDraining(String tunnelId) {
        return new TunnelOfflineException("the server is stopping and takes no new streams for tunnel " + tunnelId,
                false, TunnelCloseStatus.SERVER_STOPPING);
    }

    /**
     * The server is stopping: it sent GoAway to the client chosen for the stream before the stream opened, and no
     * other client could take it. No client was lost: as for {@link #goingAway}, none takes new streams.
     */
    static TunnelOfflineException serverStopping(String tunnelId) {
        return new TunnelOfflineException("the server is stopping: it sent GoAway to the client of tunnel " + tunnelId
                + " chosen for the stream before the stream opened, and takes no new streams", false,
                TunnelCloseStatus.SERVER_STOPPING);
    }

    /** The client chosen for the stream was lost (its connection closed) before its SYN, and no other took it. */
    static TunnelOfflineException clientLost(String tunnelId) {
        return new TunnelOfflineException("the client of tunnel " + tunnelId
                + " chosen for the stream was lost before the stream opened, and no other client could take it", true);
    }

    /**
     * The server ended the connection of the client chosen for the stream before the stream opened, because the token it
     * came with was regenerated or its tunnel deleted ({@code why}), and no other client took it. The client is lost to
     * the stream as in {@link #clientLost(String)}, but the log says why.
     */
    static TunnelOfflineException revoked(String tunnelId, TunnelCloseStatus why) {
        return new TunnelOfflineException(why.description() + ": the server ended the connection of the client of tunnel "
                + tunnelId + " chosen for the stream before the stream opened, and no other client could take it", true,
                why);
    }

    /**
     * True when the tunnel had a client for the stream, lost before the stream opened; false when it had none (nor one
     * under way that registered).
     */
    public boolean clientLost() {
        return clientLost;
    }

    /**
     * Why the server ended the connection of the client chosen for the stream before the stream opened: its token
     * regenerated or its tunnel deleted ({@link #revoked}), the server stopping ({@link #serverStopping}); null when the
     * server did not end it. Such a client did not refuse the stream: this, not an earlier client's refusal, is why the
     * stream went nowhere.
     */
    public TunnelCloseStatus endedBy() {
        return endedBy;
    }
}
