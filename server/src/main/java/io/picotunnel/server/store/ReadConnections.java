package io.picotunnel.server.store;

import io.picotunnel.protocol.config.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The read connections of the database, a fixed number of them, each lent to one read at a time. With the WAL journal
 * readers go on beside each other and beside the writer: a long read (a listing, an export) holds one connection while
 * the others serve the token lookups of tunnel handshakes and the sessions of the UI. A read waits for a free
 * connection at most {@code wait}, then fails as busy: waiting on, a handshake would pass its timeout with no word said.
 * Once closed, none is lent; one lent at that moment is closed when it is given back, so close never waits for a read.
 */
final class ReadConnections {

    private static final Logger log = LoggerFactory.getLogger(ReadConnections.class);

    private final Path file;
    private final int count;
    private final Duration wait;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition givenBack = lock.newCondition();
    /** Guarded by lock. */
    private final Deque<Connection> free;
    /** Guarded by lock. */
    private boolean closed;

    private ReadConnections(Path file, List<Connection> connections, Duration wait) {
        this.file = file;
        this.count = connections.size();
        this.wait = wait;
        this.free = new ArrayDeque<>(connections);
    }

    /** Opens {@code count} connections to {@code file} with {@code connect}; if one fails, those opened are closed. */
    static ReadConnections open(Path file, int count, Duration wait, Supplier<Connection> connect) {
        List<Connection> opened = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                opened.add(connect.get());
            }
        } catch (RuntimeException e) {
            opened.forEach(ReadConnections::closeQuietly);
            throw e;
        }
        return new ReadConnections(file, opened, wait);
    }

    /** A free connection, for this thread alone until {@link #giveBack}; waits for one at most the wait given. */
    Connection take() {
        lock.lock();
        try {
            long left = wait.toNanos();
            while (free.isEmpty() && !closed) {
                if (left <= 0) {
                    throw StoreException.readConnectionsHeld("Database busy: all " + count + " read connections have been held by"
                            + " other reads for " + Durations.format(wait) + " (long listings or exports)");
                }
                left = givenBack.awaitNanos(left);
            }
            if (closed) {
                throw StoreException.closed(file);
            }
            return free.pop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("Interrupted while waiting for a read connection of the database", e);
        } finally {
            lock.unlock();
        }
    }

    /** Lends {@code connection}, which {@link #take} gave, again; closes it instead once closed. */
    void giveBack(Connection connection) {
        lock.lock();
        try {
            if (!closed) {
                free.push(connection);
                givenBack.signal();
                return;
            }
        } finally {
            lock.unlock();
        }
        closeQuietly(connection);
    }

    /** Closes the free connections now, and each lent one when it is given back; reads waiting fail at once. */
    void close() {
        List<Connection> idle;
        lock.lock();
        try {
            closed = true;
            idle = List.copyOf(free);
            free.clear();
            givenBack.signalAll();
        } finally {
            lock.unlock();
        }
        idle.forEach(ReadConnections::closeQuietly);
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException e) {
            log.warn("Closing the database failed: {}", e.getMessage());
        }
    }
}
