package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.picotunnel.client.tunnel.ScriptedTunnelServer.answer101;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.drainUntilEof;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.wsFrame;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.write;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.yamux;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** When the client redials after the server's GoAway, and what its GoAway line says of that redial. */
class TunnelClientGoAwayRedialTest {

    private static final String TOKEN = "e".repeat(64);
    private static final byte[] GO_AWAY = wsFrame(0x2, true, false, yamux(3, 0, 0, 0, null));
    private ScriptedTunnelServer server;
    private TunnelClient client;

    @AfterEach
    void tearDown() throws Exception {
        ScriptedClients.stop(client, server);
    }

    private void start(ScriptedTunnelServer.Script script, Backoff backoff) {
        server = new ScriptedTunnelServer(script);
        client = ScriptedClients.start(server, TOKEN, backoff, YamuxConfig.defaults());
    }

    /**
     * Two dials fail (the server closes them unanswered: delays of 1 s and 2 s), the third connects and gets GoAway at
     * once: the redial comes at once, not after the 4 s the failures grew the backoff to.
     */
    @Test
    void aGoAwayOnAConnectionAfterFailedDialsIsRedialledAtOnce() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key) -> {
                if (server.connections() <= 2) {
                    socket.close();
                    return;
                }
                answer101(socket, key);
                if (server.connections() == 3) {
                    write(socket, GO_AWAY);
                }
                drainUntilEof(socket);
            }, new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, System::nanoTime));

            await().atMost(Duration.ofSeconds(20)).until(() -> server.connections() >= 4);
            // Before: 4 s, the backoff's next delay.
            assertThat(ScriptedTunnelServer.gapsMillis(server.connectionsNanos).get(2)).isLessThan(1000);
            await().atMost(Duration.ofSeconds(10)).until(() -> log.messages(Level.INFO).stream()
                    .anyMatch(line -> line.contains("GoAway")));
            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("GoAway")).singleElement().asString()
                    .doesNotContain("reconnecting in");
        }
    }
}
