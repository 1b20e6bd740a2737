-- The newest checks, state changes and events of a tunnel or service are the last recorded (the highest id), not
-- the latest created_at: that is the server's clock, which can be set back (NTP, a VM resumed). SQLite ends every
-- index with the rowid (the id here), so these hold each subject's rows in id order: "ORDER BY id DESC LIMIT n"
-- reads n entries of them, where the indexes by time made it sort all of a subject's rows (90 days of checks at one a
-- minute are 129 600) at each read of its state.
CREATE INDEX checks_subject ON checks (tunnel_id, service_id);
CREATE INDEX state_changes_subject ON state_changes (tunnel_id, service_id);
CREATE INDEX events_tunnel ON events (tunnel_id);
