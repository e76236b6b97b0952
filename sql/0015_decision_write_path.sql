-- The decision write path, leaner: what each decision writes is indexed only as it is read.
-- Gate verdicts live in their own key's B-tree (WITHOUT ROWID): one B-tree per verdict row instead of a table
-- and its primary-key index. The status index keeps only runs still running, the one status it is read for
-- (taking over stale runs, the lease heartbeat, the operator's count): a finished run is not in it at all.
CREATE TABLE decision_gates_by_key (
    run_id            INTEGER NOT NULL REFERENCES decision_runs (run_id),
    gate              TEXT NOT NULL,
    passed            INTEGER NOT NULL,
    detail            TEXT NOT NULL,
    PRIMARY KEY (run_id, gate)
) WITHOUT ROWID;
INSERT INTO decision_gates_by_key (run_id, gate, passed, detail) SELECT run_id, gate, passed, detail FROM decision_gates;
DROP TABLE decision_gates;
ALTER TABLE decision_gates_by_key RENAME TO decision_gates;
DROP INDEX decision_runs_status;
CREATE INDEX decision_runs_running ON decision_runs (context_label, claimed_ms) WHERE status = 'running';
