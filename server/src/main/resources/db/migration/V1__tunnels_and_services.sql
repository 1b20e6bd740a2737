-- Tunnels (one client identity each) and the services they publish.
-- token_sha256 makes lookup by token an index lookup; the token itself is compared in constant time afterwards.
CREATE TABLE tunnels (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token        TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE services (
    id          TEXT PRIMARY KEY,
    tunnel_id   TEXT NOT NULL REFERENCES tunnels (id) ON DELETE CASCADE,
    type        TEXT NOT NULL CHECK (type IN ('http', 'tcp')),
    domain      TEXT,
    path_prefix TEXT NOT NULL DEFAULT '/',
    tls_mode    TEXT NOT NULL DEFAULT 'terminate' CHECK (tls_mode IN ('terminate', 'passthrough')),
    listen_addr TEXT,
    target_addr TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);

CREATE INDEX services_tunnel_id ON services (tunnel_id);
CREATE INDEX services_domain ON services (domain);
