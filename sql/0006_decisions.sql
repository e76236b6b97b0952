-- The decision runtime: one run per (clone, strategy, asset, tick), the proposed action, every gate's verdict,
-- dry-run orders and their ledger of execution events. Large payloads (context, prompt, response, reason) live
-- in the archive (through the outbox); rows keep the key and hash.

CREATE TABLE decision_runs (
    run_id            INTEGER PRIMARY KEY AUTOINCREMENT,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    version           INTEGER NOT NULL,
    prompt_id         TEXT NOT NULL,
    coin              TEXT NOT NULL,
    tick_ms           INTEGER NOT NULL,           -- the cadence tick (a forced run: the time it was forced)
    forced            INTEGER NOT NULL DEFAULT 0,
    context_label     TEXT NOT NULL DEFAULT 'live',
    status            TEXT NOT NULL CHECK (status IN ('running', 'held', 'rejected', 'ordered', 'failed')),
    engine            TEXT NOT NULL,
    model             TEXT,
    worker            TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 1,
    claimed_ms        INTEGER NOT NULL,
    finished_ms       INTEGER,
    reply_status      TEXT,                       -- ok | refused | malformed | empty | error
    error             TEXT,
    payload_key       TEXT,                       -- archive object with context, prompt, response, reason
    payload_sha256    TEXT,
    latency_ms        REAL,
    tokens_in         INTEGER,
    tokens_out        INTEGER,
    UNIQUE (clone_id, prompt_id, coin, tick_ms, context_label)
);
CREATE INDEX decision_runs_status ON decision_runs (status, claimed_ms);
CREATE INDEX decision_runs_clone ON decision_runs (clone_id, coin, finished_ms);

CREATE TABLE decision_actions (
    run_id            INTEGER PRIMARY KEY REFERENCES decision_runs (run_id),
    action            TEXT NOT NULL,              -- hold | open_long | open_short | reduce | close
    size_usd          REAL,
    size_fraction     REAL,
    leverage          REAL,
    order_type        TEXT,
    limit_price       REAL,
    take_profit       REAL,
    stop_loss         REAL,
    confidence        REAL,
    reason            TEXT                        -- the first 200 characters; the whole reply is archived
);

CREATE TABLE decision_gates (
    run_id            INTEGER NOT NULL REFERENCES decision_runs (run_id),
    gate              TEXT NOT NULL,
    passed            INTEGER NOT NULL,
    detail            TEXT NOT NULL,
    PRIMARY KEY (run_id, gate)
);

CREATE TABLE orders (
    order_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id            INTEGER NOT NULL UNIQUE REFERENCES decision_runs (run_id),
    clone_id          INTEGER NOT NULL,
    coin              TEXT NOT NULL,
    side              TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    size              TEXT NOT NULL,              -- exact decimal, on the lot
    price             TEXT,                       -- limit price on the tick; NULL for market
    order_type        TEXT NOT NULL CHECK (order_type IN ('market', 'limit')),
    reduce_only       INTEGER NOT NULL,
    take_profit       TEXT,
    stop_loss         TEXT,
    client_order_id   TEXT NOT NULL UNIQUE,       -- 0x + 32 hex, derived from the run
    status            TEXT NOT NULL CHECK (status IN ('dry_run_open', 'filled', 'partially_filled', 'cancelled',
                                                      'rejected', 'expired')),
    created_ms        INTEGER NOT NULL
);

CREATE TABLE execution_events (
    event_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id            INTEGER NOT NULL REFERENCES decision_runs (run_id),
    order_id          INTEGER REFERENCES orders (order_id),
    kind              TEXT NOT NULL,              -- order_created | order_rejected | order_cancelled | ...
    detail            TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    UNIQUE (run_id, kind)
);

-- Kill switches: 'global', or 'clone:<id>'. An engaged switch rejects every new order in its scope.
CREATE TABLE kill_switches (
    scope             TEXT PRIMARY KEY,
    engaged           INTEGER NOT NULL,
    reason            TEXT,
    updated_ms        INTEGER NOT NULL
);
