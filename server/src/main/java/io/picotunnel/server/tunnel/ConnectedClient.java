package io.picotunnel.server.tunnel;

import java.time.Instant;

/**
 * One client connection of a tunnel as the API shows it.
 *
 * @param id             server-generated, one per connection (a reconnect gets a new one)
 * @param remoteAddr     where the connection came from, {@code host:port}
 * @param version        what the client said its version is, or null
 * @param hostname       what the client said its host is called, or null
 * @param connectedSince when the connection was established
 */
public record ConnectedClient(String id, String remoteAddr, String version, String hostname, Instant connectedSince) {

    /** What the log and the events say for a version or host name the client did not send. */
    private static final String NOT_SENT = "unknown";

    /** {@link #version} as the log and the events say it: "unknown" when the client did not send one, not "null". */
    public String versionOrUnknown() {
        return version == null ? NOT_SENT : version;
    }

    /** {@link #hostname} as the log and the events say it: "unknown" when the client did not send one. */
    public String hostnameOrUnknown() {
        return hostname == null ? NOT_SENT : hostname;
    }
}
