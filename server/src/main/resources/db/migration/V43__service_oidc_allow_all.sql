-- auth_allow_all: an oidc service with both allow lists empty lets every user of the provider in only when this
-- is 1 (the API's "allow_all": true, said explicitly); with 0 and empty lists it lets nobody in, and the API refuses
-- to store that. Services stored before this version with empty lists let everyone in: they keep doing so.
ALTER TABLE services ADD COLUMN auth_allow_all INTEGER NOT NULL DEFAULT 0;
UPDATE services SET auth_allow_all = 1
WHERE auth_type = 'oidc' AND trim(auth_allowed_emails, char(10)) = '' AND trim(auth_allowed_groups, char(10)) = '';
