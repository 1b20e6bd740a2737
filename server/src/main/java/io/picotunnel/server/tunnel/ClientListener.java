package io.picotunnel.server.tunnel;

/**
 * Told when a client of a tunnel connects or leaves (for events and metrics). Called on the thread that made the
 * change, often an event loop: implementations must return quickly and never block.
 */
public interface ClientListener {

    void clientConnected(String tunnelId, ConnectedClient client);

    void clientLeft(String tunnelId, ConnectedClient client);
}
