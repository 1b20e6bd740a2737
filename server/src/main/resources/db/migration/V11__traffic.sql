-- Traffic figures of tunnels (service_id null) and services, written every few seconds and at shutdown, so that
-- they survive a restart. subject_id is "t:<tunnel id>" or "s:<service id>".
CREATE TABLE traffic (
    subject_id        TEXT    PRIMARY KEY,
    tunnel_id         TEXT    NOT NULL REFERENCES tunnels (id) ON DELETE CASCADE,
    service_id        TEXT    REFERENCES services (id) ON DELETE CASCADE,
    bytes_in          INTEGER NOT NULL DEFAULT 0,
    bytes_out         INTEGER NOT NULL DEFAULT 0,
    total_connections INTEGER NOT NULL DEFAULT 0,
    responses_1xx     INTEGER NOT NULL DEFAULT 0,
    responses_2xx     INTEGER NOT NULL DEFAULT 0,
    responses_3xx     INTEGER NOT NULL DEFAULT 0,
    responses_4xx     INTEGER NOT NULL DEFAULT 0,
    responses_5xx     INTEGER NOT NULL DEFAULT 0
);
