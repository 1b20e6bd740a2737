package io.picotunnel.server.monitor;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.picotunnel.protocol.text.ControlCharacters;
import io.picotunnel.server.api.ApiError;
import io.picotunnel.server.api.ApiHooks;
import io.picotunnel.server.api.ApiServer;
import io.picotunnel.server.api.HiddenCharacters;
import io.picotunnel.server.api.StreamedJson;
import io.picotunnel.server.events.Event;
import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.net.ApiErrorCodes;
import io.picotunnel.server.store.Rfc3339;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.store.Tunnel;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The monitoring part of the API: {@code GET /api/tunnels/:id/checks}, {@code /stats} and {@code /events},
 * {@code GET /api/events}, the public {@code GET /api/status}, the tunnels' {@code public_status} and the services'
 * {@code health_check} and {@code health_path} fields.
 */
public final class MonitorApi implements ApiHooks {

    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;
    /** {@code GET /api/checks} answers for every tunnel at once: fewer per tunnel, so 1,000 tunnels stay one answer. */
    static final int DEFAULT_LIMIT_EACH = 30;
    static final int MAX_LIMIT_EACH = 100;
    private static final int MAX_HEALTH_PATH = 1024;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Store store;
    private final CheckStore checks;
    private final EventLog events;
    private final Stats stats;
    private final Traffic traffic;
    private final Metrics metrics;
    private final boolean metricsPublic;
    private final PublicStatus publicStatus;

    public MonitorApi(Store store, CheckStore checks, EventLog events, Traffic traffic, Metrics metrics,
                      boolean metricsPublic, Clock clock) {
        this.metrics = metrics;
        this.metricsPublic = metricsPublic;
        this.store = store;
        this.checks = checks;
        this.events = events;
        this.traffic = traffic;
        this.stats = new Stats(checks, clock);
        this.publicStatus = new PublicStatus(store, checks, stats, clock);
    }

    @Override
    public void routes(JavalinConfig config) {
        ApiServer.getAndHead(config, "/api/tunnels/{id}/checks", this::checks);
        ApiServer.getAndHead(config, "/api/checks", this::checksOfEachTunnel);
        ApiServer.getAndHead(config, "/api/tunnels/{id}/stats", this::stats);
        ApiServer.getAndHead(config, "/api/tunnels/{id}/events", this::tunnelEvents);
        ApiServer.getAndHead(config, "/api/events", this::events);
        ApiServer.getAndHead(config, "/api/status", ctx -> ctx.status(200).contentType("application/json")
                .result(publicStatus.body()));
        ApiServer.getAndHead(config, "/metrics", ctx -> ctx.status(200).contentType("text/plain; version=0.0.4; charset=utf-8")
                .result(metrics.scrape()));
    }

    @Override
    public List<String> guardedPaths() {
        return metricsPublic ? List.of() : List.of("/metrics");
    }

    @Override
    public List<String> publicPaths() {
        return List.of("/api/status");
    }

    private void checks(Context ctx) {
        Tunnel tunnel = tunnel(ctx);
        int limit = limit(ctx);
        String serviceId = ctx.queryParam("service_id");
        if (serviceId != null && !serviceId.isEmpty()) {
            boolean own = store.service(serviceId).map(service -> service.tunnelId().equals(tunnel.id())).orElse(false);
            if (!own) {
                throw new ApiError(404, ApiErrorCodes.NOT_FOUND, "tunnel '" + tunnel.id() + "' has no service with id "
                        + ControlCharacters.quoted(serviceId), null);
            }
        } else {
            serviceId = null;
        }
        ArrayNode array = MAPPER.createArrayNode();
        for (Check check : checks.recent(new Subject(tunnel.id(), serviceId), limit)) {
            array.add(check(check));
        }
        json(ctx, array);
    }

