package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Database;
import io.picotunnel.server.store.Service;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The traffic counters of every tunnel and service, kept across restarts: loaded from the {@code traffic} table
 * at start, written back every {@link #FLUSH_EVERY} and when the server stops (not per byte). Counters of a deleted
 * tunnel or service go with it (foreign keys).
 */
public final class Traffic implements AutoCloseable {

    public static final Duration FLUSH_EVERY = Duration.ofSeconds(10);
    private static final Logger log = LoggerFactory.getLogger(Traffic.class);

    private final Database database;
    private final Map<String, TrafficCounters> tunnels = new ConcurrentHashMap<>();
    private final Map<String, TrafficCounters> services = new ConcurrentHashMap<>();
    private final Map<String, Service> serviceOf = new ConcurrentHashMap<>();
    /** Stored values by id ("t:" or "s:" prefix), added to the counters as they are created. */
    private final Map<String, long[]> stored = new HashMap<>();
    private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "picotunnel-traffic");
        thread.setDaemon(true);
        return thread;
    });

    private volatile Metrics metrics;

    public Traffic(Database database) {
        this.database = database;
        load();
        long every = FLUSH_EVERY.toMillis();
        flusher.scheduleWithFixedDelay(this::flushQuietly, every, every, TimeUnit.MILLISECONDS);
    }

    /** Registers the meters of every counter, now and as they are created. */
    public synchronized void exportTo(Metrics target) {
        this.metrics = target;
        tunnels.forEach(target::tunnelCounters);
        for (Map.Entry<String, Service> entry : serviceOf.entrySet()) {
            target.serviceCounters(entry.getValue(), services.get(entry.getKey()));
        }
    }

    public TrafficCounters tunnel(String tunnelId) {
        TrafficCounters existing = tunnels.get(tunnelId);
        return existing != null ? existing : create(tunnelId, null);
    }

    /**
     * The counters of {@code service} (as it is now: a service switched between terminating TLS and passing it
     * through keeps its counters, and its metrics follow the switch).
     */
    public TrafficCounters service(Service service) {
        TrafficCounters existing = services.get(service.id());
        if (existing == null) {
            return create(service.tunnelId(), service);
        }
        Service known = serviceOf.get(service.id());
        if (known != null && known.answersRequests() != service.answersRequests()) {
            switched(service, existing);
        }
        return existing;
    }

    private synchronized void switched(Service service, TrafficCounters counters) {
        Service known = serviceOf.get(service.id());
        if (known == null || known.answersRequests() == service.answersRequests()) {
            return; // another thread saw the switch first
        }
        serviceOf.put(service.id(), service);
        if (metrics != null) {
            metrics.serviceSwitched(service, counters);
        }
    }

    private synchronized TrafficCounters create(String tunnelId, Service service) {
        TrafficCounters tunnel = tunnels.get(tunnelId);
        if (tunnel == null) {
            tunnel = restored("t:" + tunnelId, new TrafficCounters(null));
            tunnels.put(tunnelId, tunnel);
            if (metrics != null) {
                metrics.tunnelCounters(tunnelId, tunnel);
            }
        }
        if (service == null) {
            return tunnel;
        }
        TrafficCounters counters = services.get(service.id());
        if (counters == null) {
            counters = restored("s:" + service.id(), new TrafficCounters(tunnel));
            services.put(service.id(), counters);
            serviceOf.put(service.id(), service);
            if (metrics != null) {
                metrics.serviceCounters(service, counters);
            }
        }
        return counters;
    }

    private TrafficCounters restored(String key, TrafficCounters counters) {
        long[] values;
        synchronized (stored) {
            values = stored.remove(key);
        }
        if (values != null) {
            counters.bytesIn.add(values[0]);
            counters.bytesOut.add(values[1]);
            counters.totalConnections.add(values[2]);
            for (int i = 0; i < 5; i++) {
                counters.responses[i].add(values[3 + i]);
            }
        }
        return counters;
    }

    private void load() {
        database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement("SELECT tunnel_id, service_id, bytes_in, bytes_out,"
                    + " total_connections, responses_1xx, responses_2xx, responses_3xx, responses_4xx, responses_5xx FROM traffic");
                 ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    String serviceId = rows.getString("service_id");
                    String key = serviceId == null ? "t:" + rows.getString("tunnel_id") : "s:" + serviceId;
                    long[] values = new long[8];
                    for (int i = 0; i < 8; i++) {
                        values[i] = rows.getLong(3 + i);
                    }
                    stored.put(key, values);
                }
            }
            return null;
        });
    }

    /** Writes every counter to the database. */
    public void flush() {
        Map<String, TrafficCounters> tunnelSnapshot = Map.copyOf(tunnels);
        Map<String, TrafficCounters> serviceSnapshot = Map.copyOf(services);
        Map<String, String> tunnelOfService = new HashMap<>();
        database.inTransaction(connection -> {
            try (PreparedStatement owners = connection.prepareStatement("SELECT id, tunnel_id FROM services");
                 ResultSet rows = owners.executeQuery()) {
                while (rows.next()) {
                    tunnelOfService.put(rows.getString("id"), rows.getString("tunnel_id"));
                }
            }
            try (PreparedStatement upsert = connection.prepareStatement("INSERT INTO traffic (subject_id, tunnel_id,"
                    + " service_id, bytes_in, bytes_out, total_connections, responses_1xx, responses_2xx, responses_3xx,"
                    + " responses_4xx, responses_5xx) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
                    + " WHERE EXISTS (SELECT 1 FROM tunnels WHERE id = ?)"
                    + " ON CONFLICT (subject_id) DO UPDATE SET bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,"
                    + " total_connections = excluded.total_connections, responses_1xx = excluded.responses_1xx,"
                    + " responses_2xx = excluded.responses_2xx, responses_3xx = excluded.responses_3xx,"
                    + " responses_4xx = excluded.responses_4xx, responses_5xx = excluded.responses_5xx")) {
                for (Map.Entry<String, TrafficCounters> tunnel : tunnelSnapshot.entrySet()) {
                    bind(upsert, "t:" + tunnel.getKey(), tunnel.getKey(), null, tunnel.getValue());
                    upsert.addBatch();
                }
                for (Map.Entry<String, TrafficCounters> service : serviceSnapshot.entrySet()) {
                    String tunnelId = tunnelOfService.get(service.getKey());
                    if (tunnelId != null) {
                        bind(upsert, "s:" + service.getKey(), tunnelId, service.getKey(), service.getValue());
                        upsert.addBatch();
                    }
                }
                upsert.executeBatch();
            }
            return null;
        });
    }

    private static void bind(PreparedStatement upsert, String key, String tunnelId, String serviceId, TrafficCounters counters)
            throws java.sql.SQLException {
        upsert.setString(1, key);
        upsert.setString(2, tunnelId);
        upsert.setString(3, serviceId);
        upsert.setLong(4, counters.bytesIn());
        upsert.setLong(5, counters.bytesOut());
        upsert.setLong(6, counters.totalConnections());
        for (int i = 1; i <= 5; i++) {
            upsert.setLong(6 + i, counters.responses(i));
        }
        upsert.setString(12, tunnelId);
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (RuntimeException e) {
            log.warn("Could not save the traffic figures: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        flusher.shutdownNow();
        flushQuietly();
    }
}
