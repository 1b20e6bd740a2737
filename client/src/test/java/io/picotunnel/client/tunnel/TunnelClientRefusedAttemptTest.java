package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An attempt the connector refuses by throwing before any socket is opened: it fails as a dial does, logged and
 * retried after the backoff delay, instead of leaving the client connecting for ever. A config made in code can no
 * longer carry a value that makes it throw (ClientConfig refuses a timeout beyond ten years, HostPort a port out of
 * range), so the throw comes from the connect timeout the tests' constructor hands the connector past those checks;
 * a throw from one address of a race is HappyEyeballsTest's.
 */
class TunnelClientRefusedAttemptTest extends ClientTestBase {

    private static final String TOKEN = "r".repeat(64);

    @Test
    void aConnectorThatThrowsAsTheAttemptStartsFailsEachAttemptAndTheClientRetries() {
        // Duration.toNanos() overflows, thrown as the attempt starts, before any lookup or socket.
        ClientConfig config = ClientConfig.of(ServerAddress.parse("ws://127.0.0.1:9"), TOKEN)
                .withShutdownGrace(Duration.ZERO);

        try (LogCapture log = new LogCapture(TunnelClient.class, Level.WARN)) {
            client = new TunnelClient(config, YamuxConfig.defaults(), new Backoff(() -> 0.0),
                    Duration.ofSeconds(Long.MAX_VALUE));
            client.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> log.messages(Level.WARN).stream()
                    .filter(line -> line.startsWith("cannot connect to ")).count() >= 2);
            assertThat(client.state()).isIn(TunnelClient.State.WAITING_TO_RECONNECT, TunnelClient.State.CONNECTING);
            assertThat(log.messages(Level.WARN).getFirst()).startsWith("cannot connect to ws://127.0.0.1:9: ")
                    .contains("Retrying in 1 s");
        }
    }
}
