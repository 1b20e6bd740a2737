package io.picotunnel.server.store;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A read on a thread of its own that holds its connection (having read its settings) until released, as a long
 * listing or an export does; at most 30 s.
 */
public final class HeldRead implements AutoCloseable {

    private static final Duration SHORT = Duration.ofSeconds(5);

    private final CompletableFuture<Connection> holding = new CompletableFuture<>();
    private final CompletableFuture<String> settings = new CompletableFuture<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final CompletableFuture<Void> ended;

    public HeldRead(Database database) {
        ended = CompletableFuture.supplyAsync(() -> database.read(connection -> {
            settings.complete(settingsOf(connection));
            holding.complete(connection);
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }), task -> Thread.ofPlatform().daemon().start(task));
        ended.whenComplete((done, failure) -> {
            if (failure != null) {
                holding.completeExceptionally(failure);
            }
        });
    }

    /** The connection it holds, once it holds one (within 5 s). */
    public Connection connection() {
        return holding.orTimeout(SHORT.toSeconds(), TimeUnit.SECONDS).join();
    }

    /** The settings of the connection it holds. */
    public String settings() {
        connection();
        return settings.join();
    }

    /** Completes when the read ended and gave its connection back. */
    public CompletableFuture<Void> ended() {
        return ended;
    }

    /** Ends the read: it gives its connection back. */
    public void release() {
        release.countDown();
    }

    @Override
    public void close() {
        release();
    }

    /** The settings {@code Database} gives its connections: the journal is the file's, the rest each connection's own. */
    private static String settingsOf(Connection connection) throws SQLException {
        List<String> settings = new ArrayList<>();
        try (Statement statement = connection.createStatement()) {
            for (String pragma : List.of("journal_mode", "synchronous", "secure_delete", "foreign_keys", "busy_timeout")) {
                try (ResultSet row = statement.executeQuery("PRAGMA " + pragma)) {
                    settings.add(pragma + "=" + row.getString(1));
                }
            }
        }
        return String.join(" ", settings);
    }
}
