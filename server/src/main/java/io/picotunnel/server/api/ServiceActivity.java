package io.picotunnel.server.api;

/**
 * Whether a service is serving right now ({@code active}) and, when an enabled service is not, why ({@code error}):
 * a tcp service whose port another process holds, say. A disabled service is inactive without an error.
 */
public record ServiceActivity(boolean active, String error) {

    public static final ServiceActivity ACTIVE = new ServiceActivity(true, null);
    public static final ServiceActivity DISABLED = new ServiceActivity(false, null);
    /**
     * An http or tcp service enabled, created or moved while the server drains to stop: its ports are closed for good
     * in this run, and it is stored to serve from the next start.
     */
    public static final ServiceActivity LISTENS_FROM_NEXT_START = new ServiceActivity(false,
            "not listening: the server is stopping; it listens from the next start");
}
