-- decision_runs_clone (clone_id, coin, finished_ms) is read by no query its leading column does not already
-- serve: the run key's unique index starts with clone_id too. One index fewer for every run written.
DROP INDEX decision_runs_clone;
