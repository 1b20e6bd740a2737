package io.picotunnel.server.auth;

import io.picotunnel.server.store.Database;
import io.picotunnel.server.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Sign-in sessions in the server's SQLite database (table {@code sessions}, migration V2), so they survive a restart. A session
 * ends when unused for the idle timeout or at its absolute expiry, whichever comes first.
 */
public final class SessionStore {

    private static final Logger log = LoggerFactory.getLogger(SessionStore.class);

    /**
     * A live session. {@code idToken} is kept for the provider's logout ({@code id_token_hint}); {@code credential}
     * is what it was signed in with (see {@code ManagementAuth}), null for a session from before migration V42.
     */
    public record Session(String subject, String method, String idToken, String credential, Instant createdAt,
            Instant expiresAt) {
    }

    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(12);
    public static final Duration DEFAULT_ABSOLUTE_TIMEOUT = Duration.ofDays(7);

    /** The last-seen time is written at most this often, not on every request. */
    private static final Duration TOUCH_INTERVAL = Duration.ofMinutes(1);
    /**
     * How long a request waits to write its session's last use or deletion: another program holding the database
     * (a {@code sqlite3} shell) must not make every signed-in request wait the busy timeout; the write is made by a
     * later request.
     */
    private static final Duration QUIET_WRITE_WAIT = Duration.ofMillis(100);
    private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9_-]{43}");

    private final Database db;
    private final Clock clock;
    private final Duration idleTimeout;
    private final Duration absoluteTimeout;
    private final SecureRandom random = new SecureRandom();

    public SessionStore(Database db, Clock clock, Duration idleTimeout, Duration absoluteTimeout) {
        this.db = db;
        this.clock = clock;
        this.idleTimeout = idleTimeout;
        this.absoluteTimeout = absoluteTimeout;
    }

    public SessionStore(Database db) {
        this(db, Clock.systemUTC(), DEFAULT_IDLE_TIMEOUT, DEFAULT_ABSOLUTE_TIMEOUT);
    }

    public Duration absoluteTimeout() {
        return absoluteTimeout;
    }

    /** Starts a session and returns its id: 256 random bits, base64url, for the cookie only. */
    public String create(String subject, String method, String idToken, String credential) {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        long now = clock.millis();
        db.inTransaction(c -> {
            try (PreparedStatement insert = c.prepareStatement(
                    "INSERT INTO sessions (id_hash, subject, method, id_token, created_at, last_seen_at, expires_at,"
                            + " credential) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                insert.setString(1, hash(id));
                insert.setString(2, subject);
                insert.setString(3, method);
                insert.setString(4, idToken);
                insert.setLong(5, now);
                insert.setLong(6, now);
                insert.setLong(7, now + absoluteTimeout.toMillis());
                insert.setString(8, credential);
                return insert.executeUpdate();
            }
        });
        return id;
    }

    /**
     * The live session with this id; an expired one is deleted and not found. Looked up on a read connection: most
     * lookups (every request of the UI) write nothing, and a write transaction would wait for the write lock, which
     * another program (a {@code sqlite3} shell) may hold. Deleting an expired session and the last-seen time are
     * written after, and a failure to write them (the database locked) does not fail the request.
     */
    public Optional<Session> find(String id) {
        if (id == null || !SESSION_ID.matcher(id).matches()) {
            return Optional.empty();
        }
        String idHash = hash(id);
        long now = clock.millis();
        Optional<Stored> found = db.read(c -> select(c, idHash));
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Stored stored = found.get();
        if (now >= stored.session().expiresAt().toEpochMilli() || now >= stored.lastSeen() + idleTimeout.toMillis()) {
            writeQuietly("delete an expired session",
                    () -> db.inTransactionWaitingAtMost(QUIET_WRITE_WAIT, c -> deleteByHash(c, idHash)));
            return Optional.empty();
        }
        if (now - stored.lastSeen() >= TOUCH_INTERVAL.toMillis()) {
            writeQuietly("record a session's last use", () -> db.inTransactionWaitingAtMost(QUIET_WRITE_WAIT, c -> {
                try (PreparedStatement touch = c.prepareStatement(
                        "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?")) {
                    touch.setLong(1, now);
                    touch.setString(2, idHash);
                    touch.setLong(3, now);
                    return touch.executeUpdate();
                }
            }));
        }
        return Optional.of(stored.session());
    }

    private record Stored(Session session, long lastSeen) {
    }

    private static Optional<Stored> select(Connection c, String idHash) throws SQLException {
        try (PreparedStatement select = c.prepareStatement(
                "SELECT subject, method, id_token, credential, created_at, last_seen_at, expires_at FROM sessions"
                        + " WHERE id_hash = ?")) {
            select.setString(1, idHash);
            try (ResultSet row = select.executeQuery()) {
                if (!row.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Stored(new Session(row.getString("subject"), row.getString("method"),
                        row.getString("id_token"), row.getString("credential"),
                        Instant.ofEpochMilli(row.getLong("created_at")), Instant.ofEpochMilli(row.getLong("expires_at"))),
                        row.getLong("last_seen_at")));
            }
        }
    }

    /** Runs a write whose failure only delays it to a later request (or to {@link #deleteExpired}). */
    private static void writeQuietly(String what, Runnable write) {
        try {
            write.run();
        } catch (StoreException e) {
            log.warn("Could not {}: {}", what, e.getMessage());
        }
    }

    public void delete(String id) {
        if (id == null || !SESSION_ID.matcher(id).matches()) {
            return;
        }
        String idHash = hash(id);
        db.inTransaction(c -> deleteByHash(c, idHash));
    }

    /** Deletes every session past its idle or absolute expiry; returns how many. */
    public int deleteExpired() {
        long now = clock.millis();
        return db.inTransaction(c -> {
            try (PreparedStatement delete = c.prepareStatement(
                    "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?")) {
                delete.setLong(1, now);
                delete.setLong(2, now - idleTimeout.toMillis());
                return delete.executeUpdate();
            }
        });
    }

    private static int deleteByHash(Connection c, String idHash) throws SQLException {
        try (PreparedStatement delete = c.prepareStatement("DELETE FROM sessions WHERE id_hash = ?")) {
            delete.setString(1, idHash);
            return delete.executeUpdate();
        }
    }

    private static String hash(String id) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
