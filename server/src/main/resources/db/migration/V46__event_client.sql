-- The client a client_connected or client_left event is about, as it said itself: the UI found the version and host
-- in the message, and a version such as "1.0, host x" read as another host. NULL in older rows and other events;
-- client_version and client_hostname also where the client did not say.
ALTER TABLE events ADD COLUMN client_id TEXT;
ALTER TABLE events ADD COLUMN client_addr TEXT;
ALTER TABLE events ADD COLUMN client_version TEXT;
ALTER TABLE events ADD COLUMN client_hostname TEXT;
