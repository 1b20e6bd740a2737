package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.TlsMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * State changes go with the retention, as the checks do, but for each subject's newest before the cut: a flapping
 * tunnel adds one row per change for ever otherwise, and a tunnel up for longer than the retention still says since
 * when.
 */
class StateChangesPruneTest {

    private static final Instant CUT = Instant.parse("2026-11-01T00:00:00Z");

    @TempDir
    Path dataDir;

    private Store store;
    private CheckStore checks;

    @BeforeEach
    void open() {
        store = Store.open(dataDir);
        checks = new CheckStore(store.database());
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void changesBeforeTheRetentionArePrunedButTheNewestOfEachSubjectBeforeTheCut() throws Exception {
        String a = store.createTunnel("flapping").id();
        String b = store.createTunnel("steady").id();
        Subject flapping = Subject.tunnel(a);
        Subject service = new Subject(a, store.createService(new Service(null, a, ServiceType.TCP, null, "/",
                TlsMode.TERMINATE, "127.0.0.1:15001", "localhost:22", true, null)).orElseThrow().id());
        Subject steady = Subject.tunnel(b);
        Check flap1 = Check.down(flapping, "no client connected", CUT.minus(Duration.ofDays(3)));
        Check flap2 = Check.up(flapping, 1, CUT.minus(Duration.ofDays(2)));
        Check flap3 = Check.down(flapping, "no client connected", CUT.minus(Duration.ofDays(1)));
        Check flap4 = Check.up(flapping, 1, CUT.plus(Duration.ofHours(1)));
        Check serviceUp = Check.up(service, 2, CUT.minus(Duration.ofDays(200)));
        Check steadyDown = Check.down(steady, "no client connected", CUT.minus(Duration.ofDays(5)));
        Check steadyUpSameMillisecond = Check.up(steady, 1, CUT.minus(Duration.ofDays(5)));
        checks.record(List.of(), List.of(flap1, serviceUp, steadyDown));
        checks.record(List.of(), List.of(flap2, steadyUpSameMillisecond));
        checks.record(List.of(), List.of(flap3));
        checks.record(List.of(), List.of(flap4));

        checks.prune(CUT);

        assertThat(checks.changes(flapping, Instant.EPOCH)).extracting(Check::createdAt)
                .containsExactly(flap3.createdAt(), flap4.createdAt());
        assertThat(checks.lastChange(flapping)).map(Check::status).contains(CheckStatus.UP);
        assertThat(checks.changes(service, Instant.EPOCH)).extracting(Check::createdAt, Check::status)
                .as("up for longer than the retention: still up since then")
                .containsExactly(org.assertj.core.groups.Tuple.tuple(serviceUp.createdAt(), CheckStatus.UP));
        assertThat(checks.changes(steady, Instant.EPOCH)).extracting(Check::status)
                .as("of two in the same millisecond, the one stored last").containsExactly(CheckStatus.UP);
    }
}
