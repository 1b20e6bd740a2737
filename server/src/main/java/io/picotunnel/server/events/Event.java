package io.picotunnel.server.events;

import java.time.Instant;

/**
 * Something that happened, as the events list shows it.
 *
 * @param tunnelId  the tunnel it concerns, or null
 * @param serviceId the service it concerns, or null
 * @param type      one of the constants of {@link EventLog}, such as {@code client_connected}
 * @param message   a sentence for people
 * @param client    the client a {@code client_*} event is about, or null (other events, and events recorded before the
 *                  server kept it)
 */
public record Event(long id, String tunnelId, String serviceId, String type, String message, Instant createdAt,
                    Client client) {

    /** A client as it connected: its id, address, and the version and host name it said (each null if it did not). */
    public record Client(String id, String remoteAddr, String version, String hostname) {
    }
}
