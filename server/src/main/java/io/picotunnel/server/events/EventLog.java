package io.picotunnel.server.events;

import io.picotunnel.server.store.Database;
import io.picotunnel.server.tunnel.ClientListener;
import io.picotunnel.server.tunnel.ConnectedClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What happened, newest first, in the {@code events} table: clients connecting and leaving, services that could
 * not listen, certificates issued or failed, checks changing state, tokens regenerated. {@link #record} never blocks
 * its caller (often an event loop): rows are written by a thread of this log, in the order they were recorded. Besides
 * pruning by age ({@link #prune}), the log keeps at most {@code maxEvents} rows ({@code PICOTUNNEL_MAX_EVENTS}): each
 * write deletes the oldest beyond.
 */
public final class EventLog implements ClientListener, AutoCloseable {

    public static final String CLIENT_CONNECTED = "client_connected";
    public static final String CLIENT_LEFT = "client_left";
    public static final String SERVICE_LISTEN_FAILED = "service_listen_failed";
    public static final String CERTIFICATE_ISSUED = "certificate_issued";
    public static final String CERTIFICATE_FAILED = "certificate_failed";
    public static final String TUNNEL_UP = "tunnel_up";
    public static final String TUNNEL_DOWN = "tunnel_down";
    public static final String SERVICE_UP = "service_up";
    public static final String SERVICE_DOWN = "service_down";
    public static final String TOKEN_REGENERATED = "token_regenerated";

    /** The most events kept unless set otherwise ({@code PICOTUNNEL_MAX_EVENTS}). */
    public static final int DEFAULT_MAX_EVENTS = 100_000;

    private static final Logger log = LoggerFactory.getLogger(EventLog.class);

    /**
     * Most events waiting to be written. Each is written in a transaction of its own, synced to the disk, and waits up
     * to the busy timeout while another program holds the database: a client that reconnects in a loop (two events a
     * time) could record faster than that, and without a bound the waiting events grew until the heap was full.
     * Beyond it new events are dropped, and the log says how many.
     */
    static final int MAX_WAITING = 10_000;

    private final Database database;
    private final Clock clock;
    /** Most rows kept: each write deletes those more than this many ids behind it (a flapping tunnel grew it for ever). */
    private final int maxEvents;
    private final ExecutorService writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(MAX_WAITING), runnable -> {
                Thread thread = new Thread(runnable, "picotunnel-events");
                thread.setDaemon(true);
                return thread;
            });
    /** Events dropped since the last one written. */
    private final AtomicLong dropped = new AtomicLong();

    public EventLog(Database database, Clock clock) {
        this(database, clock, DEFAULT_MAX_EVENTS);
    }

    /** A log that keeps the newest {@code maxEvents} events, deleting the oldest beyond. */
    public EventLog(Database database, Clock clock, int maxEvents) {
        if (maxEvents < 1) {
            throw new IllegalArgumentException("maxEvents must be at least 1");
        }
        this.database = database;
        this.clock = clock;
        this.maxEvents = maxEvents;
    }

    /** Records an event now; written soon after, on this log's own thread. */
    public void record(String type, String tunnelId, String serviceId, String message) {
        record(type, tunnelId, serviceId, message, null);
    }

    private void record(String type, String tunnelId, String serviceId, String message, Event.Client client) {
        Instant at = clock.instant();
        try {
            writer.execute(() -> write(type, tunnelId, serviceId, message, client, at));
        } catch (RejectedExecutionException refused) {
            if (writer.isShutdown()) {
                log.debug("event {} after the log was closed: {}", type, message);
            } else if (dropped.getAndIncrement() == 0) {
                log.warn("{} events are waiting to be written (the database is slow or locked): new events are dropped"
                        + " until it catches up", MAX_WAITING);
            }
        }
    }

    private void write(String type, String tunnelId, String serviceId, String message, Event.Client client,
                       Instant at) {
        try {
            database.inTransaction(connection -> {
                try (PreparedStatement insert = connection.prepareStatement(
                        "INSERT INTO events (tunnel_id, service_id, type, message, created_at, client_id, client_addr,"
                                + " client_version, client_hostname) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")) {
                    insert.setString(1, tunnelId);
                    insert.setString(2, serviceId);
                    insert.setString(3, type);
                    insert.setString(4, message);
                    insert.setLong(5, at.toEpochMilli());
                    insert.setString(6, client == null ? null : client.id());
                    insert.setString(7, client == null ? null : client.remoteAddr());
                    insert.setString(8, client == null ? null : client.version());
                    insert.setString(9, client == null ? null : client.hostname());
                    long id;
                    try (ResultSet row = insert.executeQuery()) {
                        row.next();
                        id = row.getLong(1);
                    }
                    // Ids only grow (AUTOINCREMENT): at most maxEvents rows have an id above this one's less maxEvents.
                    try (PreparedStatement delete = connection.prepareStatement("DELETE FROM events WHERE id <= ?")) {
                        delete.setLong(1, id - maxEvents);
                        delete.executeUpdate();
                    }
                }
                return null;
            });
        } catch (RuntimeException e) {
            log.warn("Could not record the event '{}': {}", message, e.getMessage());
            return;
        }
        long lost = dropped.getAndSet(0);
        if (lost > 0) {
            log.warn("{} event(s) were dropped while the database was behind", lost);
        }
    }

    /**
     * The newest {@code limit} events, of one tunnel when {@code tunnelId} is not null: the last recorded first, by id
     * (written in the order they were recorded), not by created_at, the clock's time: a clock set back (NTP, a VM
     * resumed) would list a new event after older ones, or leave it out of the {@code limit} newest altogether.
     */
    public List<Event> recent(String tunnelId, int limit) {
        return database.read(connection -> {
            String sql = "SELECT id, tunnel_id, service_id, type, message, created_at, client_id, client_addr,"
                    + " client_version, client_hostname FROM events"
                    + (tunnelId == null ? "" : " WHERE tunnel_id = ?") + " ORDER BY id DESC LIMIT ?";
            try (PreparedStatement select = connection.prepareStatement(sql)) {
                int index = 1;
                if (tunnelId != null) {
                    select.setString(index++, tunnelId);
                }
                select.setInt(index, limit);
                List<Event> events = new ArrayList<>();
                try (ResultSet rows = select.executeQuery()) {
                    while (rows.next()) {
                        String clientId = rows.getString("client_id");
                        Event.Client client = clientId == null ? null : new Event.Client(clientId,
                                rows.getString("client_addr"), rows.getString("client_version"),
                                rows.getString("client_hostname"));
                        events.add(new Event(rows.getLong("id"), rows.getString("tunnel_id"), rows.getString("service_id"),
                                rows.getString("type"), rows.getString("message"),
                                Instant.ofEpochMilli(rows.getLong("created_at")), client));
                    }
                }
                return events;
            }
        });
    }

    /** Deletes the events older than {@code before}; returns how many. */
    public int prune(Instant before) {
        return database.inTransaction(connection -> {
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM events WHERE created_at < ?")) {
                delete.setLong(1, before.toEpochMilli());
                return delete.executeUpdate();
            }
        });
    }

    /** Waits (a moment at most) until the events recorded so far are written. */
    public void flush() {
        try {
            writer.submit(() -> null).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.debug("events not flushed: {}", e.getMessage());
        }
    }

    // The tunnel's page reads the client from the event's own fields, and finds the version and host in these
    // messages only for events recorded before the server kept them (CLIENT_SAYS in
    // web/src/components/MonitoringPanel.tsx); EventLogTest holds the two wordings together.
    @Override
    public void clientConnected(String tunnelId, ConnectedClient client) {
        record(CLIENT_CONNECTED, tunnelId, null, "Client " + client.id() + " connected from " + client.remoteAddr()
                + " (version " + client.versionOrUnknown() + ", host " + client.hostnameOrUnknown() + ")",
                said(client));
    }

    @Override
    public void clientLeft(String tunnelId, ConnectedClient client) {
        record(CLIENT_LEFT, tunnelId, null, "Client " + client.id() + " from " + client.remoteAddr()
                + " (version " + client.versionOrUnknown() + ") left", said(client));
    }

    private static Event.Client said(ConnectedClient client) {
        return new Event.Client(client.id(), client.remoteAddr(), client.version(), client.hostname());
    }

    @Override
    public void close() {
        writer.shutdown();
        try {
            if (!writer.awaitTermination(5, TimeUnit.SECONDS)) {
                writer.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
