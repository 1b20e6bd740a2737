package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
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
class TunnelClientServerRestartTest extends AgainstAScriptedServer {

    /** The server drains and still listens: a new connection is answered 503 server_stopping, Retry-After: 1. */
    private volatile boolean answeringStopping;
    /** The server is back and refuses this address: a new connection is answered 429 too_many_attempts, Retry-After: 2. */
    private volatile boolean answeringTooManyAttempts;
    /**
     * The server, still draining, refuses this address as it accepts the connection: 429 too_many_connections,
     * Retry-After: 1 (the server says 10 s; 1 s keeps the test short).
     */
    private volatile boolean answeringTooManyConnections;
    /** A reverse proxy in front of the server limits the rate of upgrades: 429 with a page, no Retry-After. */
    private volatile boolean proxyAnswering429;
    /** The server rejects the token: a new connection is answered 401. */
    private volatile boolean rejectingToken;
    /** How many accepted connections have read the flags above: their answer is decided. */
    private final AtomicInteger decided = new AtomicInteger();

    /**
     * The first connection carries a stream that stays open; later ones are only accepted. The client's redial delays
     * have no jitter and are timed by {@code nanoClock}.
     */
    private void start(LongSupplier nanoClock) {
        start((socket, key, connection) -> {
            boolean stopping = answeringStopping;
            boolean tooManyConnections = answeringTooManyConnections;
            boolean proxy429 = proxyAnswering429;
            boolean rejecting = rejectingToken;
            boolean tooManyAttempts = answeringTooManyAttempts;
            decided.incrementAndGet();
            if (stopping) {
                answerStopping(socket);
                return;
            }
            if (tooManyConnections) {
                answer429(socket, "{\"error\":\"too_many_connections\",\"message\":\"Too many connections are open"
                        + " from your address. Close some and try again.\"}", "application/json", "Retry-After: 1\r\n");
                return;
            }
            if (proxy429) {
                answer429(socket, "<html><body><h1>429 Too Many Requests</h1></body></html>", "text/html", "");
                return;
            }
            if (rejecting) {
                write(socket, ScriptedTunnelServer.TOKEN_REFUSAL);
                drainUntilEof(socket);
                return;
            }
            if (tooManyAttempts) {
                answerTooManyAttempts(socket);
                return;
            }
            answer101(socket, key);
            if (connection == 1) {
                openStreamThatStaysOpen(socket);
            }
            drainUntilEof(socket);
        }, new Backoff(() -> 0.0, Backoff.DEFAULT_STABLE_AFTER, nanoClock));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.activeStreams() == 1);
    }

    /** The server's answer to a tunnel connection while it drains, asking for a redial a second later. */
    private static void answerStopping(Socket socket) throws Exception {
        byte[] body = "{\"error\":\"server_stopping\",\"message\":\"the server is shutting down\"}"
                .getBytes(StandardCharsets.UTF_8);
        write(socket, ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\nConnection: close\r\nRetry-After: 1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        write(socket, body);
        drainUntilEof(socket);
    }

    /** The server's answer to a tunnel connection from an address that sent too many wrong tokens, for 2 s more. */
    private static void answerTooManyAttempts(Socket socket) throws Exception {
        byte[] body = ("{\"error\":\"too_many_attempts\",\"message\":\"too many wrong tunnel tokens from this address:"
                + " wait, then connect with the tunnel's current token\"}").getBytes(StandardCharsets.UTF_8);
        write(socket, ("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\nConnection: close\r\nRetry-After: 2\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        write(socket, body);
        drainUntilEof(socket);
    }

    private static void answer429(Socket socket, String body, String type, String retryAfter) throws Exception {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        write(socket, ("HTTP/1.1 429 Too Many Requests\r\nContent-Type: " + type + "\r\nContent-Length: " + bytes.length
                + "\r\nConnection: close\r\n" + retryAfter + "\r\n").getBytes(StandardCharsets.US_ASCII));
        write(socket, bytes);
        drainUntilEof(socket);
    }

    /**
     * The client's clock moves on by {@code time} in steps of 20 s, each followed by two answers of the server, as a
     * drain answers every few seconds (one jump of 1 min would let the restart wait lapse between two answers).
     */
    private void drainFor(AtomicLong clock, Duration time) {
        for (long done = 0; done < time.toSeconds(); done += 20) {
            int before = server.connections();
            clock.addAndGet(Duration.ofSeconds(Math.min(20, time.toSeconds() - done)).toNanos());
            await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= before + 2);
        }
    }

    /**
     * A long drain: the client started, the server drains ({@link #startThenDrain}), and the drain goes on for
     * {@link Backoff#RESTART_WAIT} on the client's clock.
     */
    private void drainPastTheRestartWait(AtomicLong clock) throws Exception {
        startThenDrain(clock);
        drainFor(clock, Backoff.RESTART_WAIT);
    }

    /**
     * The client started, the server answers every new connection 503 server_stopping and says GoAway on the one open;
     * returns once the third connection is dialled, as the answer to the second told the client the server is stopping.
     */
    private void startThenDrain(AtomicLong clock) throws Exception {
        start(clock::get);
        answeringStopping = true;
        write(server.sockets.getFirst(), GO_AWAY);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= 3);
    }

    /**
     * The client started, the server exits with no stream to wait for (GoAway, close 4000, no more connections taken);
     * returns once a redial is refused.
     */
    private void startThenExitUntilARedialIsRefused(LongSupplier nanoClock, LogCapture log) throws Exception {
        start(nanoClock);
        endDrain(beginDrain());
        await().atMost(Duration.ofSeconds(30)).until(() -> refusedAttempts(log) >= 1);
    }

    /** The server is back and answers 429 too_many_attempts; returns once the client logged the first such answer. */
    private void backAnsweringTooManyAttempts(LogCapture log) throws Exception {
        answeringTooManyAttempts = true;
        server.listenAgain();
        await().atMost(Duration.ofSeconds(30)).until(() -> answered429(log) >= 1);
    }

    /** A reverse proxy answers the redials 429 without Retry-After; returns once the client logged {@code answers}. */
    private void behindAProxyAnswering429(int answers, LogCapture log) throws Exception {
        proxyAnswering429 = true;
        server.listenAgain();
        await().atMost(Duration.ofSeconds(30)).until(() -> answered429(log) >= answers);
    }

    /** The restart wait passes on the client's clock; returns once a WARN more is written. */
    private static void passTheRestartWaitUntilAWarning(AtomicLong clock, LogCapture log) {
        int warnings = log.messages(Level.WARN).size();
        clock.addAndGet(Backoff.RESTART_WAIT.toNanos());
        await().atMost(Duration.ofSeconds(30)).until(() -> log.messages(Level.WARN).size() > warnings);
    }

    /**
     * After its drain the server exits: its port refuses a redial, and it is still down when the restart wait, on the
     * client's clock, is over; returns once the WARN that it is still unreachable is written.
     */
    private void exitAndStayUnreachablePastTheRestartWait(AtomicLong clock, LogCapture log) throws Exception {
        int warnings = log.messages(Level.WARN).size();
        long refused = refusedAttempts(log);
        server.stopListening();
        await().atMost(Duration.ofSeconds(30)).until(() -> refusedAttempts(log) > refused);
        clock.addAndGet(Backoff.RESTART_WAIT.toNanos());
        await().atMost(Duration.ofSeconds(30)).until(() -> log.messages(Level.WARN).size() == warnings + 1);
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

    private static long answered429(LogCapture log) {
        return log.events().stream().filter(e -> e.getFormattedMessage().contains("answered HTTP 429")).count();
    }

    /** The INFO lines that announce a stop: "is stopping or restarting". */
    private static long announcedStops(LogCapture log) {
        return log.messages(Level.INFO).stream().filter(line -> line.contains("stopping or restarting")).count();
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
            startThenExitUntilARedialIsRefused(clock::get, log);
            await().atMost(Duration.ofSeconds(30)).until(() -> refusedAttempts(log) >= 2);
            assertThat(log.messages(Level.WARN)).isEmpty();

            passTheRestartWaitUntilAWarning(clock, log);
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("said it was stopping 1 min ago and is still unreachable")
                    .contains("connection refused")
                    .contains("Retrying in 1 s, then less and less often.");
        }
    }

    /**
     * A drain longer than the restart wait (a --shutdown-grace of minutes, for long downloads), every redial answered
     * 503 server_stopping with Retry-After: 1. One WARN says it still drains; the redials keep the server's pace in the
     * first minute, then come less often the longer it drains (a sixth of the stop beyond the first minute, here 3 s
     * after 1 min 18 s; before, every 1 s however long it drained), and the restart after it is still picked up.
     */
    @Test
    void aDrainLongerThanTheRestartWaitIsOneWarningAndRedialledLessOftenTheLongerItLasts() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            drainPastTheRestartWait(clock);
            int before = server.connections();
            await().atMost(Duration.ofSeconds(40)).until(() -> server.connections() >= before + 4);

            List<Long> redials = server.connectionsNanos.subList(before - 1, before + 4);
            // Its pace, 1 to 1.2 s, not delays that grow (1, 2, 4, 8 s) nor a drain's pace begun too soon (10 s).
            assertThat(ScriptedTunnelServer.gapsMillis(redials)).allMatch(gap -> gap < 2_500, "under 2.5 s");
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("said it was stopping 1 min ago and still does: it waits for open streams to end")
                    .contains("Retrying in 1 s, then less often the longer it drains, up to 30 s apart (its"
                            + " Retry-After when longer), and every 1 s once it no longer answers so, until it is"
                            + " back.");

            clock.addAndGet(Duration.ofSeconds(18).toNanos());
            int later = server.connections();
            await().atMost(Duration.ofSeconds(60)).until(() -> server.connections() >= later + 4);
            List<Long> slower = server.connectionsNanos.subList(later + 1, later + 4);
            assertThat(ScriptedTunnelServer.gapsMillis(slower)).allMatch(gap -> gap > 2_000, "over 2 s (3 s less a"
                    + " fifth at most)");
            assertThat(log.messages(Level.WARN)).hasSize(1);

            answeringStopping = false;
            long restarted = System.nanoTime();
            await().atMost(Duration.ofSeconds(30)).until(() -> client.state() == TunnelClient.State.CONNECTED);
            assertThat(Duration.ofNanos(System.nanoTime() - restarted)).isLessThan(Duration.ofSeconds(6));
        }
    }

    /**
     * A drain of 1 min 30 s (redials 5 s apart), then the server exits and is started again: the redial it refuses
     * is followed by one after 1 s, as its drain is over, and the restart is picked up within 2.5 s. Before, the
     * refused redial kept the drain's pace: the next came 5 s later.
     */
    @Test
    void aRedialRefusedAfterALongDrainIsFollowedByOneAfterASecond() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            drainPastTheRestartWait(clock);
            clock.addAndGet(Duration.ofSeconds(30).toNanos());
            int later = server.connections();
            // The second answer after the clock moved on is followed by a redial 5 s later.
            await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= later + 2);

            server.stopListening();
            // A redial accepted just before must still be answered 503, or the client connects and none is refused.
            await().atMost(Duration.ofSeconds(30)).until(() -> decided.get() == server.connections());
            answeringStopping = false;
            await().atMost(Duration.ofSeconds(30)).until(() -> refusedAttempts(log) >= 1);
            server.listenAgain();
            long back = System.nanoTime();

            await().atMost(Duration.ofSeconds(30)).until(() -> client.state() == TunnelClient.State.CONNECTED);
            assertThat(Duration.ofNanos(server.connectionsNanos.getLast() - back)).isLessThan(Duration.ofMillis(2_500));
        }
    }

    /**
     * The server drains past the restart wait (one WARN), exits, is unreachable past the wait (a WARN), then answers
     * it is stopping again: a new stop, not one begun long ago. Before, its first answer was a false WARN "said it was
     * stopping 2 min ago and still does", and a second long drain was not warned about.
     */
    @Test
    void aServerStoppingAgainAfterItWasUnreachableIsANewStop() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            drainPastTheRestartWait(clock);
            await().atMost(Duration.ofSeconds(30)).until(() -> log.messages(Level.WARN).size() == 1);

            exitAndStayUnreachablePastTheRestartWait(clock, log);
            int before = server.connections();
            server.listenAgain();
            await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= before + 2);
            drainFor(clock, Backoff.RESTART_WAIT);

            assertThat(log.messages(Level.WARN)).satisfiesExactly(
                    drain -> assertThat(drain).contains("said it was stopping 1 min ago and still does"),
                    down -> assertThat(down).contains("said it was stopping 2 min ago and is still unreachable"),
                    again -> assertThat(again).contains("said it was stopping 1 min ago and still does"));
        }
    }

    /**
     * The server drains for 1 min, then exits and is unreachable for the 1 min after its last answer: the WARN says it
     * said it was stopping 2 min ago, when its stop began. Before, it said "1 min ago" (the restart wait) whatever the
     * drain lasted.
     */
    @Test
    void theWarningThatTheServerIsStillUnreachableSaysHowLongAgoItsStopBegan() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            drainPastTheRestartWait(clock);
            await().atMost(Duration.ofSeconds(30)).until(() -> log.messages(Level.WARN).size() == 1);

            exitAndStayUnreachablePastTheRestartWait(clock, log);

            assertThat(log.messages(Level.WARN).getLast())
                    .contains("the server said it was stopping 2 min ago and is still unreachable")
                    .contains("connection refused");
        }
    }

    /**
     * The server is still unreachable 1 min after its stop (a WARN), then answers it is stopping: that answer is at
     * INFO, as the operator read the WARN and must read that it is back. Before, it was at DEBUG.
     */
    @Test
    void aStopAnsweredAfterTheServerWasStillUnreachableIsLoggedAtInfo() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            startThenExitUntilARedialIsRefused(clock::get, log);
            passTheRestartWaitUntilAWarning(clock, log);

            answeringStopping = true;
            int before = server.connections();
            int logged = log.events().size();
            server.listenAgain();
            // Only lines written since: a refused redial before it is back may have said "is not back yet".
            await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() > before && log.events().stream()
                    .skip(logged)
                    .anyMatch(e -> e.getFormattedMessage().matches("(?s).*(is not back yet|is stopping or restarting).*")));

            assertThat(log.messages(Level.INFO)).anyMatch(line -> line.contains("is stopping or restarting")
                    && line.contains("Retrying in 1 s, then every 1 s for up to 1 min while it restarts"));
        }
    }

    /**
     * The server is back within the restart wait but answers 429 (too many wrong tokens from this address), and the
     * redial its Retry-After asks for comes after the wait is over (a lockout of minutes; here the client's clock moves
     * on by the wait meanwhile): each answer is a WARN that the server answered 429 and asked to wait, and none says
     * it is still unreachable. Before, the first was a DEBUG "is not back yet" and the second a WARN "the server said
     * it was stopping 1 min ago and is still unreachable".
     */
    @Test
    void aServerBackWithinTheRestartWaitThatAnswers429IsSaidToAnswerNotToBeUnreachable() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            startThenExitUntilARedialIsRefused(clock::get, log);

            backAnsweringTooManyAttempts(log);
            clock.addAndGet(Backoff.RESTART_WAIT.toNanos());
            await().atMost(Duration.ofSeconds(30)).until(() -> answered429(log) >= 2);

            assertThat(log.events()).noneMatch(e -> e.getFormattedMessage().contains("still unreachable"));
            assertThat(log.messages(Level.WARN)).hasSize(2).allSatisfy(line -> assertThat(line)
                    .contains("answered HTTP 429 Too Many Requests to the tunnel's WebSocket upgrade")
                    .contains("It asked to wait 2 s (Retry-After): retrying in 2 s."));
        }
    }

    /**
     * While the client waits for the restart, a reverse proxy in front of the server answers three redials 429 without
     * Retry-After (nginx's limit_req_status 429): no sign the server is back, so each is a DEBUG line that says it
     * answered 429, not a WARN every second. Before, each was a WARN "cannot connect ... Retrying in 1 s".
     */
    @Test
    void aProxys429DuringTheRestartWaitIsNotAWarningEverySecond() throws Exception {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            startThenExitUntilARedialIsRefused(System::nanoTime, log);

            behindAProxyAnswering429(3, log);

            assertThat(log.messages(Level.WARN)).isEmpty();
            assertThat(log.events()).filteredOn(e -> e.getFormattedMessage().contains("answered HTTP 429"))
                    .allSatisfy(e -> assertThat(e.getLevel()).isEqualTo(Level.DEBUG))
                    .noneMatch(e -> e.getFormattedMessage().contains("still unreachable"));
        }
    }

    /**
     * A long drain whose redials are answered 429 too_many_connections now and then, within its first minute and after
     * its WARN (the server refuses the address as it accepts the connection, draining or not), between its 503
     * server_stopping: one stop, announced once and warned about once. Before, each 429 ended the stop for the log, so
     * the next 503 was announced again at INFO "is stopping or restarting" (within the first minute) or its long-drain
     * WARN written again (after it), and each 429 was a WARN.
     */
    @Test
    void tooManyConnections429sDuringALongDrainAreNoNewStop() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            startThenDrain(clock);
            twoRedialsAnsweredTooManyConnections(log);
            drainFor(clock, Backoff.RESTART_WAIT);
            await().atMost(Duration.ofSeconds(30)).until(() -> log.messages(Level.WARN).stream()
                    .anyMatch(line -> line.contains("still does")));
            twoRedialsAnsweredTooManyConnections(log);

            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("stopping")).singleElement()
                    .asString().contains("(GoAway: it is stopping, as its answer to the new connection says)");
            assertThat(log.messages(Level.WARN)).singleElement().asString()
                    .contains("said it was stopping 1 min ago and still does");
        }
    }

    /** Two redials of a draining server are answered 429 too_many_connections, then two more 503 server_stopping. */
    private void twoRedialsAnsweredTooManyConnections(LogCapture log) {
        long answered = answered429(log);
        answeringTooManyConnections = true;
        answeringStopping = false;
        await().atMost(Duration.ofSeconds(30)).until(() -> answered429(log) >= answered + 2);
        answeringStopping = true;
        answeringTooManyConnections = false;
        int before = server.connections();
        await().atMost(Duration.ofSeconds(30)).until(() -> server.connections() >= before + 2);
    }

    /**
     * The server is back within the restart wait and answers 429 too_many_attempts, then stops listening again: its
     * stop was over, so the refused redial is a server down (a WARN, delays that grow), not the same stop announced a
     * second time. Before, the refused redial was a second INFO "is stopping or restarting", redialled every 1 s.
     */
    @Test
    void aRedialRefusedAfterTheServersTooManyAttemptsIsNotTheStopAnnouncedAgain() throws Exception {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            startThenExitUntilARedialIsRefused(System::nanoTime, log);
            backAnsweringTooManyAttempts(log);
            long announced = announcedStops(log);

            long refused = refusedAttempts(log);
            server.stopListening();
            await().atMost(Duration.ofSeconds(30)).until(() -> refusedAttempts(log) > refused);

            assertThat(announcedStops(log)).isEqualTo(announced);
            assertThat(log.messages(Level.WARN).getLast()).contains("connection refused")
                    .doesNotContain("while it restarts");
        }
    }

    /**
     * GoAway, then the redial is answered 429 too_many_attempts (the server is back), and the next 401: the token was
     * changed since the GoAway, and the line still says the server ended the connection. Before, the 429 cleared the
     * GoAway, and the 401 was "rejected the token (HTTP 401): check --token", as for a token perhaps mistyped.
     */
    @Test
    void a401AfterGoAwayAndTheServersTooManyAttemptsSaysTheServerEndedTheConnection() throws Exception {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            start(System::nanoTime);
            answeringTooManyAttempts = true;
            write(server.sockets.getFirst(), GO_AWAY);
            await().atMost(Duration.ofSeconds(30)).until(() -> answered429(log) >= 1);
            rejectingToken = true;

            await().atMost(Duration.ofSeconds(30)).until(() -> !log.messages(Level.ERROR).isEmpty());
            assertThat(log.messages(Level.ERROR).getFirst())
                    .contains("ended the connection and now rejects the token (HTTP 401)");
        }
    }

    /**
     * A reverse proxy answers 429 (no Retry-After) to the redials of a server that stopped, and still does once the
     * restart wait is over: the WARN then says no answer since says the server is back, with the proxy's 429, not that
     * it is "still unreachable" though it answered.
     */
    @Test
    void aProxys429PastTheRestartWaitIsNotCalledUnreachable() throws Exception {
        AtomicLong clock = new AtomicLong(System.nanoTime());
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            startThenExitUntilARedialIsRefused(clock::get, log);
            behindAProxyAnswering429(1, log);

            passTheRestartWaitUntilAWarning(clock, log);
            assertThat(log.messages(Level.WARN).getFirst())
                    .contains("the server said it was stopping 1 min ago and no answer since says it is back")
                    .contains("answered HTTP 429 Too Many Requests")
                    .doesNotContain("still unreachable");
        }
    }
}
