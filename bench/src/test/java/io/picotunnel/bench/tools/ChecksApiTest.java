package io.picotunnel.bench.tools;

import io.picotunnel.server.monitor.Check;
import io.picotunnel.server.monitor.CheckStatus;
import io.picotunnel.server.monitor.CheckStore;
import io.picotunnel.server.monitor.Subject;
import io.picotunnel.server.store.Store;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ChecksApiTest {

    @TempDir
    Path dataDir;

    @Test
    void seededChecksAreOneAMinuteWithAStateChangeAtEachChangeAsTheServerReadsThem() throws Exception {
        String id;
        try (Store store = Store.open(dataDir)) {
            id = store.createTunnel("seeded").id();
        }
        long now = Instant.parse("2026-11-30T12:00:00Z").toEpochMilli();
        ChecksApi.Seeded seeded = ChecksApi.seed(dataDir.resolve(Store.DATABASE_FILE), id, List.of(), 30, 60, now);
        assertThat(seeded.checks()).isEqualTo(30 * 1440);

        try (Store store = Store.open(dataDir)) {
            CheckStore checks = new CheckStore(store.database());
            Subject subject = Subject.tunnel(id);
            Instant from = Instant.ofEpochMilli(now - 30L * 86_400_000);
            CheckStore.Window all = checks.window(subject, from);
            assertThat(all.total()).isEqualTo(30 * 1440);
            assertThat(all.up()).as("some checks are down, most up").isBetween(all.total() / 2, all.total() - 1);

            List<Check> newest = checks.recent(subject, 1000);
            assertThat(newest).hasSize(1000);
            assertThat(newest.getFirst().createdAt()).isEqualTo(Instant.ofEpochMilli(now));
            assertThat(newest.getFirst().status()).isEqualTo(CheckStatus.UP);
            for (int i = 1; i < newest.size(); i++) {
                assertThat(newest.get(i - 1).createdAt().toEpochMilli() - newest.get(i).createdAt().toEpochMilli())
                        .isEqualTo(60_000);
            }
            List<Check> changes = checks.changes(subject, from);
            assertThat((long) changes.size()).isEqualTo(seeded.stateChanges()).isGreaterThan(2);
            assertThat(changes.getFirst().createdAt()).isEqualTo(from.plusSeconds(60));
            for (int i = 1; i < changes.size(); i++) {
                assertThat(changes.get(i).status()).isNotEqualTo(changes.get(i - 1).status());
            }
        }
    }
}
