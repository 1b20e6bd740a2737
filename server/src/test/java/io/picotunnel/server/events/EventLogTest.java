package io.picotunnel.server.events;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.tunnel.ConnectedClient;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The event log on a real SQLite file. */
class EventLogTest {

    @TempDir
    Path dataDir;

    private static void execute(Connection connection, String sql) throws java.sql.SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private static int rows(Store store) {
        return store.database().read(connection -> {
            try (Statement statement = connection.createStatement();
                 java.sql.ResultSet result = statement.executeQuery("SELECT count(*) FROM events")) {
                return result.getInt(1);
            }
        });
    }

    /**
     * Events come faster than they can be written (here: while another program holds the database, as a client that
     * reconnects in a loop can make them): the ones waiting are bounded, the rest dropped and counted in the log,
     * where before they piled up in memory without end.
     */
    @Test
    void eventsRecordedFasterThanTheDatabaseWritesThemWaitInBoundedNumberAndTheDroppedAreCounted() throws Exception {
        int recorded = 2 * EventLog.MAX_WAITING + 100;
        try (Store store = Store.open(dataDir); LogCapture log = new LogCapture(EventLog.class, Level.WARN)) {
            EventLog events = new EventLog(store.database(), Clock.systemUTC());
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + store.database().file())) {
                execute(other, "BEGIN IMMEDIATE");
                for (int i = 0; i < recorded; i++) {
                    events.record(EventLog.CLIENT_CONNECTED, null, null, "event " + i);
                }
                execute(other, "COMMIT");
            }

            await().atMost(Duration.ofMinutes(2)).until(() -> rows(store) >= EventLog.MAX_WAITING + 1);
            events.close();