    /**
     * {@code GET /api/checks?limit=N}: the newest N own checks of every tunnel (1 to {@link #MAX_LIMIT_EACH}, default
     * {@link #DEFAULT_LIMIT_EACH}), tunnel by tunnel in the order they were created: a dashboard's heartbeats in one
     * request instead of one per tunnel. Up to 100,000 checks (1,000 tunnels of 100), so the answer is streamed as
     * the checks are read, a batch of tunnels at a time, not built whole in memory first. A read that fails is the
     * usual JSON error while nothing was sent yet, and cuts the answer short (no closing bracket, no end of its HTTP
     * body) once part of it was: see {@link StreamedJson}.
     */
    private void checksOfEachTunnel(Context ctx) throws IOException {
        int limit = limit(ctx, DEFAULT_LIMIT_EACH, MAX_LIMIT_EACH);
        List<String> tunnelIds = store.tunnels().stream().map(Tunnel::id).toList();
        StreamedJson.answer(ctx, json -> {
            json.writeStartArray();
            checks.recentOfEachTunnel(tunnelIds, limit, batch -> {
                for (Check check : batch) {
                    write(json, check);
                }
            });
            json.writeEndArray();
        });
    }

    /** As {@link #check(Check)}, field by field onto {@code json}. */
    private static void write(JsonGenerator json, Check check) throws IOException {
        json.writeStartObject();
        json.writeNumberField("id", check.id());
        json.writeStringField("tunnel_id", check.subject().tunnelId());
        json.writeStringField("service_id", check.subject().serviceId());
        json.writeStringField("status", check.status().json());
        if (check.latencyMs() == null) {
            json.writeNullField("latency_ms");
        } else {
            json.writeNumberField("latency_ms", check.latencyMs());
        }
        json.writeStringField("error", check.error());
        json.writeStringField("created_at", Rfc3339.format(check.createdAt()));
        json.writeEndObject();
    }

    static ObjectNode check(Check check) {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("id", check.id());
        json.put("tunnel_id", check.subject().tunnelId());
        json.put("service_id", check.subject().serviceId());
        json.put("status", check.status().json());
        json.put("latency_ms", check.latencyMs());
        json.put("error", check.error());
        json.put("created_at", Rfc3339.format(check.createdAt()));
        return json;
    }

    private void stats(Context ctx) {
        Tunnel tunnel = tunnel(ctx);
        ObjectNode json = MAPPER.createObjectNode();
        json.put("tunnel_id", tunnel.id());
        json.setAll(stats.of(Subject.tunnel(tunnel.id())));
        ArrayNode services = json.putArray("services");
        for (Service service : store.services(tunnel.id())) {
            ObjectNode figures = MAPPER.createObjectNode();
            figures.put("service_id", service.id());
            figures.setAll(stats.of(new Subject(tunnel.id(), service.id())));
            services.add(figures);
        }
        json(ctx, json);
    }

    private void tunnelEvents(Context ctx) {
        Tunnel tunnel = tunnel(ctx);
        json(ctx, events(events.recent(tunnel.id(), limit(ctx))));
    }

    private void events(Context ctx) {
        json(ctx, events(events.recent(null, limit(ctx))));
    }

    private static ArrayNode events(List<Event> list) {
        ArrayNode array = MAPPER.createArrayNode();
        for (Event event : list) {
            ObjectNode json = array.addObject();
            json.put("id", event.id());
            json.put("tunnel_id", event.tunnelId());
            json.put("service_id", event.serviceId());
            json.put("type", event.type());
            json.put("message", event.message());
            json.put("created_at", Rfc3339.format(event.createdAt()));
            if (event.client() != null) {
                ObjectNode client = json.putObject("client");
                client.put("id", event.client().id());
                client.put("remote_addr", event.client().remoteAddr());
                client.put("version", event.client().version());
                client.put("hostname", event.client().hostname());
            }
        }
        return array;
    }

    private Tunnel tunnel(Context ctx) {
        String id = ctx.pathParam("id");
        return store.tunnel(id).orElseThrow(() -> ApiError.notFound("tunnel", id));
    }

