package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.picotunnel.protocol.ws.TunnelCloseStatus;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static io.picotunnel.client.tunnel.ScriptedTunnelServer.GO_AWAY;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.answer101;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.closeFrame;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.drainUntilEof;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.openStreamThatStaysOpen;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.wsFrame;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.write;
import static io.picotunnel.client.tunnel.ScriptedTunnelServer.yamux;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** What the client does with a connection the server said GoAway on: when it closes it, and what it learns first. */
class TunnelClientOldConnectionTest extends AgainstAScriptedServer {

    /** Redials 200 ms after a connection ends, as after one that lasted. */
    private static Backoff redialAfter200Ms() {
        return new Backoff(() -> 0.2, Duration.ZERO, System::nanoTime);
    }

    /**
     * The close frame saying why comes only once the client redials (a busy server, a slow link): the client still
     * reads it on the idle old connection and names the cause when the redial gets a 401.
     */
    @ParameterizedTest
    @EnumSource(names = {"TOKEN_REGENERATED", "TUNNEL_DELETED"})
    void aCloseFrameThatComesAfterTheRedialStillNamesTheCauseOfThe401(TunnelCloseStatus why) {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            // A connection that lasted: the redial comes 200 ms after the GoAway.
            start((socket, key, connection) -> {
                if (connection > 1) {
                    await().atMost(Duration.ofSeconds(10)).until(() -> server.events.contains("old connection closed"));
                    refuseWith401(socket);
                    return;
                }
                answer101(socket, key);
                write(socket, GO_AWAY);
                await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() > 1);
                try {
                    write(socket, closeFrame(why));
                } catch (IOException closedByTheClient) {
                    server.events.add("close frame not sent: " + closedByTheClient);
                }
                drainUntilEof(socket);
                server.events.add("old connection closed");
            }, redialAfter200Ms());

