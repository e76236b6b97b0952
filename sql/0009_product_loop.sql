-- The product loop: lifecycle, auditions, the promotion queue and arena, races, tickets, settlements, careers.
-- Wei amounts are exact integers stored as decimal text (a race pool can pass 2^63 wei).

ALTER TABLE clones ADD COLUMN creator TEXT;        -- the creator's address (public)

CREATE TABLE clone_lifecycle (
    clone_id          INTEGER PRIMARY KEY REFERENCES clones (clone_id),
    state             TEXT NOT NULL,
    changed_ms        INTEGER NOT NULL
);

CREATE TABLE lifecycle_events (
    event_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    from_state        TEXT NOT NULL,
    to_state          TEXT NOT NULL,
    cause             TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL
);

CREATE TABLE auditions (
    audition_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    start_ms          INTEGER NOT NULL,
    end_ms            INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed')),
    criteria_json     TEXT NOT NULL,
    evaluation_json   TEXT,                        -- each criterion: value, threshold, passed
    finished_ms       INTEGER
);

CREATE TABLE promotion_queue (
    clone_id          INTEGER PRIMARY KEY REFERENCES clones (clone_id),
    passed_ms         INTEGER NOT NULL             -- first passed, first promoted; ties by clone id
);

CREATE TABLE races (
    race_id           TEXT PRIMARY KEY,            -- the window's start, e.g. 2026-11-28-06:00
    start_ms          INTEGER NOT NULL,
    end_ms            INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('accumulating', 'running', 'ended', 'settled', 'cancelled')),
    carry_in_wei      TEXT NOT NULL DEFAULT '0'
);

CREATE TABLE race_entrants (
    race_id           TEXT NOT NULL REFERENCES races (race_id),
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    start_equity_micro INTEGER,
    end_equity_micro  INTEGER,
    return_pct        REAL,
    max_drawdown_pct  REAL,
    trades            INTEGER,
    rank              INTEGER,
    PRIMARY KEY (race_id, clone_id)
);

-- One frozen market snapshot id per decision tick of a race: every entrant's run at that tick cites it.
CREATE TABLE race_ticks (
    race_id           TEXT NOT NULL REFERENCES races (race_id),
    tick_ms           INTEGER NOT NULL,
    snapshot_id       TEXT NOT NULL,
    PRIMARY KEY (race_id, tick_ms)
);

CREATE TABLE race_runs (
    race_id           TEXT NOT NULL,
    tick_ms           INTEGER NOT NULL,
    run_id            INTEGER NOT NULL REFERENCES decision_runs (run_id),
    clone_id          INTEGER NOT NULL,
    snapshot_id       TEXT NOT NULL,
    PRIMARY KEY (race_id, run_id)
);

CREATE TABLE tickets (
    ticket_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    race_id           TEXT NOT NULL REFERENCES races (race_id),
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    holder            TEXT NOT NULL,
    amount_wei        TEXT NOT NULL,
    sale_ref          TEXT NOT NULL UNIQUE,        -- the payment's reference: a sale is recorded once
    sold_ms           INTEGER NOT NULL
);

CREATE TABLE settlements (
    race_id           TEXT PRIMARY KEY REFERENCES races (race_id),
    receipt_json      TEXT NOT NULL,
    receipt_sha256    TEXT NOT NULL,
    carry_out_wei     TEXT NOT NULL,
    settled_ms        INTEGER NOT NULL
);

CREATE TABLE careers (
    clone_id          INTEGER PRIMARY KEY REFERENCES clones (clone_id),
    races             INTEGER NOT NULL,
    wins              INTEGER NOT NULL,
    average_return_pct REAL,
    best_return_pct   REAL,
    worst_drawdown_pct REAL,
    tickets_drawn     INTEGER NOT NULL,
    creator_earnings_wei TEXT NOT NULL,
    retired_ms        INTEGER NOT NULL,
    reason            TEXT NOT NULL,
    archive_key       TEXT
);
