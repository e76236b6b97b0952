-- Failed Dagster runs, recorded by the run-failure sensor where an operator looks: one row per run.
CREATE TABLE run_failures (
    run_id            TEXT PRIMARY KEY,
    job_name          TEXT NOT NULL,
    failed_ms         INTEGER NOT NULL,
    partition_key     TEXT,                        -- or range first..last
    failed_steps      TEXT NOT NULL,               -- comma-separated step keys
    error             TEXT NOT NULL                -- the first line of the first step's error
);
CREATE INDEX run_failures_by_time ON run_failures (failed_ms);
