-- Hyperliquid market memory: the trade universe and its stored context.
-- Every timestamp is integer milliseconds UTC. Every table has a natural primary key so that
-- every write is an idempotent upsert.

-- The asset universe: perps (first dex and builder-deployed `dex:COIN`) and spot pairs (`@index`, `PURR/USDC`).
CREATE TABLE hl_assets (
    coin              TEXT PRIMARY KEY,          -- the API's name: BTC, xyz:TSLA, @107, PURR/USDC
    kind              TEXT NOT NULL CHECK (kind IN ('perp', 'spot')),
    dex               TEXT NOT NULL DEFAULT '',  -- '' for the first perp dex and for spot
    asset_id          INTEGER NOT NULL,          -- the exchange's asset id
    display_name      TEXT NOT NULL,             -- BTC, xyz:TSLA, HYPE/USDC
    base              TEXT,                      -- spot: base token name
    quote             TEXT,                      -- spot: quote token name; perps: collateral
    sz_decimals       INTEGER NOT NULL,
    max_leverage      INTEGER,                   -- perps only
    margin_table_id   INTEGER,
    only_isolated     INTEGER NOT NULL DEFAULT 0,
    is_delisted       INTEGER NOT NULL DEFAULT 0,
    updated_ms        INTEGER NOT NULL
);

-- Margin tiers per margin table (perps). Ids below 50 with no table are one tier at that leverage.
CREATE TABLE hl_margin_tiers (
    dex               TEXT NOT NULL,
    margin_table_id   INTEGER NOT NULL,
    lower_bound_usd   REAL NOT NULL,
    max_leverage      INTEGER NOT NULL,
    description       TEXT,
    PRIMARY KEY (dex, margin_table_id, lower_bound_usd)
);

-- The product's taxonomy, applied to each asset through the versioned mapping file.
CREATE TABLE asset_categories (
    coin              TEXT NOT NULL,
    category          TEXT NOT NULL,             -- Perps, Spot, Crypto, Tradfi, Spot quotes, Trending, Uncategorized
    subcategory       TEXT NOT NULL DEFAULT '',  -- AI, DeFi, Stocks, USDC, ...
    rule              TEXT NOT NULL,             -- why: which mapping rule put it here
    mapping_version   TEXT NOT NULL,             -- taxonomy.toml version (+ extension version)
    updated_ms        INTEGER NOT NULL,
    PRIMARY KEY (coin, category, subcategory)
);

-- What the API says about an asset's category (perpCategories / perpConciseAnnotations).
CREATE TABLE hl_api_categories (
    coin              TEXT PRIMARY KEY,
    category          TEXT NOT NULL,
    keywords          TEXT,                      -- comma-joined, when the API gives them
    updated_ms        INTEGER NOT NULL
);

-- Mid prices.
CREATE TABLE hl_mids (
    coin              TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    mid               REAL NOT NULL,
    PRIMARY KEY (coin, ts_ms)
) WITHOUT ROWID;

-- OHLC candles.
CREATE TABLE hl_candles (
    coin              TEXT NOT NULL,
    interval          TEXT NOT NULL,
    open_ms           INTEGER NOT NULL,
    close_ms          INTEGER NOT NULL,
    open              REAL NOT NULL,
    high              REAL NOT NULL,
    low               REAL NOT NULL,
    close             REAL NOT NULL,
    volume            REAL NOT NULL,             -- base units
    trades            INTEGER NOT NULL,
    PRIMARY KEY (coin, interval, open_ms)
) WITHOUT ROWID;

-- Per-asset context snapshots (metaAndAssetCtxs / spotMetaAndAssetCtxs): positioning pressure and more.
CREATE TABLE hl_asset_ctxs (
    coin              TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    mark_px           REAL,
    oracle_px         REAL,
    mid_px            REAL,
    prev_day_px       REAL,
    funding           REAL,                      -- hourly rate (perps)
    premium           REAL,
    open_interest     REAL,                      -- base units (perps)
    day_ntl_vlm       REAL,
    day_base_vlm      REAL,
    impact_bid_px     REAL,
    impact_ask_px     REAL,
    circulating_supply REAL,                     -- spot
    PRIMARY KEY (coin, ts_ms)
) WITHOUT ROWID;

