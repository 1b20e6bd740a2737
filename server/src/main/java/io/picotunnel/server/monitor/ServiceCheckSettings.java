package io.picotunnel.server.monitor;

/**
 * Whether a service is probed, and at which path (http services). The default: probed, at {@code /}.
 */
public record ServiceCheckSettings(boolean enabled, String healthPath) {

    public static final ServiceCheckSettings DEFAULT = new ServiceCheckSettings(true, "/");
}
