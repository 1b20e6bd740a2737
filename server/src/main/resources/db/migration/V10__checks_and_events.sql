-- Uptime monitoring: one row per check of a tunnel (service_id null) or of one of its services.
-- Times are epoch milliseconds. Rows older than PICOTUNNEL_CHECK_RETENTION are pruned.
CREATE TABLE checks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tunnel_id  TEXT    NOT NULL REFERENCES tunnels (id) ON DELETE CASCADE,
    service_id TEXT    REFERENCES services (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL CHECK (status IN ('up', 'down')),
    latency_ms INTEGER,
    error      TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX checks_subject_time ON checks (tunnel_id, service_id, created_at);
CREATE INDEX checks_time ON checks (created_at);

-- Each change of state of a tunnel or service, recorded once (the first check of a subject counts as one).
CREATE TABLE state_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tunnel_id  TEXT    NOT NULL REFERENCES tunnels (id) ON DELETE CASCADE,
    service_id TEXT    REFERENCES services (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL CHECK (status IN ('up', 'down')),
    error      TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX state_changes_subject_time ON state_changes (tunnel_id, service_id, created_at);

-- Per-service probe settings; a service without a row is probed at "/".
CREATE TABLE service_checks (
    service_id  TEXT    PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
    enabled     INTEGER NOT NULL DEFAULT 1,
    health_path TEXT    NOT NULL DEFAULT '/'
);

-- What happened, for the events list. Kept after the tunnel is deleted.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tunnel_id  TEXT,
    service_id TEXT,
    type       TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_time ON events (created_at);
CREATE INDEX events_tunnel_time ON events (tunnel_id, created_at);
