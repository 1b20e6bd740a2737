package io.picotunnel.server.monitor;

import io.picotunnel.protocol.config.SettingValues;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.events.EventLog;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Monitoring settings: how often every tunnel and service is checked, how long checks are kept, where alerts go
 * and after how many checks in a row a new state is alerted, and how many events are kept at most.
 */
public record MonitorSettings(Duration checkInterval, Duration checkRetention, List<URI> webhookUrls, int alertAfter,
                              boolean metricsPublic, int maxEvents) {

    /** The fewest events {@code PICOTUNNEL_MAX_EVENTS} may keep. */
    public static final int MIN_MAX_EVENTS = 100;

    /** The most checks in a row {@code PICOTUNNEL_ALERT_AFTER} may ask a new state to hold before it is alerted. */
    public static final int MAX_ALERT_AFTER = 1000;

    /** The shortest interval between checks the settings take. */
    public static final Duration MIN_CHECK_INTERVAL = Duration.ofSeconds(1);

    /** The longest a ping or probe may take; shorter with a short interval, so that checks never overlap. */
    public static final Duration MAX_CHECK_TIMEOUT = Duration.ofSeconds(5);

    /**
     * Checks {@code checkRetention}, {@code alertAfter} and {@code maxEvents} by the rules and messages of their
     * settings, also for settings made in code, and {@code checkInterval} but for its least, 1 s, which the server's
     * config checks (tests check more often).
     */
    public MonitorSettings {
        SettingValues.duration(Setting.CHECK_INTERVAL, checkInterval, false);
        SettingValues.duration(Setting.CHECK_RETENTION, checkRetention, false);
        webhookUrls = List.copyOf(webhookUrls);
        SettingValues.count(Setting.ALERT_AFTER, alertAfter, 1, MAX_ALERT_AFTER);
        SettingValues.count(Setting.MAX_EVENTS, maxEvents, MIN_MAX_EVENTS, Integer.MAX_VALUE);
    }

    /** Settings keeping the default number of events. */
    public MonitorSettings(Duration checkInterval, Duration checkRetention, List<URI> webhookUrls, int alertAfter,
                           boolean metricsPublic) {
        this(checkInterval, checkRetention, webhookUrls, alertAfter, metricsPublic, EventLog.DEFAULT_MAX_EVENTS);
    }

    public Duration checkTimeout() {
        return checkInterval.compareTo(MAX_CHECK_TIMEOUT) < 0 ? checkInterval : MAX_CHECK_TIMEOUT;
    }
}
