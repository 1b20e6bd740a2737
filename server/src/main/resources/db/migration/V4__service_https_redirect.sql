-- Optional per-service redirect of plain HTTP requests to HTTPS (308), for http services.
ALTER TABLE services ADD COLUMN https_redirect INTEGER NOT NULL DEFAULT 0;
