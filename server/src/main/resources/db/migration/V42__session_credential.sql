-- What a session was signed in with: the SHA-256 of the admin token, or of the OIDC issuer and allow lists, at
-- sign-in. A session whose credential no longer matches the configuration (token rotated, user taken off the
-- list) ends at its next request. Sessions from before this column have none and end too: one sign-in again.
ALTER TABLE sessions ADD COLUMN credential TEXT;
