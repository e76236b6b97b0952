-- Orders say their margin mode: an isolated-only asset (onlyIsolated, or marginMode strictIsolated/noCross)
-- trades isolated. (Leases: decision_runs.claimed_ms is the lease's last heartbeat; no schema change.)
ALTER TABLE orders ADD COLUMN margin_mode TEXT NOT NULL DEFAULT 'cross' CHECK (margin_mode IN ('cross', 'isolated'));
