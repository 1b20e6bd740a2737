-- Access control per service (ip_allow, ip_deny, rate_limit, auth). Lists are one entry per line.
-- auth_password_hash holds a bcrypt hash; the password itself is never stored.
ALTER TABLE services ADD COLUMN ip_allow TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN ip_deny TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN rate_limit_per_second REAL;
ALTER TABLE services ADD COLUMN rate_limit_burst INTEGER;
ALTER TABLE services ADD COLUMN auth_type TEXT NOT NULL DEFAULT 'none';
ALTER TABLE services ADD COLUMN auth_username TEXT;
ALTER TABLE services ADD COLUMN auth_password_hash TEXT;
ALTER TABLE services ADD COLUMN auth_allowed_emails TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN auth_allowed_groups TEXT NOT NULL DEFAULT '';
