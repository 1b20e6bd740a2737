-- Per-hour roll-ups of the checks, so an uptime window sums at most a few hundred rows instead of every check:
-- one row per subject (a tunnel, service_id null, or one of its services) and hour that holds checks.
-- hour_start is epoch milliseconds (a multiple of 3,600,000); latency_sum and latency_count are over the up
-- checks that have a latency. Kept equal to the checks of that hour: written in the transaction of the checks,
-- recomputed when pruning cuts an hour.
CREATE TABLE check_hours (
    tunnel_id     TEXT    NOT NULL REFERENCES tunnels (id) ON DELETE CASCADE,
    service_id    TEXT    REFERENCES services (id) ON DELETE CASCADE,
    hour_start    INTEGER NOT NULL,
    total         INTEGER NOT NULL,
    up            INTEGER NOT NULL,
    latency_sum   INTEGER NOT NULL,
    latency_count INTEGER NOT NULL
);
-- NULL is never equal to NULL in a unique index: COALESCE makes the tunnel's own row unique too.
CREATE UNIQUE INDEX check_hours_subject_hour ON check_hours (tunnel_id, COALESCE(service_id, ''), hour_start);
CREATE INDEX check_hours_hour ON check_hours (hour_start);

-- The checks stored before this version (the floor also holds for times before 1970).
INSERT INTO check_hours (tunnel_id, service_id, hour_start, total, up, latency_sum, latency_count)
SELECT tunnel_id, service_id, created_at - ((created_at % 3600000) + 3600000) % 3600000 AS hour,
       COUNT(*), SUM(status = 'up'), COALESCE(SUM(CASE WHEN status = 'up' THEN latency_ms END), 0),
       COUNT(CASE WHEN status = 'up' THEN latency_ms END)
FROM checks
GROUP BY tunnel_id, service_id, hour;
