package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.client.config.ClientConfig;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The line a stopping client writes names its grace period as every other duration people read. */
class TunnelClientStopLineTest {

    @Test
    void aGracePeriodOfPartSecondsIsWrittenAsElsewhereNotCutToWholeSeconds() throws Exception {
        try (ScriptedTunnelServer server = new ScriptedTunnelServer((socket, key, connection) -> {
                ScriptedTunnelServer.answer101(socket, key);
                ScriptedTunnelServer.drainUntilEof(socket);
            });
             LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            TunnelClient client = new TunnelClient(ClientConfig.of(ServerAddress.parse("ws://" + server.address()),
                    "e".repeat(64)), YamuxConfig.defaults(), new Backoff());
            client.start();
            try {
                assertThat(client.awaitConnected(Duration.ofSeconds(20))).isTrue();
                client.stop(Duration.ofMillis(1500)).orTimeout(20, TimeUnit.SECONDS).join();

                assertThat(log.messages(Level.INFO))
                        .contains("stopping: no new streams, waiting up to 1.5 s for 0 open stream(s)");
            } finally {
                client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();
            }
        }
    }
}
