package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import static io.picotunnel.client.tunnel.ScriptedTunnelServer.GO_AWAY;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.answer101;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.closeFrame;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.drainUntilEof;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.openStreamThatStaysOpen;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A server restarted as systemd does it: it stops listening, says GoAway, lets a stream finish, closes with 4000
 * (server stopping), and listens again a little later. What the client logs meanwhile, and how soon it is back.
 */
class TunnelClientServerRestartTest {

    private static final String TOKEN = "f".repeat(64);
    private ScriptedTunnelServer server;
    private TunnelClient client;

    @AfterEach
    void tearDown() throws Exception {
        ScriptedClients.stop(client, server);
    }

    /**
     * The first connection carries a stream that stays open; later ones are only accepted. The client's redial delays
     * have no jitter and are timed by {@code nanoClock}.
     */
    private void start(LongSupplier nanoClock) {
        server = new ScriptedTunnelServer((socket, key) -> {
            answer101(socket, key);
            if (server.connections() == 1) {
                openStreamThatStaysOpen(socket);
            }
            drainUntilEof(socket);
        });
        Backoff backoff = new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, nanoClock);
        client = ScriptedClients.start(server, TOKEN, backoff, YamuxConfig.defaults());
        await().atMost(Duration.ofSeconds(10)).until(() -> client.activeStreams() == 1);
    }

    /** The drain begins: no more connections taken, GoAway on the one open. */
    private Socket beginDrain() throws Exception {
        server.stopListening();
        Socket old = server.sockets.getFirst();
        write(old, GO_AWAY);
        return old;
    }

    /** The drain is over: close 4000, and the process exits. */
    private static void endDrain(Socket old) throws Exception {
        write(old, closeFrame(TunnelCloseStatus.SERVER_STOPPING));
        old.close();
    }

    /** The server drains until the client has had {@code attempts} connection attempts refused, then ends the drain. */
    private void drainThroughRefusedAttempts(int attempts, LogCapture log) throws Exception {
        Socket old = beginDrain();
        await().atMost(Duration.ofSeconds(30)).until(() -> refusedAttempts(log) >= attempts);
        endDrain(old);
    }

    private static long refusedAttempts(LogCapture log) {
        return log.events().stream().filter(e -> e.getFormattedMessage().contains("connection refused")).count();
    }

    /**
     * Five attempts refused while the server drains and restarts: before, their delays grew (1, 2, 4, 8 s), so the
     * client came back up to 16 s after the server did, and up to 1 min after a drain of 30 s. Now it tries every second
     * or so while the server restarts, and is back within 2 s of it.
     */
    @Test
    void aRestartedServerIsRedialledWithinTwoSecondsHoweverLongItsDrainLasted() throws Exception {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            start(System::nanoTime);

            drainThroughRefusedAttempts(3, log);
            await().atMost(Duration.ofSeconds(30)).until(() -> refusedAttempts(log) >= 5);
            server.listenAgain();
            long back = System.nanoTime();

            await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() == 2);
            assertThat(Duration.ofNanos(server.connectionsNanos.get(1) - back)).isLessThan(Duration.ofSeconds(2));
            await().atMost(Duration.ofSeconds(10)).until(() -> client.state() == TunnelClient.State.CONNECTED);
        }
    }

    /**
     * While the server drains and restarts the client says so at INFO, with the streams still finishing, and writes no
     * WARN: before, each refused attempt was a WARN "Nothing accepts connections ...: check that the server runs".
     */
    @Test
    void aRestartIsLoggedAtInfoWithTheStreamsStillFinishingAndNoWarning() throws Exception {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            start(System::nanoTime);

            drainThroughRefusedAttempts(2, log);
            server.listenAgain();
            await().atMost(Duration.ofSeconds(30)).until(() -> client.state() == TunnelClient.State.CONNECTED
                    && server.connections() == 2);

            assertThat(log.messages(Level.WARN)).isEmpty();
            assertThat(log.messages(Level.INFO)).anyMatch(line -> line.contains("(GoAway: it is stopping")
                    && line.contains("1 open stream(s) finish on the old connection; reconnecting every 1 s for up to"
                            + " 1 min while it restarts"));
        }
    }

    /**
     * The server said it was stopping and is still unreachable {@link Backoff#RESTART_WAIT} later: a WARN says so,
     * and the delays grow again from {@link Backoff#INITIAL}, as for any server that is down.
     */
    @Test
    void aServerNotBackWithinTheRestartWaitIsWarnedAboutAndRetriedLessOften() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            start(clock::get);

            Socket old = beginDrain();
            endDrain(old);
            await().atMost(Duration.ofSeconds(30)).until(() -> refusedAttempts(log) >= 2);
            assertThat(log.messages(Level.WARN)).isEmpty();
            clock.addAndGet(Backoff.RESTART_WAIT.toNanos());

            await().atMost(Duration.ofSeconds(30)).until(() -> !log.messages(Level.WARN).isEmpty());
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("said it was stopping 1 min ago and is still unreachable")
                    .contains("connection refused")
                    .contains("Retrying in 1 s, then less and less often.");
        }
    }
}
