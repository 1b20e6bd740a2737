-- Sign-in sessions of the management UI. The cookie holds a random 256-bit id; only its SHA-256 is
-- stored, so a copy of the database does not hand out live sessions. Times are epoch milliseconds.
CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    subject      TEXT    NOT NULL,
    method       TEXT    NOT NULL CHECK (method IN ('oidc', 'token')),
    id_token     TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
