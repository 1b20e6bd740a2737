package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.Setting;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The connect timeout counts from before the lookup of the server's name, as Go's net.Dialer counts its Timeout:
 * names under {@code .slow.test} take {@link SlowDnsResolverProvider#DELAY} (5 s) to resolve, as with a DNS server
 * that does not answer.
 */
class TunnelConnectorLookupTest extends ClientTestBase {

    private static final String TOKEN = "f".repeat(64);

    @Test
    void aLookupStillRunningAtTheConnectTimeoutFailsTheAttemptWhichIsRetried() {
        String server = "tunnel.slow.test:" + Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            ClientConfig config = ClientConfig.resolve(Map.of(Setting.SERVER, "ws://" + server, Setting.TOKEN, TOKEN,
                    Setting.SHUTDOWN_GRACE, "0s", Setting.CONNECT_TIMEOUT, "1s"), Map.of());
            long start = System.nanoTime();
            client = new TunnelClient(config);
            client.start();

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            long failedMillis = (System.nanoTime() - start) / 1_000_000;
            // Before, the attempt waited out the 5 s lookup, then failed on the port nothing listens on.
            assertThat(log.messages(Level.WARN).getFirst()).contains("cannot connect to ws://" + server)
                    .contains("The lookup of the server name tunnel.slow.test did not end within 1 s")
                    .doesNotContain("Nothing accepts connections");
            assertThat(failedMillis).as("ms until the attempt failed").isBetween(900L, 3_000L);

            // The next attempt comes after the backoff's first delay (about 1 s), and waits for the same lookup.
            await().atMost(Duration.ofSeconds(5)).until(() -> log.messages(Level.WARN).size() >= 2);
            assertThat(log.messages(Level.WARN).get(1)).contains("The lookup of the server name tunnel.slow.test");
        }
    }

    @Test
    void aProxyWhoseLookupIsStillRunningAtTheConnectTimeoutFailsTheAttemptNamingTheProxy() {
        String proxy = "proxy.slow.test:" + Ports.freePort();
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            ClientConfig config = ClientConfig.resolve(Map.of(Setting.SERVER, "ws://tunnel.test:8080", Setting.TOKEN,
                    TOKEN, Setting.SHUTDOWN_GRACE, "0s", Setting.CONNECT_TIMEOUT, "1s",
                    Setting.PROXY, "http://" + proxy), Map.of());
            long start = System.nanoTime();
            client = new TunnelClient(config);
            client.start();

            await().atMost(Duration.ofSeconds(20)).until(() -> !log.messages(Level.WARN).isEmpty());
            long failedMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("The lookup of the name of the proxy http://" + proxy + " (--proxy) did not end within 1 s"
                            + " (--connect-timeout)")
                    .doesNotContain("server name");
            assertThat(failedMillis).as("ms until the attempt failed").isBetween(900L, 3_000L);
        }
    }
}
