-- Whether a tunnel is shown on the public status page (/status, GET /api/status). Off unless the operator opts in.
ALTER TABLE tunnels ADD COLUMN public_status INTEGER NOT NULL DEFAULT 0;
