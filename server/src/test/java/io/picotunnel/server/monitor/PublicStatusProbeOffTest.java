package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.testkit.ManualClock;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A service whose probe was switched off has no state on the public status page, as docs/monitoring.md says: its
 * last check before, kept in the database, would show it down (or up) for as long as the probe stays off.
 */
class PublicStatusProbeOffTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    private Store store;

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void aServiceWhoseProbeIsOffHasNoStateOnThePublicPage() throws Exception {
        store = Store.open(dataDir);
        CheckStore checks = new CheckStore(store.database());
        ManualClock clock = new ManualClock(Instant.parse("2026-11-30T12:00:00Z"));
        PublicStatus status = new PublicStatus(store, checks, new Stats(checks, clock), clock);
        String tunnelId = store.createTunnel("shown").id();
        status.setPublic(tunnelId, true);
        String serviceId = store.createService(new Service(null, tunnelId, ServiceType.TCP, null, "/", TlsMode.TERMINATE,
                "127.0.0.1:" + Ports.freePort(), "localhost:22", true, null)).orElseThrow().id();
        Check down = Check.down(new Subject(tunnelId, serviceId), "the client could not reach localhost:22", clock.instant());
        checks.record(List.of(down), List.of(down));
        assertThat(JSON.readTree(status.body()).get(0).get("services").get(0).get("status").asText()).isEqualTo("down");

        checks.saveSettings(serviceId, new ServiceCheckSettings(false, "/"));
        clock.advance(PublicStatus.CACHED_FOR);

        JsonNode service = JSON.readTree(status.body()).get(0).get("services").get(0);
        assertThat(service.get("name").asText()).startsWith("port ");
        for (String field : List.of("status", "since", "uptime_24h", "uptime_7d", "uptime_30d")) {
            assertThat(service.get(field).isNull()).as(field + " in %s", service).isTrue();
        }
    }
}