    /** {@code ?limit=N}: 1 to 1000, 100 when absent. */
    static int limit(Context ctx) {
        return limit(ctx, DEFAULT_LIMIT, MAX_LIMIT);
    }

    private static int limit(Context ctx, int defaultLimit, int maxLimit) {
        String text = ctx.queryParam("limit");
        if (text == null) {
            return defaultLimit;
        }
        int limit;
        try {
            // ASCII digits only: Integer.parseInt also reads other scripts' digits (U+FF15 FULLWIDTH DIGIT FIVE as 5).
            limit = text.strip().matches("[0-9]+") ? Integer.parseInt(text.strip()) : 0;
        } catch (NumberFormatException e) {
            limit = 0;
        }
        if (limit < 1 || limit > maxLimit) {
            throw new ApiError(400, ApiErrorCodes.INVALID_PARAMETER,
                    "limit: must be a whole number from 1 to " + maxLimit
                    + " (got " + ControlCharacters.quoted(text) + ")", "limit");
        }
        return limit;
    }

    private static void json(Context ctx, JsonNode body) {
        ctx.status(200).contentType("application/json").result(body.toString());
    }

    // ---- service fields

    @Override
    public Set<String> serviceFields() {
        return Set.of("health_check", "health_path");
    }

    @Override
    public void serviceJson(Service service, ObjectNode json) {
        serviceJson(service, service.id() == null ? ServiceCheckSettings.DEFAULT : checks.settings(service.id()), json);
    }

    /** The check settings of a list of services in one look-up, not one per service. */
    @Override
    public void servicesJson(List<Service> services, List<ObjectNode> jsons) {
        Map<String, ServiceCheckSettings> stored = checks.settings(services.stream().map(Service::id)
                .filter(Objects::nonNull).toList());
        for (int i = 0; i < services.size(); i++) {
            Service service = services.get(i);
            serviceJson(service, service.id() == null ? ServiceCheckSettings.DEFAULT
                    : stored.getOrDefault(service.id(), ServiceCheckSettings.DEFAULT), jsons.get(i));
        }
    }

    /** A service not stored (no id: a draft) shows the default check settings, as it is given, and no traffic. */
    private void serviceJson(Service service, ServiceCheckSettings settings, ObjectNode json) {
        json.put("health_check", settings.enabled());
        json.put("health_path", service.answersRequests() ? settings.healthPath() : null);
        // A passthrough service relays connections as a tcp service does: it sees no requests to count.
        TrafficCounters counters = service.id() == null ? TrafficCounters.NONE : traffic.service(service);
        traffic(counters, json, service.answersRequests());
    }

    @Override
    public void tunnelJson(Tunnel tunnel, ObjectNode json) {
        json.put("public_status", publicStatus.isPublic(tunnel.id()));
        traffic(traffic.tunnel(tunnel.id()), json, true);
    }

    @Override
    public void tunnelDeleted(String tunnelId) {
        traffic.tunnelDeleted(tunnelId);
    }

    @Override
    public void serviceDeleted(String serviceId) {
        traffic.serviceDeleted(serviceId);
    }

    @Override
    public Set<String> tunnelFields() {
        return Set.of("public_status");
    }

    @Override
    public void checkTunnel(ObjectNode body) {
        JsonNode shown = body.get("public_status");
        if (shown != null && !shown.isNull() && !shown.isBoolean()) {
            throw ApiError.invalidField("public_status", "must be true or false");
        }
    }

    @Override
    public void tunnelSaved(Tunnel saved, ObjectNode body) {
        JsonNode shown = body.get("public_status");
        if (shown != null) {
            publicStatus.setPublic(saved.id(), !shown.isNull() && shown.asBoolean());
        }
    }

