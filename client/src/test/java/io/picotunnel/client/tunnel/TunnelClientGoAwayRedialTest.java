package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.client.tunnel.ScriptedTunnelServer.GO_AWAY;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.answer101;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.closeFrame;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.drainUntilEof;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.openStreamThatStaysOpen;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** When the client redials after the server's GoAway, and what its GoAway line says of that redial. */
class TunnelClientGoAwayRedialTest extends AgainstAScriptedServer {

    /**
     * Two dials fail (the server closes them unanswered: delays of 1 s and 2 s), the third connects and gets GoAway at
     * once: the redial comes at once, not after the 4 s the failures grew the backoff to.
     */
    @Test
    void aGoAwayOnAConnectionAfterFailedDialsIsRedialledAtOnce() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                if (connection <= 2) {
                    socket.close();
                    return;
                }
                answer101(socket, key);
                if (connection == 3) {
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

    /**
     * GoAway with a redial scheduled 990 ms later, and the client stops meanwhile: the GoAway line, written by the stop,
     * names no reconnection, which will not come.
     */
    @Test
    void aStopWhileTheRedialIsScheduledWritesTheGoAwayLineWithoutAReconnection() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                answer101(socket, key);
                write(socket, GO_AWAY);
                drainUntilEof(socket);
            }, new Backoff(() -> 0.99, Backoff.DEFAULT_STABLE_AFTER, System::nanoTime));
            await().atMost(Duration.ofSeconds(10)).until(() -> client.state() == TunnelClient.State.WAITING_TO_RECONNECT);

            client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();

            assertThat(server.connections()).isEqualTo(1);
            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("GoAway")).singleElement().asString()
                    .contains("ended this connection (GoAway: it is stopping, or the tunnel's token was regenerated or"
                            + " the tunnel deleted)")
                    .doesNotContain("reconnecting");
        }
    }

    /**
     * GoAway, and the client stops while its redial waits for the server's answer to the upgrade: the GoAway line,
     * written by the stop, does not say it is reconnecting.
     */
    @Test
    void aStopWhileTheRedialConnectsWritesTheGoAwayLineWithoutAReconnection() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                if (connection == 1) {
                    answer101(socket, key);
                    write(socket, GO_AWAY);
                }
                drainUntilEof(socket);
            }, new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, System::nanoTime));
            await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() == 2
                    && client.state() == TunnelClient.State.CONNECTING);

            client.stop(Duration.ZERO).orTimeout(20, TimeUnit.SECONDS).join();

            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("GoAway")).singleElement().asString()
                    .doesNotContain("reconnecting");
        }
    }

    /**
     * The client stops, and the server says GoAway back as the client's GoAway reaches it (a stream is still open, so
     * the connection stays): the client does not redial, nor write a GoAway line that would say it will.
     */
    @Test
    void aGoAwayThatComesAsTheClientStopsIsNotAnsweredWithAReconnection() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                answer101(socket, key);
                ScriptedTunnelServer.ClientFrames frames = openStreamThatStaysOpen(socket);
                server.events.add("stream open");
                frames.awaitFrame(3, 0, 0);
                write(socket, GO_AWAY);
                server.events.add("GoAway sent");
                drainUntilEof(socket);
            }, new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, System::nanoTime));
            await().atMost(Duration.ofSeconds(10)).until(() -> client.activeStreams() == 1);

            var stopped = client.stop(Duration.ofSeconds(2));
            await().atMost(Duration.ofSeconds(10)).until(() -> server.events.contains("GoAway sent"));
            stopped.orTimeout(20, TimeUnit.SECONDS).join();

            assertThat(server.connections()).isEqualTo(1);
            assertThat(log.messages(Level.INFO)).noneMatch(line -> line.contains("GoAway"))
                    .noneMatch(line -> line.contains("reconnecting"));
        }
    }

    /**
     * GoAway, then close 4000 (the server is stopping), and the redial gets 401: the server stopped is not why the token
     * is refused, so the error names a regenerated token or a deleted tunnel, and the client stops.
     */
    @Test
    void a401AfterClose4000NamesARegeneratedTokenOrADeletedTunnel() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                if (connection > 1) {
                    write(socket, ScriptedTunnelServer.TOKEN_REFUSAL);
                    drainUntilEof(socket);
                    return;
                }
                answer101(socket, key);
                write(socket, GO_AWAY);
                write(socket, closeFrame(TunnelCloseStatus.SERVER_STOPPING));
                drainUntilEof(socket);
            }, new Backoff(() -> 0.5, Backoff.DEFAULT_STABLE_AFTER, System::nanoTime));

            await().atMost(Duration.ofSeconds(20)).until(() -> client.terminated().isDone());

            assertThat(client.state()).isEqualTo(TunnelClient.State.TOKEN_REJECTED);
            assertThat(client.terminated()).isCompletedExceptionally();
            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("GoAway")).singleElement().asString()
                    .contains("(GoAway, then close status 4000: the server is stopping)");
            assertThat(log.messages(Level.ERROR)).singleElement().asString()
                    .contains("ended the connection (close status 4000: the server is stopping) and now rejects the "
                            + "token (HTTP 401): the tunnel's token was regenerated or the tunnel deleted");
        }
    }
}
