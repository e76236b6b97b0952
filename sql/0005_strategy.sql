-- Clones: a public identity and a private strategy stored as immutable, numbered graph versions.
CREATE TABLE clones (
    clone_id          INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    avatar_url        TEXT,
    bio               TEXT,
    control_mode      TEXT NOT NULL CHECK (control_mode IN ('basic', 'custom', 'power')),
    status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    active_version    INTEGER NOT NULL,
    created_ms        INTEGER NOT NULL
);

CREATE TABLE graph_versions (
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    version           INTEGER NOT NULL,
    graph_json        TEXT NOT NULL,             -- blocks and edges (the private strategy)
    layout_json       TEXT NOT NULL,             -- canvas metadata, ignored by compilation
    strategy_hash     TEXT NOT NULL,             -- sha256 of the canonical strategy (no layout)
    created_ms        INTEGER NOT NULL,
    PRIMARY KEY (clone_id, version)
);

-- Compiled read plans of each clone's active version (refreshed by the clone_read_plans asset).
CREATE TABLE clone_read_plans (
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    version           INTEGER NOT NULL,
    strategy_hash     TEXT NOT NULL,
    plan_json         TEXT NOT NULL,
    enabled_assets    INTEGER NOT NULL,
    compiled_ms       INTEGER NOT NULL,
    PRIMARY KEY (clone_id, version)
);

-- Each symbol's horizon markets with the prices of the same snapshot: what the Polymarket channel reads.
CREATE VIEW pm_symbol_markets AS
SELECT h.symbol, h.ts_ms, h.horizon, h.rank, h.market_id, h.end_ms, m.question, m.outcomes,
       s.first_price, s.best_bid, s.best_ask, s.volume_usd, s.closed
FROM pm_asset_horizons h
JOIN pm_markets m ON m.market_id = h.market_id
JOIN pm_market_snapshots s ON s.market_id = h.market_id AND s.ts_ms = h.ts_ms;