-- Positioning pressure, derived from consecutive context snapshots.
CREATE TABLE hl_positioning (
    coin              TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    open_interest     REAL NOT NULL,
    open_interest_usd REAL NOT NULL,
    oi_change_pct     REAL,                      -- vs the previous stored snapshot, NULL for the first
    oi_change_window_ms INTEGER,
    day_ntl_vlm       REAL NOT NULL,
    mark_oracle_premium_bps REAL NOT NULL,
    PRIMARY KEY (coin, ts_ms)
) WITHOUT ROWID;

-- Funding history, keyed on the hour (the API's `time` is a few ms past the hour).
CREATE TABLE hl_funding_history (
    coin              TEXT NOT NULL,
    hour_ms           INTEGER NOT NULL,
    time_ms           INTEGER NOT NULL,
    funding_rate      REAL NOT NULL,
    premium           REAL NOT NULL,
    PRIMARY KEY (coin, hour_ms)
) WITHOUT ROWID;

-- Predicted funding per venue.
CREATE TABLE hl_predicted_fundings (
    coin              TEXT NOT NULL,
    venue             TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    funding_rate      REAL NOT NULL,
    next_funding_ms   INTEGER,
    PRIMARY KEY (coin, venue, ts_ms)
) WITHOUT ROWID;

-- Funding pressure: current and predicted funding, premium, and rolling sums of the history.
CREATE TABLE hl_funding_pressure (
    coin              TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    funding           REAL NOT NULL,
    predicted_funding REAL,                      -- Hyperliquid's own venue prediction
    premium           REAL,
    sum_24h           REAL,
    sum_7d            REAL,
    annualized_pct    REAL NOT NULL,             -- funding x 24 x 365 x 100
    PRIMARY KEY (coin, ts_ms)
) WITHOUT ROWID;

-- L2 book levels as read (at most 20 a side): what paper fills walk.
CREATE TABLE hl_book_levels (
    coin              TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    side              TEXT NOT NULL CHECK (side IN ('bid', 'ask')),
    level             INTEGER NOT NULL,          -- 0 is the best
    px                REAL NOT NULL,
    sz                REAL NOT NULL,
    n                 INTEGER NOT NULL,
    PRIMARY KEY (coin, ts_ms, side, level)
) WITHOUT ROWID;

-- Liquidity profile per book snapshot.
CREATE TABLE hl_liquidity (
    coin              TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    best_bid          REAL NOT NULL,
    best_ask          REAL NOT NULL,
    mid               REAL NOT NULL,
    spread_bps        REAL NOT NULL,
    bid_depth_10bps   REAL NOT NULL,             -- USD notional within 10 bps of mid
    ask_depth_10bps   REAL NOT NULL,
    bid_depth_50bps   REAL NOT NULL,
    ask_depth_50bps   REAL NOT NULL,
    bid_depth_100bps  REAL NOT NULL,
    ask_depth_100bps  REAL NOT NULL,
    imbalance         REAL NOT NULL,             -- (bid - ask) / (bid + ask), 100 bps band
    PRIMARY KEY (coin, ts_ms)
) WITHOUT ROWID;

-- Volatility profile derived from candles, as of the close of the last candle used.
CREATE TABLE hl_volatility (
    coin              TEXT NOT NULL,
    interval          TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    window            INTEGER NOT NULL,          -- candles
    realized_vol      REAL NOT NULL,             -- stdev of log returns, annualized
    atr               REAL NOT NULL,             -- average true range, price units
    atr_pct           REAL NOT NULL,
    PRIMARY KEY (coin, interval, ts_ms, window)
) WITHOUT ROWID;

CREATE INDEX hl_candles_by_time ON hl_candles (interval, open_ms);
