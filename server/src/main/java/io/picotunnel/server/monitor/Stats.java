package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.picotunnel.server.store.Rfc3339;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The figures of {@code GET /api/tunnels/:id/stats} for one subject. Uptime of a window = 100 × up checks ÷ all
 * checks whose time falls in the last 24 h, 7 d or 30 d, rounded to two decimals; null when the window holds no
 * check. Time without checks (the server was stopped) counts neither way. Average latency = mean round trip of
 * the up checks in the window, in milliseconds to one decimal; null without up checks. {@code status} is that of the
 * newest check, {@code since} the time of the newest change of state.
 */
final class Stats {

    record Span(String name, Duration length) {
    }

    static final List<Span> WINDOWS = List.of(new Span("24h", Duration.ofHours(24)), new Span("7d", Duration.ofDays(7)),
            new Span("30d", Duration.ofDays(30)));

    private final CheckStore checks;
    private final Clock clock;

    Stats(CheckStore checks, Clock clock) {
        this.checks = checks;
        this.clock = clock;
    }

    ObjectNode of(Subject subject) {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        Optional<Check> newest = checks.recent(subject, 1).stream().findFirst();
        json.put("status", newest.map(check -> check.status().json()).orElse(null));
        json.put("since", checks.lastChange(subject).map(change -> Rfc3339.format(change.createdAt())).orElse(null));
        json.put("last_checked_at", newest.map(check -> Rfc3339.format(check.createdAt())).orElse(null));
        Instant now = clock.instant();
        for (Span span : WINDOWS) {
            CheckStore.Window window = checks.window(subject, now.minus(span.length()));
            Double uptime = window.total() == 0 ? null : Math.round(10_000.0 * window.up() / window.total()) / 100.0;
            json.put("uptime_" + span.name(), uptime);
            json.put("avg_latency_ms_" + span.name(),
                    window.meanLatencyMs() == null ? null : Math.round(window.meanLatencyMs() * 10) / 10.0);
        }
        return json;
    }
}
