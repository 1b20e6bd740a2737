package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.server.store.Store;
import io.picotunnel.testkit.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The body of {@code GET /api/status} is computed at most once per {@link PublicStatus#CACHED_FOR}. */
class PublicStatusCacheTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    private Store store;
    private CheckStore checks;
    private ManualClock clock;
    private PublicStatus status;
    private Subject tunnel;

    @BeforeEach
    void open() {
        store = Store.open(dataDir);
        checks = new CheckStore(store.database());
        clock = new ManualClock(Instant.parse("2026-11-30T12:00:00Z"));
        status = new PublicStatus(store, checks, new Stats(checks, clock), clock);
        tunnel = Subject.tunnel(store.createTunnel("shown").id());
        status.setPublic(tunnel.tunnelId(), true);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void aNewCheckShowsOnlyOnceTheCachedBodyHasExpired() throws Exception {
        checks.record(List.of(Check.up(tunnel, 5, clock.instant())), List.of());
        JsonNode first = JSON.readTree(status.body()).get(0);
        assertThat(first.get("status").asText()).isEqualTo("up");
        assertThat(first.get("heartbeats")).hasSize(1);

        clock.advance(Duration.ofSeconds(1));
        Check down = Check.down(tunnel, "no client connected", clock.instant());
        checks.record(List.of(down), List.of(down));
        clock.advance(PublicStatus.CACHED_FOR.minusSeconds(1).minusMillis(1));
        JsonNode cached = JSON.readTree(status.body()).get(0);
        assertThat(cached).isEqualTo(first);

        clock.advance(Duration.ofMillis(1));
        JsonNode fresh = JSON.readTree(status.body()).get(0);
        assertThat(fresh.get("status").asText()).isEqualTo("down");
        assertThat(fresh.get("heartbeats")).hasSize(2);
        assertThat(fresh.get("uptime_24h").asDouble()).isEqualTo(50.0);
    }

    @Test
    void switchingATunnelOffOrOnShowsAtOnce() throws Exception {
        assertThat(JSON.readTree(status.body())).hasSize(1);

        status.setPublic(tunnel.tunnelId(), false);
        assertThat(JSON.readTree(status.body())).isEmpty();

        status.setPublic(tunnel.tunnelId(), true);
        assertThat(JSON.readTree(status.body())).hasSize(1);
    }

    /**
     * The server's clock set back (NTP, a VM resumed) does not keep the page on the body computed before: it was
     * cached until five seconds after that, which the clock took an hour to reach again.
     */
    @Test
    void aClockSetBackDoesNotKeepTheCachedBodyForAsLongAsItWentBack() throws Exception {
        checks.record(List.of(Check.up(tunnel, 5, clock.instant())), List.of());
        assertThat(JSON.readTree(status.body()).get(0).get("status").asText()).isEqualTo("up");

        clock.advance(Duration.ofHours(-1));
        Check down = Check.down(tunnel, "no client connected", clock.instant());
        checks.record(List.of(down), List.of(down));
        clock.advance(PublicStatus.CACHED_FOR);

        JsonNode fresh = JSON.readTree(status.body()).get(0);
        assertThat(fresh.get("status").asText()).isEqualTo("down");
        assertThat(fresh.get("heartbeats")).hasSize(2);
    }
}
