package io.picotunnel.server.monitor;

/** What a check is about: a tunnel ({@code serviceId} null) or one service of it. */
public record Subject(String tunnelId, String serviceId) {

    public static Subject tunnel(String tunnelId) {
        return new Subject(tunnelId, null);
    }

    public boolean isTunnel() {
        return serviceId == null;
    }
}
