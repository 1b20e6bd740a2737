package io.picotunnel.server.events;

import ch.qos.logback.classic.Level;
import io.picotunnel.server.store.Store;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

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
}
