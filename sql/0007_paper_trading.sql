-- Paper trading: synthetic accounts per clone and run context, positions, fills, an exact money ledger
-- (integer micro-USDC), equity curves, and backtests.

CREATE TABLE paper_accounts (
    account_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    context_label     TEXT NOT NULL,               -- live | audition:<id> | race:<id> | backtest:<id>
    starting_micro    INTEGER NOT NULL,
    balance_micro     INTEGER NOT NULL,            -- deposit + realized PnL - fees + funding: the ledger's sum
    peak_equity_micro INTEGER NOT NULL,
    stopped           INTEGER NOT NULL DEFAULT 0,  -- the drawdown stop or a liquidation ended trading here
    stop_reason       TEXT,
    funded_to_ms      INTEGER NOT NULL,            -- funding is accrued for hours up to this one
    created_ms        INTEGER NOT NULL,
    UNIQUE (clone_id, context_label)
);

CREATE TABLE paper_positions (
    account_id        INTEGER NOT NULL REFERENCES paper_accounts (account_id),
    coin              TEXT NOT NULL,
    size              TEXT NOT NULL,               -- signed decimal, base units
    entry_px          TEXT NOT NULL,
    leverage          TEXT NOT NULL,
    stop_loss         TEXT,
    take_profit       TEXT,
    realized_micro    INTEGER NOT NULL DEFAULT 0,
    updated_ms        INTEGER NOT NULL,
    PRIMARY KEY (account_id, coin)
);

CREATE TABLE paper_fills (
    fill_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER NOT NULL REFERENCES paper_accounts (account_id),
    order_id          INTEGER REFERENCES orders (order_id),   -- NULL for closes the runtime made (SL/TP, stops)
    cause             TEXT NOT NULL,               -- order | stop_loss | take_profit | liquidation | drawdown_stop
    coin              TEXT NOT NULL,
    side              TEXT NOT NULL,
    size              TEXT NOT NULL,
    price             TEXT NOT NULL,
    liquidity         TEXT NOT NULL,
    fee_micro         INTEGER NOT NULL,
    half_spread_micro INTEGER NOT NULL,
    impact_micro      INTEGER NOT NULL,
    unfilled          TEXT NOT NULL,
    source            TEXT NOT NULL,               -- book | mid_fallback | limit_cross
    notes             TEXT NOT NULL,
    snapshot_json     TEXT NOT NULL,               -- the market snapshot the fill was computed from
    ts_ms             INTEGER NOT NULL,
    UNIQUE (account_id, cause, coin, ts_ms)
);

-- Every money movement. amount_micro is the cash effect; a fill's own row carries its notional in detail.
CREATE TABLE ledger_events (
    event_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER NOT NULL REFERENCES paper_accounts (account_id),
    kind              TEXT NOT NULL CHECK (kind IN ('deposit', 'fill', 'fee', 'funding', 'realized_pnl', 'liquidation')),
    ref               TEXT NOT NULL,               -- what caused it: fill:<id>, funding:<coin>:<hour>, account
    amount_micro      INTEGER NOT NULL,
    detail            TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    UNIQUE (account_id, kind, ref)
);

CREATE TABLE equity_curve (
    account_id        INTEGER NOT NULL REFERENCES paper_accounts (account_id),
    ts_ms             INTEGER NOT NULL,
    equity_micro      INTEGER NOT NULL,
    balance_micro     INTEGER NOT NULL,
    margin_micro      INTEGER NOT NULL,
    unrealized_micro  INTEGER NOT NULL,
    drawdown_pct      REAL NOT NULL,
    exposure_usd      REAL NOT NULL,
    PRIMARY KEY (account_id, ts_ms)
) WITHOUT ROWID;

CREATE TABLE backtests (
    backtest_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    start_ms          INTEGER NOT NULL,
    end_ms            INTEGER NOT NULL,
    cadence           TEXT NOT NULL,
    metrics_json      TEXT,
    result_sha256     TEXT,                        -- hash of the equity curve and fills: equal runs, equal hashes
    created_ms        INTEGER NOT NULL
);
