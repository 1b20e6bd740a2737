package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.HostPort;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An attempt the connector refuses by throwing before any socket is opened, from a config made in code that the
 * command line would not take: it fails as a dial does, logged and retried after the backoff delay, instead of leaving
 * the client connecting for ever.
 */
class TunnelClientRefusedAttemptTest extends ClientTestBase {

    private static final String TOKEN = "r".repeat(64);

    @Test
    void aConnectTimeoutBeyondNanosecondsFailsEachAttemptAndTheClientRetries() {
        // "No timeout" as an embedder may write it: Duration.toNanos() overflows, thrown as the attempt starts.
        ClientConfig config = ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:9"), TOKEN)
                .withConnectTimeout(Duration.ofSeconds(Long.MAX_VALUE));

        List<String> lines = twoFailedAttempts(config);

        assertThat(lines.getFirst()).startsWith("cannot connect to ws://127.0.0.1:9: ").contains("Retrying in 1 s");
    }

    @Test
    void aServerPortOutOfRangeFailsEachAttemptAndTheClientRetries() {
        // The record takes any port; the socket address refuses it after the lookup, on the client's loop.
        ClientConfig config = ClientConfig.of(new ServerAddress(false, new HostPort("127.0.0.1", 70_000)), TOKEN);

        List<String> lines = twoFailedAttempts(config);

        assertThat(lines.getFirst()).startsWith("cannot connect to ws://127.0.0.1:70000: ").contains("70000")
                .contains("Retrying in 1 s");
    }

    /** Starts the client on {@code config} and returns its warnings once two attempts have failed. */
    private List<String> twoFailedAttempts(ClientConfig config) {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.WARN)) {
            client = new TunnelClient(config.withShutdownGrace(Duration.ZERO), YamuxConfig.defaults(),
                    new Backoff(() -> 0.0));
            client.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> log.messages(Level.WARN).stream()
                    .filter(line -> line.startsWith("cannot connect to ")).count() >= 2);
            assertThat(client.state()).isIn(TunnelClient.State.WAITING_TO_RECONNECT, TunnelClient.State.CONNECTING);
            return log.messages(Level.WARN);
        }
    }
}
