-- Polymarket market memory: related prediction markets per tradable symbol.

-- Markets as last seen (Gamma). Outcomes, prices and token ids are JSON arrays; prices stay decimal strings.
CREATE TABLE pm_markets (
    market_id         TEXT PRIMARY KEY,          -- Gamma id
    condition_id      TEXT NOT NULL,             -- joins CLOB condition_id / book market
    slug              TEXT NOT NULL,
    question          TEXT NOT NULL,
    event_slug        TEXT,
    outcomes          TEXT NOT NULL,             -- ["Yes","No"], ["Up","Down"], team names, ...
    outcome_prices    TEXT NOT NULL,             -- ["0.505","0.495"] as given (may be ["0","0"])
    token_ids         TEXT NOT NULL,             -- CLOB token ids, same order as outcomes
    volume_usd        REAL,
    liquidity_usd     REAL,
    volume_24h_usd    REAL,
    best_bid          REAL,
    best_ask          REAL,
    last_trade        REAL,
    end_ms            INTEGER,
    closed            INTEGER NOT NULL,
    accepting_orders  INTEGER,
    closed_ms         INTEGER,
    resolved_outcome  TEXT,                      -- the outcome priced 1 once closed, if any
    updated_ms        INTEGER NOT NULL
);

-- Point-in-time prices of each market, one row per snapshot.
CREATE TABLE pm_market_snapshots (
    market_id         TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    first_price       REAL,                      -- price of the first outcome
    best_bid          REAL,
    best_ask          REAL,
    volume_usd        REAL,
    liquidity_usd     REAL,
    closed            INTEGER NOT NULL,
    PRIMARY KEY (market_id, ts_ms)
) WITHOUT ROWID;

-- Which markets relate to which symbol, and by which mapping rule (links/polymarket.toml).
CREATE TABLE pm_asset_links (
    symbol            TEXT NOT NULL,
    market_id         TEXT NOT NULL,
    rule              TEXT NOT NULL,
    mapping_version   INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL,
    PRIMARY KEY (symbol, market_id)
) WITHOUT ROWID;

-- Each symbol's immediate / later / recently closed markets as of a snapshot.
CREATE TABLE pm_asset_horizons (
    symbol            TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    horizon           TEXT NOT NULL CHECK (horizon IN ('immediate', 'later', 'recently_closed')),
    rank              INTEGER NOT NULL,
    market_id         TEXT NOT NULL,
    end_ms            INTEGER,
    PRIMARY KEY (symbol, ts_ms, horizon, rank)
) WITHOUT ROWID;

-- CLOB books of the horizon markets' first-outcome tokens: best levels by value, depth.
CREATE TABLE pm_books (
    token_id          TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    condition_id      TEXT NOT NULL,
    best_bid          REAL,
    best_ask          REAL,
    mid               REAL,
    spread            REAL,
    bid_depth         REAL,                      -- shares on the bid side
    ask_depth         REAL,
    PRIMARY KEY (token_id, ts_ms)
) WITHOUT ROWID;