            await().atMost(Duration.ofSeconds(20)).until(() -> client.terminated().isDone());
            // Before: the client closed the idle connection 50 ms after the GoAway, so the frame never came, and the
            // line named every possible cause ("the tunnel's token was regenerated or the tunnel deleted").
            assertThat(log.messages(Level.ERROR)).singleElement().asString()
                    .contains("ended the connection (" + why.description() + ") and now rejects the token (HTTP 401)");
            // The GoAway line waits for the redial's outcome, so the close frame, come first, names the cause in it.
            assertThat(log.messages(Level.INFO)).anyMatch(line -> line.contains(
                    "ended this connection (GoAway, then close status " + why.code() + ": " + why.description() + ")"));
        }
    }

    /**
     * The last stream of an old connection ends, and a ping follows in the same write: the client closes the connection
     * as the stream ends, before it reads the ping, not at a later check that answers the ping first.
     */
    @Test
    void anOldConnectionIsClosedAsItsLastStreamEnds() {
        start((socket, key, connection) -> {
            ScriptedTunnelServer.ClientFrames frames = goAwayWithAStreamOpen(socket, key, connection);
            if (frames == null) {
                return;
            }
            // The client's redial shows it took the GoAway, with the stream still open on this connection.
            await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() > 1);
            ByteArrayOutputStream resetThenPing = new ByteArrayOutputStream();
            resetThenPing.writeBytes(wsFrame(0x2, true, false, yamux(1, 8, 2, 0, null)));
            resetThenPing.writeBytes(wsFrame(0x2, true, false, yamux(2, 1, 0, 77, null)));
            write(socket, resetThenPing.toByteArray());
            for (int i = 0; i < 1000; i++) {
                long[] frame;
                try {
                    frame = frames.next();
                } catch (EOFException closed) {
                    server.events.add("closed");
                    return;
                }
                if (frame[0] == 2 && (frame[1] & 2) != 0 && frame[3] == 77) {
                    server.events.add("ping answered");
                }
            }
        }, new Backoff(() -> 0.0, Duration.ZERO, System::nanoTime));

        await().atMost(Duration.ofSeconds(20)).until(() -> server.events.contains("closed"));
        // Before: the client looked for streams left every 50 ms, so it answered the ping, then closed.
        assertThat(server.events).containsExactly("closed");
    }

    /**
     * GoAway with a stream still open, and the new connection taken before the server says why (its close frame comes
     * only as the last stream ends): the token still holds, so the line does not name a regenerated token or a deleted
     * tunnel.
     */
    @Test
    void aNewConnectionTakenBeforeTheServerSaysWhyLeavesTokenAndTunnelOutOfTheGoAwayLine() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                if (goAwayWithAStreamOpen(socket, key, connection) != null) {
                    drainUntilEof(socket);
                }
            }, redialAfter200Ms());

            await().atMost(Duration.ofSeconds(20)).until(() -> log.messages(Level.INFO).stream()
                    .filter(line -> line.startsWith("connected to")).count() == 2);
            // Before: the line came as the client redialled, naming every cause ("it is stopping, or the tunnel's
            // token was regenerated or the tunnel deleted").
            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("GoAway")).singleElement()
                    .asString().contains("ended the previous connection (GoAway) and accepted a new one; 1 open stream(s)"
                            + " finish on the old connection")
                    .doesNotContain("token", "deleted");
        }
    }

    /**
     * GoAway with a stream still open, and the reconnection refused with the 503 a PicoTunnel server answers while it
     * drains for a shutdown (its TunnelHandshakeHandler's): that answer tells the cause, so the GoAway line names it.
     */
    @Test
    void aReconnectionRefusedAsTheServerStopsMakesTheGoAwayLineSayItIsStopping() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            refuseTheReconnectionWith503(log,
                    "{\"error\":\"server_stopping\",\"message\":\"the server is shutting down\"}");

            // Before: "(GoAway: it is stopping, or the tunnel's token was regenerated or the tunnel deleted):
            // reconnecting in 200 ms", written as the reconnection had been refused.
            assertThat(goAwayLine(log)).contains("ended this connection (GoAway: it is stopping, as its answer to the"
                            + " new connection says); 1 open stream(s) finish on the old connection")
                    .doesNotContain("token", "deleted", "reconnecting in");
            // A restart expected: the refusal is no WARN, only a DEBUG line.
            assertThat(log.messages(Level.WARN)).isEmpty();
            assertThat(log.messages(Level.DEBUG)).filteredOn(line -> line.contains("is not back yet")).first()
                    .asString().contains("HTTP 503 Service Unavailable", "the server is shutting down")
                    .doesNotContain("restarting or overloaded");
        }
    }

    /** The server's code, not its words, tells the drain: another message (another version's) is still recognized. */
    @Test
    void aServerStopping503WithAnotherMessageStillMakesTheGoAwayLineSayItIsStopping() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            refuseTheReconnectionWith503(log, "{\"message\":\"draining\", \"error\": \"server_stopping\"}\n");

            // Before: the client matched the whole body, so this one named every cause.
            assertThat(goAwayLine(log)).contains("GoAway: it is stopping, as its answer to the new connection says")
                    .doesNotContain("token", "deleted");
        }
    }

    /** The 503 of a token store that fails is not the drain's: the GoAway line still names every cause. */
    @Test
    void aStoreFailure503KeepsEveryCauseInTheGoAwayLine() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            refuseTheReconnectionWith503(log,
                    "{\"error\":\"unavailable\",\"message\":\"the server cannot check tokens right now\"}");

            assertThat(goAwayLine(log)).contains("GoAway: it is stopping, or the tunnel's token was regenerated or the"
                    + " tunnel deleted").doesNotContain("as its answer to the new connection says");
            assertThat(log.messages(Level.WARN)).filteredOn(line -> line.startsWith("cannot connect")).first()
                    .asString().contains("unavailable for now, shutting down, restarting or overloaded");
        }
    }

    /**
     * GoAway with a stream still open, and nothing listens on the server's port any more (it drains, or its process is
     * gone): the refused reconnection says the server stops, so the line leaves token and tunnel out.
     */
    @Test
    void aReconnectionRefusedAtTheTcpLevelMakesTheGoAwayLineSayTheServerStops() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.DEBUG)) {
            start((socket, key, connection) -> {
                answer101(socket, key);
                ScriptedTunnelServer.ClientFrames frames = openStreamThatStaysOpen(socket);
                frames.awaitFrame(1, 2, 2);
                server.stopListening();
                write(socket, GO_AWAY);
                drainUntilEof(socket);
            }, redialAfter200Ms());
            await().atMost(Duration.ofSeconds(20)).until(() -> log.messages(Level.DEBUG).stream()
                    .anyMatch(line -> line.contains("is not back yet")));

            // Before: "(GoAway: it is stopping, or the tunnel's token was regenerated or the tunnel deleted)".
            // Before also: "(GoAway: the server is stopping or stopped, as the refusal of the new connection says
            // (connection refused))", brackets within brackets.
            assertThat(goAwayLine(log)).contains("ended this connection (GoAway: it is stopping or stopped, as the new"
                            + " connection was refused); 1 open stream(s) finish on the old connection")
                    .doesNotContain("token", "deleted", "reconnecting in", "))");
            assertThat(log.messages(Level.WARN)).isEmpty();
            assertThat(log.messages(Level.DEBUG)).filteredOn(line -> line.contains("is not back yet")).first()
                    .asString().contains("Nothing accepts connections on", "connection refused");
        }
    }

    /**
     * GoAway on an idle connection, then the close frame of an internal error (1011: the server could not check the
     * token again): the line says the fault is the server's, not the token's.
     */
    @Test
    void anInternalErrorCloseAfterGoAwayMakesTheGoAwayLineSaySo() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                answer101(socket, key);
                if (connection == 1) {
                    write(socket, GO_AWAY);
                    write(socket, closeFrame(TunnelCloseStatus.INTERNAL_ERROR));
                }
                drainUntilEof(socket);
            }, redialAfter200Ms());

            await().atMost(Duration.ofSeconds(20)).until(() -> log.messages(Level.INFO).stream()
                    .filter(line -> line.startsWith("connected to")).count() == 2);
            // Before: "(GoAway: it is stopping, or the tunnel's token was regenerated or the tunnel deleted)".
            assertThat(goAwayLine(log)).contains("ended this connection (GoAway, then close status 1011: the server had"
                    + " an internal error; its log says which)").doesNotContain("token", "deleted");
        }
    }

    /**
     * GoAway and close 1011 (the server could not check the token again), then a 401 on the redial: the client stops
     * retrying, as on any 401, and its line names both causes of the 401 (regenerated token, deleted tunnel) and the
     * new token to set: the internal error says nothing of which, so it is not given as the 401's cause.
     */
    @Test
    void a401AfterAnInternalErrorCloseStopsRetryingAndNamesEveryCauseOfThe401() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                if (connection > 1) {
                    refuseWith401(socket);
                    return;
                }
                answer101(socket, key);
                write(socket, GO_AWAY);
                write(socket, closeFrame(TunnelCloseStatus.INTERNAL_ERROR));
                drainUntilEof(socket);
            }, redialAfter200Ms());

            await().atMost(Duration.ofSeconds(20)).until(() -> client.terminated().isDone());
            assertThat(client.state()).isEqualTo(TunnelClient.State.TOKEN_REJECTED);
            assertThat(server.connections()).as("no redial after the 401").isEqualTo(2);
            assertThat(log.messages(Level.ERROR)).singleElement().asString()
                    .contains("ended the connection (close status 1011: the server had an internal error; its log says"
                            + " which) and now rejects the token (HTTP 401): the tunnel's token was regenerated or the"
                            + " tunnel deleted. Set the new token in --token / PICOTUNNEL_TOKEN. Not retrying.");
        }
    }

    /**
     * GoAway on an idle connection and no close frame (an older server), then the redial taken: the line waits for the
     * redial's outcome, as for a connection with streams open, and says the token still holds.
     */
    @Test
    void anIdleConnectionsGoAwayLineWaitsForTheRedialAndSaysItWasTaken() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                answer101(socket, key);
                if (connection == 1) {
                    write(socket, GO_AWAY);
                }
                drainUntilEof(socket);
            }, redialAfter200Ms());

            await().atMost(Duration.ofSeconds(20)).until(() -> log.messages(Level.INFO).stream()
                    .filter(line -> line.startsWith("connected to")).count() == 2);
            // Before: written as the redial began, "(GoAway: it is stopping, or the tunnel's token was regenerated or
            // the tunnel deleted): reconnecting now; 0 open stream(s) finish on the old connection".
            assertThat(goAwayLine(log)).endsWith("ended the previous connection (GoAway) and accepted a new one")
                    .doesNotContain("token", "deleted");
        }
    }

    /**
     * A third GoAway in a row, each on an idle connection before it lasted and closed at once without a close frame:
     * the backoff puts the redial off (2 s here), and the line is written as the old connection closes, saying when
     * the redial comes, not that delay later with the redial's outcome.
     */
    @Test
    void anIdleConnectionsGoAwayLineDoesNotWaitForARedialTheBackoffPutOff() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                answer101(socket, key);
                if (connection <= 3) {
                    write(socket, GO_AWAY);
                    socket.close();
                    return;
                }
                drainUntilEof(socket);
            }, new Backoff(() -> 0.0, Duration.ofMinutes(1), System::nanoTime));

            await().atMost(Duration.ofSeconds(20)).until(() -> log.messages(Level.INFO).stream()
                    .filter(line -> line.startsWith("connected to")).count() == 4);
            List<String> goAwayLines = log.messages(Level.INFO).stream().filter(line -> line.contains("GoAway"))
                    .toList();
            assertThat(goAwayLines).hasSize(3);
            // Before: "ended the previous connection (GoAway) and accepted a new one", 2 s after the close.
            assertThat(goAwayLines.get(2)).contains("ended this connection (GoAway: ")
                    .contains(": reconnecting in ").doesNotContain("accepted a new one");
        }
    }

    /** Answers the upgrade 401, as a server that rejects the token, and reads until EOF. */
    private static void refuseWith401(Socket socket) throws IOException {
        write(socket, ScriptedTunnelServer.TOKEN_REFUSAL);
        drainUntilEof(socket);
    }

    private static String goAwayLine(LogCapture log) {
        List<String> lines = log.messages(Level.INFO).stream().filter(line -> line.contains("GoAway")).toList();
        assertThat(lines).hasSize(1);
        return lines.getFirst();
    }

    /** GoAway with a stream open on the first connection, every reconnection answered 503 with {@code body}. */
    private void refuseTheReconnectionWith503(LogCapture log, String body) {
        start((socket, key, connection) -> {
            if (connection > 1) {
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                write(socket, ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + bytes.length + "\r\nConnection: close\r\nRetry-After: 5\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                write(socket, bytes);
                drainUntilEof(socket);
                return;
            }
            goAwayWithAStreamOpen(socket, key, connection);
            drainUntilEof(socket);
        }, redialAfter200Ms());
        await().atMost(Duration.ofSeconds(20)).until(() -> log.events().stream()
                .anyMatch(event -> event.getFormattedMessage().contains("HTTP 503")));
    }

    /**
     * GoAway with a stream still open, and the close frame saying why comes while the reconnection is under way: the
     * line written then does not name the delay before it, which is over.
     */
    @Test
    void aGoAwayLineWrittenAfterTheReconnectionDelayDoesNotNameTheDelay() {
        try (LogCapture log = new LogCapture(TunnelClient.class, Level.INFO)) {
            start((socket, key, connection) -> {
                if (connection > 1) {
                    await().atMost(Duration.ofSeconds(10)).until(() -> server.events.contains("close frame sent"));
                    answer101(socket, key);
                    drainUntilEof(socket);
                    return;
                }
                goAwayWithAStreamOpen(socket, key, connection);
                await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() > 1);
                write(socket, closeFrame(TunnelCloseStatus.SERVER_STOPPING));
                server.events.add("close frame sent");
                drainUntilEof(socket);
            }, redialAfter200Ms());

            await().atMost(Duration.ofSeconds(20)).until(() -> log.messages(Level.INFO).stream()
                    .filter(line -> line.startsWith("connected to")).count() == 2);
            // Before: "(GoAway, then close status 4000: the server is stopping): reconnecting in 200 ms", with the
            // reconnection under way.
            assertThat(log.messages(Level.INFO)).filteredOn(line -> line.contains("GoAway")).singleElement()
                    .asString().endsWith("(GoAway, then close status 4000: the server is stopping): reconnecting now, then"
                            + " every 1 s for up to 1 min while it restarts");
        }
    }

    /**
     * Answers the upgrade; on a redial reads until EOF and returns null; on the first connection opens stream 2 with
     * one byte of a stream header that never ends (it stays open), waits for the client's ACK, says GoAway, and
     * returns the reader of the client's frames.
     */
    private ScriptedTunnelServer.ClientFrames goAwayWithAStreamOpen(Socket socket, String key, int connection)
            throws IOException {
        answer101(socket, key);
        if (connection > 1) {
            drainUntilEof(socket);
            return null;
        }
        ScriptedTunnelServer.ClientFrames frames = openStreamThatStaysOpen(socket);
        frames.awaitFrame(1, 2, 2);
        write(socket, GO_AWAY);
        return frames;
    }
}
