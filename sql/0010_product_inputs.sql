-- Product-loop inputs trusted at the door: audition fees recorded once per payment reference, abandoned
-- auditions, and a key for confusable clone names.

-- An audition fee, recorded once per payment reference (a retried payment records nothing new).
CREATE TABLE audition_fees (
    payment_ref       TEXT PRIMARY KEY,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    paid_ms           INTEGER NOT NULL
);

-- Auditions gain the 'abandoned' status (a stranded audition given up by command): SQLite rebuilds the table.
CREATE TABLE auditions_new (
    audition_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    start_ms          INTEGER NOT NULL,
    end_ms            INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'abandoned')),
    criteria_json     TEXT NOT NULL,
    evaluation_json   TEXT,                        -- each criterion: value, threshold, passed
    finished_ms       INTEGER
);
INSERT INTO auditions_new SELECT * FROM auditions;
DROP TABLE auditions;
ALTER TABLE auditions_new RENAME TO auditions;

-- The confusable skeletons of a clone's name (UTS #39, as written and case-folded): a clone whose name shares
-- either with another's looks alike. Rows from before this migration get theirs when the next clone is created.
ALTER TABLE clones ADD COLUMN name_skeleton TEXT;
ALTER TABLE clones ADD COLUMN name_fold_skeleton TEXT;
CREATE INDEX clones_name_skeleton ON clones (name_skeleton);
CREATE INDEX clones_name_fold_skeleton ON clones (name_fold_skeleton);
