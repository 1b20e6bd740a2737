package io.picotunnel.server.config;

import io.picotunnel.protocol.config.ConfigException;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.monitor.MonitorSettings;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The monitoring settings: defaults, flags and variables, and refusals that name the setting. */
class MonitoringConfigTest {

    private static MonitorSettings load(Map<Setting, String> flags, Map<String, String> env) {
        return ServerConfig.load(flags, env).monitoring();
    }

    @Test
    void defaultsAreAMinuteNinetyDaysNoWebhooksAndTwoChecks() {
        MonitorSettings settings = load(Map.of(), Map.of());
        assertThat(settings.checkInterval()).isEqualTo(Duration.ofSeconds(60));
        assertThat(settings.checkRetention()).isEqualTo(Duration.ofDays(90));
        assertThat(settings.webhookUrls()).isEmpty();
        assertThat(settings.alertAfter()).isEqualTo(2);
        assertThat(settings.metricsPublic()).isFalse();
        assertThat(settings.checkTimeout()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void settingsComeFromVariablesAndFlagsWin() {
        MonitorSettings settings = load(Map.of(Setting.CHECK_INTERVAL, "1s"), Map.of(
                "PICOTUNNEL_CHECK_INTERVAL", "5m", "PICOTUNNEL_CHECK_RETENTION", "7d",
                "PICOTUNNEL_WEBHOOK_URL", "https://hooks.slack.example/services/T/B/x, http://127.0.0.1:9/hook",
                "PICOTUNNEL_ALERT_AFTER", "3", "PICOTUNNEL_METRICS_PUBLIC", "true"));
        assertThat(settings.checkInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(settings.checkTimeout()).as("never longer than the interval").isEqualTo(Duration.ofSeconds(1));
        assertThat(settings.checkRetention()).isEqualTo(Duration.ofDays(7));
        assertThat(settings.webhookUrls()).containsExactly(URI.create("https://hooks.slack.example/services/T/B/x"),
                URI.create("http://127.0.0.1:9/hook"));
        assertThat(settings.alertAfter()).isEqualTo(3);
        assertThat(settings.metricsPublic()).isTrue();
    }

    @Test
    void badValuesAreRefusedWithTheSettingNamedAndNoWebhookSecretRepeated() {
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_CHECK_INTERVAL", "0s")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("PICOTUNNEL_CHECK_INTERVAL");
        // 1ms was taken: every probe timed out (its timeout is the interval), all showed down, the checks table grew.
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_CHECK_INTERVAL", "999ms")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("PICOTUNNEL_CHECK_INTERVAL")
                .hasMessageContaining("at least 1s");
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_CHECK_INTERVAL", "1000ms")).checkInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_CHECK_RETENTION", "a year")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("PICOTUNNEL_CHECK_RETENTION")
                .hasMessageContaining("7d");
        for (String bad : List.of("0", "-1", "1001", "two", "1.5")) {
            assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_ALERT_AFTER", bad))).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessage("Invalid --alert-after (PICOTUNNEL_ALERT_AFTER): '"
                            + bad + "' is not a whole number from 1 to 1000.");
        }
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ALERT_AFTER", "1")).alertAfter()).isEqualTo(1);
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_ALERT_AFTER", "1000")).alertAfter()).isEqualTo(1000);
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_WEBHOOK_URL", "http://ok.example/a,ftp://secret-path-xyz")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("PICOTUNNEL_WEBHOOK_URL")
                .hasMessageContaining("entry 2").hasMessageNotContaining("secret-path-xyz");
    }

    @Test
    void settingsMadeInCodeAreRefusedByTheRuleAndMessageOfAlertAfter() {
        // 5000 was taken from code, though --alert-after stops at 1000.
        for (int bad : List.of(0, 1001, 5000)) {
            assertThatThrownBy(() -> new MonitorSettings(Duration.ofMinutes(1), Duration.ofDays(90), List.of(), bad,
                    false)).as("" + bad).isInstanceOf(ConfigException.class)
                    .hasMessage("Invalid --alert-after (PICOTUNNEL_ALERT_AFTER): '" + bad
                            + "' is not a whole number from 1 to 1000.");
        }
        assertThat(new MonitorSettings(Duration.ofMinutes(1), Duration.ofDays(90), List.of(), 1000, false).alertAfter())
                .isEqualTo(1000);
    }

    @Test
    void settingsMadeInCodeAreRefusedByTheRuleAndMessageOfMaxEvents() {
        // 1 was taken from code, though --max-events keeps at least 100.
        for (int bad : List.of(-1, 0, 1, 99)) {
            assertThatThrownBy(() -> new MonitorSettings(Duration.ofMinutes(1), Duration.ofDays(90), List.of(), 2,
                    false, bad)).as("" + bad).isInstanceOf(ConfigException.class)
                    .hasMessage("Invalid --max-events (PICOTUNNEL_MAX_EVENTS): '" + bad
                            + "' is not a whole number of at least 100.");
        }
        assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_MAX_EVENTS", "99"))).as("the same message from resolve")
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid --max-events (PICOTUNNEL_MAX_EVENTS): '99' is not a whole number of at least 100.");
        assertThat(new MonitorSettings(Duration.ofMinutes(1), Duration.ofDays(90), List.of(), 2, false, 100).maxEvents())
                .isEqualTo(100);
    }

    /**
     * A port out of range was taken at start-up; the first alert then failed five times over 15 s with "port out of
     * range" in a WARN, and every later one likewise.
     */
    @Test
    void aWebhookUrlWithAPortOutOfRangeIsRefusedAtStartUp() {
        for (String port : List.of("0", "65536", "99999")) {
            assertThatThrownBy(() -> load(Map.of(), Map.of("PICOTUNNEL_WEBHOOK_URL",
                    "http://ok.example/a, http://127.0.0.1:" + port + "/secret-path-xyz")))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("PICOTUNNEL_WEBHOOK_URL")
                    .hasMessageContaining("entry 2").hasMessageNotContaining("secret-path-xyz");
        }
        assertThat(load(Map.of(), Map.of("PICOTUNNEL_WEBHOOK_URL", "http://127.0.0.1:65535/a")).webhookUrls())
                .containsExactly(URI.create("http://127.0.0.1:65535/a"));
    }
}
