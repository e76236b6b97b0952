-- The archive outbox: every object written through it is recorded here first, with its payload kept on local
-- disk, so that writing never waits on the object store. `clash archive drain` (and the Dagster drain) uploads
-- pending objects and flips them to archived; uploads are idempotent (content-addressed keys).
CREATE TABLE archive_objects (
    key               TEXT PRIMARY KEY,          -- <kind>/<date>/<parts...>/<sha256>.gz
    sha256            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    stored_bytes      INTEGER NOT NULL,
    raw_bytes         INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('archive_pending', 'archived')),
    created_ms        INTEGER NOT NULL,
    archived_ms       INTEGER,
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT
);

CREATE INDEX archive_objects_pending ON archive_objects (status, created_ms);
