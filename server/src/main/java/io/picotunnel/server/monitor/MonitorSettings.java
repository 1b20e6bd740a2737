package io.picotunnel.server.monitor;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Monitoring settings: how often every tunnel and service is checked, how long checks are kept, where alerts go
 * and after how many checks in a row a new state is alerted.
 */
public record MonitorSettings(Duration checkInterval, Duration checkRetention, List<URI> webhookUrls, int alertAfter,
                              boolean metricsPublic) {

    /** The shortest interval between checks the settings take. */
    public static final Duration MIN_CHECK_INTERVAL = Duration.ofSeconds(1);

    /** The longest a ping or probe may take; shorter with a short interval, so that checks never overlap. */
    public static final Duration MAX_CHECK_TIMEOUT = Duration.ofSeconds(5);

    public MonitorSettings {
        Objects.requireNonNull(checkInterval, "checkInterval");
        Objects.requireNonNull(checkRetention, "checkRetention");
        webhookUrls = List.copyOf(webhookUrls);
        if (alertAfter < 1) {
            throw new IllegalArgumentException("alertAfter must be at least 1");
        }
    }

    public Duration checkTimeout() {
        return checkInterval.compareTo(MAX_CHECK_TIMEOUT) < 0 ? checkInterval : MAX_CHECK_TIMEOUT;
    }
}
