package io.picotunnel.server.auth;

import io.picotunnel.server.store.Database;

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

    /** The live session with this id; an expired one is deleted and not found. */
    public Optional<Session> find(String id) {
        if (id == null || !SESSION_ID.matcher(id).matches()) {
            return Optional.empty();
        }
        String idHash = hash(id);
        long now = clock.millis();
        return db.inTransaction(c -> {
            Session session;
            long lastSeen;
            try (PreparedStatement select = c.prepareStatement(
                    "SELECT subject, method, id_token, credential, created_at, last_seen_at, expires_at FROM sessions"
                            + " WHERE id_hash = ?")) {
                select.setString(1, idHash);
                try (ResultSet row = select.executeQuery()) {
                    if (!row.next()) {
                        return Optional.<Session>empty();
                    }
                    lastSeen = row.getLong("last_seen_at");
                    session = new Session(row.getString("subject"), row.getString("method"), row.getString("id_token"),
                            row.getString("credential"), Instant.ofEpochMilli(row.getLong("created_at")),
                            Instant.ofEpochMilli(row.getLong("expires_at")));
                }
            }
            if (now >= session.expiresAt().toEpochMilli() || now >= lastSeen + idleTimeout.toMillis()) {
                deleteByHash(c, idHash);
                return Optional.<Session>empty();
            }
            if (now - lastSeen >= TOUCH_INTERVAL.toMillis()) {
                try (PreparedStatement touch = c.prepareStatement("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")) {
                    touch.setLong(1, now);
                    touch.setString(2, idHash);
                    touch.executeUpdate();
                }
            }
            return Optional.of(session);
        });
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
