package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.store.Database;
import io.picotunnel.server.store.Rfc3339;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The public status page's data ({@code GET /api/status}, no sign-in): the tunnels whose {@code public_status} is
 * on (column {@code tunnels.public_status}), each with its state, uptime and last checks, and its enabled
 * services' public names with their state and uptime. Nothing else: no ids, tokens, target or client addresses,
 * and no check errors (they may name internal hosts). The body is computed at most once per {@link #CACHED_FOR}, so
 * callers without sign-in cannot make the server run the statistics queries for every request; switching a
 * tunnel's {@code public_status} shows at once.
 */
final class PublicStatus {

    /** How many checks of a tunnel the page gets for its heartbeat bars. */
    static final int HEARTBEATS = 50;
    static final Duration CACHED_FOR = Duration.ofSeconds(5);
    private static final List<String> FIGURES = List.of("status", "since", "uptime_24h", "uptime_7d", "uptime_30d");

    private record Cached(String body, Instant at) {
    }

    private record Named(String id, String name) {
    }

    private final Database database;
    private final Store store;
    private final CheckStore checks;
    private final Stats stats;
    private final Clock clock;
    private Cached cached;

    PublicStatus(Store store, CheckStore checks, Stats stats, Clock clock) {
        this.database = store.database();
        this.store = store;
        this.checks = checks;
        this.stats = stats;
        this.clock = clock;
    }

    boolean isPublic(String tunnelId) {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement("SELECT public_status FROM tunnels WHERE id = ?")) {
                select.setString(1, tunnelId);
                try (ResultSet row = select.executeQuery()) {
                    return row.next() && row.getInt(1) != 0;
                }
            }
        });
    }

    void setPublic(String tunnelId, boolean shown) {
        database.inTransaction(connection -> {
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE tunnels SET public_status = ? WHERE id = ?")) {
                update.setInt(1, shown ? 1 : 0);
                update.setString(2, tunnelId);
                return update.executeUpdate();
            }
        });
        forget();
    }

    private synchronized void forget() {
        cached = null;
    }

    /**
     * The body of {@code GET /api/status}, computed anew when the last one is {@link #CACHED_FOR} old, or when the
     * clock was set back past the time it was computed (else it would be kept until the clock caught up again).
     */
    synchronized String body() {
        Instant now = clock.instant();
        if (cached == null || now.isBefore(cached.at()) || !now.isBefore(cached.at().plus(CACHED_FOR))) {
            cached = new Cached(json().toString(), now);
        }
        return cached.body();
    }

    private List<Named> publicTunnels() {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement(
                    "SELECT id, name FROM tunnels WHERE public_status <> 0 ORDER BY name, created_at")) {
                List<Named> tunnels = new ArrayList<>();
                try (ResultSet rows = select.executeQuery()) {
                    while (rows.next()) {
                        tunnels.add(new Named(rows.getString("id"), rows.getString("name")));
                    }
                }
                return tunnels;
            }
        });
    }

    /** The body of {@code GET /api/status}: one object per public tunnel, by name; empty when none is public. */
    ArrayNode json() {
        ArrayNode array = JsonNodeFactory.instance.arrayNode();
        for (Named tunnel : publicTunnels()) {
            ObjectNode json = array.addObject();
            json.put("name", tunnel.name());
            figures(Subject.tunnel(tunnel.id()), json);
            ArrayNode heartbeats = json.putArray("heartbeats");
            for (Check check : checks.recent(Subject.tunnel(tunnel.id()), HEARTBEATS)) {
                ObjectNode beat = heartbeats.addObject();
                beat.put("status", check.status().json());
                beat.put("time", Rfc3339.format(check.createdAt()));
                beat.put("latency_ms", check.latencyMs());
            }
            ArrayNode services = json.putArray("services");
            for (Service service : store.services(tunnel.id())) {
                if (!service.enabled()) {
                    continue;
                }
                ObjectNode entry = services.addObject();
                entry.put("name", publicName(service));
                entry.put("type", service.type().json());
                if (checks.settings(service.id()).enabled()) {
                    figures(new Subject(tunnel.id(), service.id()), entry);
                } else {
                    // Its probe is off: the last check before, kept for 90 days, is no state of it now.
                    FIGURES.forEach(entry::putNull);
                }
            }
        }
        return array;
    }

    /** {@code status}, {@code since} and the three uptimes, copied from the full statistics. */
    private void figures(Subject subject, ObjectNode into) {
        ObjectNode all = stats.of(subject);
        for (String field : FIGURES) {
            JsonNode value = all.get(field);
            into.set(field, value == null ? JsonNodeFactory.instance.nullNode() : value);
        }
    }

    /** What visitors know a service by: its domain (and path), or "port N" for tcp, never its target. */
    static String publicName(Service service) {
        if (service.type() == ServiceType.HTTP) {
            String prefix = service.pathPrefix();
            return service.domain() + (prefix == null || prefix.equals("/") ? "" : prefix);
        }
        try {
            return "port " + HostPort.parse(service.listenAddr(), HostPort.Rules.SERVICE_LISTEN).port();
        } catch (IllegalArgumentException e) {
            return "tcp service";
        }
    }
}
