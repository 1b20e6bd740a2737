-- Tunnel tokens at rest only as their SHA-256 (issue 10). token_sha256 has been filled for every row since V1 and
-- is what a presented token is looked up by, so dropping the plain column converts every existing row: each
-- token keeps working, and the database no longer holds one. Tokens are 256 random bits, so a fast hash is
-- enough: there is nothing to guess that a slow hash would protect.
ALTER TABLE tunnels DROP COLUMN token;
