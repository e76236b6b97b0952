-- DefiLlama market memory: macro DeFi context. Subject '' is the global (all chains) row; otherwise a chain
-- name as DefiLlama spells it. Dates are 00:00 UTC of the day in ms (the current day is partial).

CREATE TABLE dl_chains (
    name              TEXT PRIMARY KEY,
    gecko_id          TEXT,
    token_symbol      TEXT,
    cmc_id            TEXT,
    chain_id          TEXT,                      -- a number, a string or null in the API
    tvl_usd           REAL NOT NULL,
    updated_ms        INTEGER NOT NULL
);

CREATE TABLE dl_stablecoins (
    id                TEXT PRIMARY KEY,
    symbol            TEXT NOT NULL,
    name              TEXT NOT NULL,
    gecko_id          TEXT,
    peg_type          TEXT NOT NULL,
    peg_mechanism     TEXT,
    circulating       REAL NOT NULL,             -- in peg units
    circulating_prev_day REAL,
    circulating_prev_week REAL,
    circulating_prev_month REAL,
    price             REAL,
    chains            TEXT NOT NULL,             -- JSON array
    updated_ms        INTEGER NOT NULL
);

-- Capital base: TVL and stablecoin supply per day.
CREATE TABLE dl_tvl (
    subject           TEXT NOT NULL,
    date_ms           INTEGER NOT NULL,
    tvl_usd           REAL NOT NULL CHECK (tvl_usd >= 0),
    PRIMARY KEY (subject, date_ms)
) WITHOUT ROWID;

CREATE TABLE dl_stablecoin_supply (
    subject           TEXT NOT NULL,
    date_ms           INTEGER NOT NULL,
    circulating_usd   REAL NOT NULL,
    PRIMARY KEY (subject, date_ms)
) WITHOUT ROWID;

-- Capital flows: changes of TVL and stablecoin supply over 1d / 7d / 30d.
CREATE TABLE dl_flows (
    kind              TEXT NOT NULL CHECK (kind IN ('tvl', 'stablecoins')),
    subject           TEXT NOT NULL,
    date_ms           INTEGER NOT NULL,
    value_usd         REAL NOT NULL,
    change_1d_usd     REAL,
    change_7d_usd     REAL,
    change_30d_usd    REAL,
    change_1d_pct     REAL,
    change_7d_pct     REAL,
    change_30d_pct    REAL,
    PRIMARY KEY (kind, subject, date_ms)
) WITHOUT ROWID;

-- Economic throughput: fees, revenue and DEX volume per day, and the API's rolling summary per snapshot.
CREATE TABLE dl_throughput (
    metric            TEXT NOT NULL CHECK (metric IN ('fees', 'revenue', 'dex_volume')),
    subject           TEXT NOT NULL,
    date_ms           INTEGER NOT NULL,
    value_usd         REAL NOT NULL,
    PRIMARY KEY (metric, subject, date_ms)
) WITHOUT ROWID;

CREATE TABLE dl_throughput_summary (
    metric            TEXT NOT NULL CHECK (metric IN ('fees', 'revenue', 'dex_volume')),
    subject           TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    total_24h         REAL,
    total_7d          REAL,
    total_30d         REAL,
    change_1d_pct     REAL,
    change_7d_pct     REAL,
    change_1m_pct     REAL,
    PRIMARY KEY (metric, subject, ts_ms)
) WITHOUT ROWID;

-- Which DefiLlama subjects (chains, stablecoins) link to a tradable symbol, and why.
CREATE TABLE dl_asset_links (
    symbol            TEXT NOT NULL,
    subject_kind      TEXT NOT NULL CHECK (subject_kind IN ('chain', 'stablecoin')),
    subject           TEXT NOT NULL,             -- chain name, or stablecoin symbol
    reason            TEXT NOT NULL,
    updated_ms        INTEGER NOT NULL,
    PRIMARY KEY (symbol, subject_kind, subject)
) WITHOUT ROWID;
