package io.picotunnel.server.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * As many held reads as the database has read connections, each holding one: other reads (long listings, exports) hold
 * every read connection, so a further read waits for one, until they are released ({@link #close}).
 */
public record HeldReads(List<HeldRead> reads) implements AutoCloseable {

    /** Returns once every read connection is held (within 5 s each). */
    public static HeldReads ofEveryConnection(Database database) {
        List<HeldRead> reads = new ArrayList<>();
        for (int i = 0; i < Database.READ_CONNECTIONS; i++) {
            reads.add(new HeldRead(database));
        }
        HeldReads all = new HeldReads(List.copyOf(reads));
        try {
            reads.forEach(HeldRead::connection);
        } catch (RuntimeException e) {
            all.close();
            throw e;
        }
        return all;
    }

    /** Completes when every read ended and gave its connection back. */
    public CompletableFuture<Void> ended() {
        return CompletableFuture.allOf(reads.stream().map(HeldRead::ended).toArray(CompletableFuture<?>[]::new));
    }

    /** Ends every read: each gives its connection back. */
    public void release() {
        reads.forEach(HeldRead::release);
    }

    @Override
    public void close() {
        release();
    }
}
