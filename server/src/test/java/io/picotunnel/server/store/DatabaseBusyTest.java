package io.picotunnel.server.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A change that waits past its bound for the write lock, which another change of this process holds (real SQLite). */
class DatabaseBusyTest {

    @TempDir
    Path dataDir;

    @Test
    void aChangeRefusedAfterWaitingForTheLockSaysHowLongAsOtherMessagesWriteDurations() throws Exception {
        try (Database database = Database.open(dataDir.resolve(Store.DATABASE_FILE))) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch letGo = new CountDownLatch(1);
            Thread holder = Thread.ofPlatform().daemon().start(() -> database.inTransaction(connection -> {
                holding.countDown();
                try {
                    return letGo.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }));
            try {
                assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();

                assertThatThrownBy(() -> database.inTransactionWaitingAtMost(Duration.ofMillis(1500), connection -> null))
                        .isInstanceOfSatisfying(StoreException.class, busy -> assertThat(busy.busy()).isTrue())
                        .hasMessage("Database busy: other changes have held it for 1.5 s");
            } finally {
                letGo.countDown();
                holder.join(Duration.ofSeconds(10));
            }
        }
    }
}