    /** {@code bytes_in}, {@code bytes_out}, {@code active_connections}, {@code total_connections}, {@code requests}. */
    private static void traffic(TrafficCounters counters, ObjectNode json, boolean requests) {
        json.put("bytes_in", counters.bytesIn());
        json.put("bytes_out", counters.bytesOut());
        json.put("active_connections", counters.activeConnections());
        json.put("total_connections", counters.totalConnections());
        if (requests) {
            ObjectNode byClass = json.putObject("requests");
            for (int hundreds = 1; hundreds <= 5; hundreds++) {
                byClass.put(hundreds + "xx", counters.responses(hundreds));
            }
        } else {
            json.putNull("requests");
        }
    }

    @Override
    public Set<String> readOnlyFields() {
        return Set.of("bytes_in", "bytes_out", "active_connections", "total_connections", "requests");
    }

    @Override
    public void checkService(Service draft, ObjectNode body) {
        JsonNode enabled = body.get("health_check");
        if (enabled != null && !enabled.isNull() && !enabled.isBoolean()) {
            throw ApiError.invalidField("health_check", "must be true or false");
        }
        JsonNode path = body.get("health_path");
        if (path == null || path.isNull()) {
            return;
        }
        if (draft.type() != ServiceType.HTTP) {
            throw ApiError.invalidField("health_path", "applies to http services only");
        }
        if (draft.tlsMode() == TlsMode.PASSTHROUGH) {
            throw ApiError.invalidField("health_path", "is not used by a service with tls_mode passthrough: the server"
                    + " cannot read its encrypted traffic, so its check only connects to the target, as for tcp; leave"
                    + " health_path out");
        }
        if (!path.isTextual()) {
            throw ApiError.invalidField("health_path", "must be a string such as \"/health\"");
        }
        String text = path.asText();
        if (!text.startsWith("/")) {
            throw ApiError.invalidField("health_path", "must start with \"/\", for example \"/health\"");
        }
        if (text.length() > MAX_HEALTH_PATH) {
            throw ApiError.invalidField("health_path", "is longer than " + MAX_HEALTH_PATH + " characters");
        }
        if (text.chars().anyMatch(c -> c <= ' ' || c == 0x7f || c == '#')) {
            throw ApiError.invalidField("health_path", "must not contain spaces, control characters or '#'");
        }
        HiddenCharacters.first(text).ifPresent(c -> {
            throw ApiError.invalidField("health_path", "must not contain the " + HiddenCharacters.describe(c));
        });
    }

    @Override
    public void serviceSaved(Service saved, ObjectNode body) {
        if (!saved.answersRequests()) {
            // A service made passthrough keeps no health_path: it would never be used, and would come back unasked
            // if the service were made to terminate TLS again.
            ServiceCheckSettings stored = checks.settings(saved.id());
            JsonNode enabled = body.get("health_check");
            boolean on = enabled == null ? stored.enabled() : enabled.isNull() || enabled.asBoolean();
            if (on != stored.enabled() || !ServiceCheckSettings.DEFAULT.healthPath().equals(stored.healthPath())) {
                checks.saveSettings(saved.id(), new ServiceCheckSettings(on, ServiceCheckSettings.DEFAULT.healthPath()));
            }
            return;
        }
        if (!body.has("health_check") && !body.has("health_path")) {
            return;
        }
        ServiceCheckSettings stored = checks.settings(saved.id());
        JsonNode enabled = body.get("health_check");
        JsonNode path = body.get("health_path");
        boolean on = enabled == null ? stored.enabled() : enabled.isNull() || enabled.asBoolean();
        String healthPath = path == null ? stored.healthPath() : path.isNull() ? "/" : path.asText();
        checks.saveSettings(saved.id(), new ServiceCheckSettings(on, healthPath));
    }

    @Override
    public void tokenRegenerated(Tunnel tunnel) {
        events.record(EventLog.TOKEN_REGENERATED, tunnel.id(), null,
                "The token of tunnel " + tunnel.name() + " was regenerated; its clients were disconnected");
    }
}
