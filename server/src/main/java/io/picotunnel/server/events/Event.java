package io.picotunnel.server.events;

import java.time.Instant;

/**
 * Something that happened, as the events list shows it.
 *
 * @param tunnelId  the tunnel it concerns, or null
 * @param serviceId the service it concerns, or null
 * @param type      one of the constants of {@link EventLog}, such as {@code client_connected}
 * @param message   a sentence for people
 */
public record Event(long id, String tunnelId, String serviceId, String type, String message, Instant createdAt) {
}
