package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Database;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceListener;
import io.picotunnel.server.store.Store;
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
 *
 * <p>It follows the services as a {@link ServiceListener}, told of every one at start and of every change when it is
 * saved: a service's counters and meters are made when it is, switch with it between terminating TLS and passing it
 * through, and go when it is deleted. The proxies then only look its counters up. A tunnel's are made with its first
 * service, or when the API first shows it, and go when the API has deleted it ({@link #tunnelDeleted}).
 *
 * <p>Told of a delete inside the transaction that makes it, this sets the service's counters aside and its meters
 * stay: the store may still undo the delete (another listener refuses it, the commit fails), and the service is then
 * told as created again and takes them back, with the values they had. The meters go once the delete is stored: when
 * the API has deleted it ({@link #serviceDeleted}, {@link #tunnelDeleted}), or at the next {@link #flush}.
 */
public final class Traffic implements ServiceListener, AutoCloseable {

    public static final Duration FLUSH_EVERY = Duration.ofSeconds(10);
    private static final Logger log = LoggerFactory.getLogger(Traffic.class);

    private final Store store;
    private final Database database;
    private final Map<String, TrafficCounters> tunnels = new ConcurrentHashMap<>();
    private final Map<String, TrafficCounters> services = new ConcurrentHashMap<>();
    /** The service each of {@link #services} counts for, as last told (its meters are those of what it does). */
    private final Map<String, Service> serviceOf = new ConcurrentHashMap<>();
    /**
     * Counters of services deleted since the last {@link #flush}: a delete that is then not stored (the listeners are
     * told the reverse) gets them back; the flush drops those the database no longer has.
     */
    private final Map<String, TrafficCounters> deleted = new ConcurrentHashMap<>();
    /** Stored values by id ("t:" or "s:" prefix), added to the counters as they are created. */
    private final Map<String, long[]> stored = new HashMap<>();
    private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "picotunnel-traffic");
        thread.setDaemon(true);
        return thread;
    });

    private volatile Metrics metrics;

    public Traffic(Store store) {
        this.store = store;
        this.database = store.database();
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

    /**
     * The counters of a tunnel, made (with their meters) the first time for a tunnel that is stored. One that is not (a
     * read that raced its delete) gets counters of its own that are not kept: they would stay until the restart.
     */
    public TrafficCounters tunnel(String tunnelId) {
        TrafficCounters existing = tunnels.get(tunnelId);
        return existing != null ? existing : storedTunnelCounters(tunnelId);
    }

    /**
     * Under the lock {@link #tunnelDeleted} takes, after the delete is stored: made before the delete, the counters
     * go with it; looked up after, the tunnel is not stored any more.
     */
    private synchronized TrafficCounters storedTunnelCounters(String tunnelId) {
        TrafficCounters existing = tunnels.get(tunnelId);
        if (existing != null) {
            return existing;
        }
        return store.tunnel(tunnelId).isPresent() ? tunnelCounters(tunnelId) : new TrafficCounters(null);
    }

    /**
     * A tunnel was deleted (and stored so; its services were told as deleted one by one): its counters and every
     * series of it in the metrics go at once.
     */
    public synchronized void tunnelDeleted(String tunnelId) {
        tunnels.remove(tunnelId);
        synchronized (stored) {
            stored.remove("t:" + tunnelId);
        }
        if (metrics != null) {
            metrics.tunnelRemoved(tunnelId);
        }
    }

    /** A service was deleted (and stored so): its meters go at once. */
    public void serviceDeleted(String serviceId) {
        if (metrics != null) {
            metrics.serviceRemoved(serviceId);
        }
    }

    /**
     * The counters of {@code service}, looked up on every request and connection. Those of a service deleted since the
     * last flush are its kept-aside counters: a request under way counts there, and a listener undoing the delete
     * before this is told of the undo (the store undoes the newest first) gets the counters this then takes back. A
     * service this was never told of gets counters that add to its tunnel's but are not kept.
     */
    public TrafficCounters service(Service service) {
        TrafficCounters counters = services.get(service.id());
        if (counters == null) {
            counters = deleted.get(service.id());
        }
        return counters != null ? counters : new TrafficCounters(tunnels.get(service.tunnelId()));
    }

    /**
     * A service is stored, changed or deleted: its counters are made, its meters follow a switch between terminating
     * TLS and passing it through ({@link Service#answersRequests}), or both go with it.
     */
    @Override
    public synchronized void onServiceChange(Service before, Service after) {
        if (after == null) {
            forget(before);
            return;
        }
        TrafficCounters counters = services.get(after.id());
        if (counters == null) {
            create(after);
            return;
        }
        Service known = serviceOf.put(after.id(), after);
        if (known.answersRequests() != after.answersRequests() && metrics != null) {
            metrics.serviceSwitched(after, counters);
        }
    }

    private void forget(Service service) {
        TrafficCounters counters = services.get(service.id());
        if (counters == null) {
            return;
        }
        // Set aside before removed, so that a lookup in between (service() reads both maps) finds them.
        deleted.put(service.id(), counters);
        services.remove(service.id());
        Service known = serviceOf.remove(service.id());
        if (metrics != null) {
            metrics.serviceDeleting(known);
        }
    }

    /** The counters of a tunnel known to be stored, made (with their meters) the first time. */
    private synchronized TrafficCounters tunnelCounters(String tunnelId) {
        TrafficCounters tunnel = tunnels.get(tunnelId);
        if (tunnel == null) {
            tunnel = restored("t:" + tunnelId, new TrafficCounters(null));
            tunnels.put(tunnelId, tunnel);
            if (metrics != null) {
                metrics.tunnelCounters(tunnelId, tunnel);
            }
        }
        return tunnel;
    }

    /** Makes the counters of a service this is told of, or takes back those of its delete that was undone. */
    private void create(Service service) {
        TrafficCounters counters = deleted.get(service.id());
        if (counters == null) {
            counters = restored("s:" + service.id(), new TrafficCounters(tunnelCounters(service.tunnelId())));
        }
        services.put(service.id(), counters);
        deleted.remove(service.id()); // after the put: a lookup in between finds them in one map or the other
        serviceOf.put(service.id(), service);
        if (metrics != null) {
            metrics.serviceCounters(service, counters);
        }
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
            // Under the write lock, as every service change is: a service the database does not have was deleted for good
            // (its meters go here if no API request took them: a create undone, a delete made otherwise).
            for (String id : deleted.keySet()) {
                if (!tunnelOfService.containsKey(id)) {
                    deleted.remove(id);
                    serviceDeleted(id);
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