            // The one being written when the database was locked, and those waiting behind it.
            assertThat(rows(store)).isEqualTo(EventLog.MAX_WAITING + 1);
            assertThat(events.recent(null, 1).getFirst().message()).isEqualTo("event " + EventLog.MAX_WAITING);
            assertThat(log.messages(Level.WARN)).contains(EventLog.MAX_WAITING + " events are waiting to be written (the"
                    + " database is slow or locked): new events are dropped until it catches up",
                    (recorded - EventLog.MAX_WAITING - 1) + " event(s) were dropped while the database was behind");
        }
    }

    /**
     * A flapping tunnel records events without end: beyond {@code PICOTUNNEL_MAX_EVENTS} the oldest are deleted as new
     * ones are written, where before the table grew without bound (within the retention).
     */
    @Test
    void theOldestEventsBeyondTheCapAreDeletedAsNewOnesAreWritten() {
        try (Store store = Store.open(dataDir)) {
            try (EventLog events = new EventLog(store.database(), Clock.systemUTC(), 100)) {
                for (int i = 0; i < 250; i++) {
                    events.record(EventLog.TUNNEL_DOWN, "t1", null, "event " + i);
                }
                events.flush();

                assertThat(rows(store)).isEqualTo(100);
                List<Event> kept = events.recent(null, 1000);
                assertThat(kept.getFirst().message()).isEqualTo("event 249");
                assertThat(kept.getLast().message()).isEqualTo("event 150");
            }
            // A lower cap at the next start: the next event written leaves that many.
            try (EventLog events = new EventLog(store.database(), Clock.systemUTC(), 10)) {
                events.record(EventLog.TUNNEL_UP, "t1", null, "event 250");
                events.flush();

                assertThat(rows(store)).isEqualTo(10);
                assertThat(events.recent(null, 1000).getLast().message()).isEqualTo("event 241");
            }
        }
    }

    /** The tunnel's page reads a client's version and host name out of its events with this expression. */
    private static final Path UI_PARSER = Path.of("").toAbsolutePath().getParent()
            .resolve("web/src/components/MonitoringPanel.tsx");

    /** CLIENT_SAYS of {@link #UI_PARSER}, a JavaScript regular expression with the flag s, as Java reads it. */
    static Pattern clientSays() throws IOException {
        Matcher declared = Pattern.compile("^const CLIENT_SAYS = /(.+)/([a-z]*);$", Pattern.MULTILINE)
                .matcher(Files.readString(UI_PARSER));
        assertThat(declared.find()).as("const CLIENT_SAYS = /.../s; in %s", UI_PARSER).isTrue();
        assertThat(declared.group(2)).as("the flags of CLIENT_SAYS").isEqualTo("s");
        return Pattern.compile(declared.group(1), Pattern.DOTALL);
    }

    static void assertSays(Pattern clientSays, String message, String version, String host) {
        Matcher says = clientSays.matcher(message);
        assertThat(says.matches()).as("the tunnel's page parses '%s'", message).isTrue();
        assertThat(says.group(2)).as("the version in '%s'", message).isEqualTo(version);
        assertThat(says.group(4)).as("the host in '%s'", message).isEqualTo(host);
    }

    /**
     * The tunnel's page isolates what a client says of itself (its version and host name, which may be right to
     * left) by finding them in these messages with {@code CLIENT_SAYS} in web/src/components/MonitoringPanel.tsx:
     * reworded on one side only, the page would show them bare again, with no test of its own failing.
     */
    @Test
    void aClientsEventsSayItsVersionAndHostWhereTheTunnelPageLooksForThem() throws IOException {
        ConnectedClient client = new ConnectedClient("0a1b", "127.0.0.1:5123", "גרסה 2", "שרת הבית", Instant.EPOCH);
        ConnectedClient silent = new ConnectedClient("0c2d", "[::1]:5124", null, null, Instant.EPOCH);
        try (Store store = Store.open(dataDir); EventLog events = new EventLog(store.database(), Clock.systemUTC())) {
            events.clientConnected("t1", client);
            events.clientLeft("t1", client);
            events.clientConnected("t1", silent);
            events.flush();

            List<String> messages = events.recent("t1", 10).stream().map(Event::message).toList();
            assertThat(messages).containsExactly(
                    "Client 0c2d connected from [::1]:5124 (version unknown, host unknown)",
                    "Client 0a1b from 127.0.0.1:5123 (version גרסה 2) left",
                    "Client 0a1b connected from 127.0.0.1:5123 (version גרסה 2, host שרת הבית)");
            Pattern clientSays = clientSays();
            assertSays(clientSays, messages.get(0), "unknown", "unknown");
            assertSays(clientSays, messages.get(1), "גרסה 2", null);
            assertSays(clientSays, messages.get(2), "גרסה 2", "שרת הבית");
        }
    }

    /**
     * A client's events carry what it said of itself in their own fields: found in the message, a version such as
     * "1.0, host forged" read as the host "forged". Rows recorded before the fields were kept have none, and the
     * tunnel's page then reads the message as before.
     */
    @Test
    void aClientsEventsKeepItsVersionAndHostInFieldsAndOlderRowsHaveNone() throws IOException {
        ConnectedClient client = new ConnectedClient("0a1b", "127.0.0.1:5123", "1.0, host forged", "real", Instant.EPOCH);
        ConnectedClient silent = new ConnectedClient("0c2d", "[::1]:5124", null, null, Instant.EPOCH);
        try (Store store = Store.open(dataDir); EventLog events = new EventLog(store.database(), Clock.systemUTC())) {
            store.database().inTransaction(connection -> {
                execute(connection, "INSERT INTO events (tunnel_id, type, message, created_at) VALUES ('t1',"
                        + " 'client_connected', 'Client 09ff connected from 127.0.0.1:5000 (version 0.9, host old)', 0)");
                return null;
            });
            events.clientConnected("t1", client);
            events.clientLeft("t1", silent);
            events.record(EventLog.TOKEN_REGENERATED, "t1", null, "The token was regenerated");
            events.flush();

            assertThat(events.recent("t1", 10)).extracting(Event::client).containsExactly(null,
                    new Event.Client("0c2d", "[::1]:5124", null, null),
                    new Event.Client("0a1b", "127.0.0.1:5123", "1.0, host forged", "real"), null);
            assertSays(clientSays(), events.recent("t1", 10).get(2).message(), "1.0", "forged, host real");
        }
    }
}
