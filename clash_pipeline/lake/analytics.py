"""Cross-clone analytics over the lake, in DuckDB: per clone, run context and UTC day, the return, the worst
drawdown, turnover, fees, decisions and model usage (tokens, and their cost where a price per model is given).

The engines record tokens (the `openai` engine; `hold` and `rules` use none), not prices: the cost is priced here
with the table passed (the `clone_analytics` asset passes the runtime's, `decisions/costs.py`), and is NULL (None)
for a day whose tokens have no price in it."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from clash_pipeline.lake.query import connect
from clash_pipeline.lake.store import Lake

PRICES_SCHEMA = pa.schema([("model", pa.string()), ("usd_per_mtok_in", pa.float64()),
                           ("usd_per_mtok_out", pa.float64())])

CLONE_DAILY_SQL = """
WITH accounts AS (
    SELECT a.account_id, a.clone_id, c.name AS clone, a.context_label AS context, a.starting_micro, a.created_ms
    FROM paper_accounts a LEFT JOIN clones c USING (clone_id)
), points AS (
    SELECT account_id, CAST(make_timestamp(ts_ms * 1000) AS DATE) AS day, ts_ms, equity_micro,
           drawdown_pct
    FROM equity_curve
), daily AS (
    SELECT account_id, day, arg_min(equity_micro, ts_ms) AS first_equity, arg_max(equity_micro, ts_ms) AS end_equity,
           max(drawdown_pct) AS max_drawdown_pct, count(*) AS points
    FROM points GROUP BY ALL
), fills AS (
    SELECT account_id, CAST(make_timestamp(ts_ms * 1000) AS DATE) AS day, count(*) AS fills,
           sum(abs(CAST(size AS DOUBLE) * CAST(price AS DOUBLE))) AS turnover_usd, sum(fee_micro) AS fee_micro
    FROM paper_fills GROUP BY ALL
), runs AS (
    SELECT r.clone_id, r.context_label AS context,
           CAST(make_timestamp(r.tick_ms * 1000) AS DATE) AS day, count(*) AS decisions,
           CAST(sum(coalesce(r.tokens_in, 0)) AS BIGINT) AS tokens_in,
           CAST(sum(coalesce(r.tokens_out, 0)) AS BIGINT) AS tokens_out,
           CASE WHEN bool_or(coalesce(r.tokens_in, 0) + coalesce(r.tokens_out, 0) > 0
                             AND coalesce(p.model, fb.model) IS NULL) THEN NULL
                ELSE sum(coalesce((coalesce(r.tokens_in, 0) * coalesce(p.usd_per_mtok_in, fb.usd_per_mtok_in)
                                   + coalesce(r.tokens_out, 0) * coalesce(p.usd_per_mtok_out, fb.usd_per_mtok_out))
                                  / 1e6, 0)) END
               AS model_cost_usd
    FROM decision_runs r LEFT JOIN model_prices p ON p.model = r.model
    LEFT JOIN model_prices fb ON fb.model = '*'  -- the price table's fallback for a model it does not list
    GROUP BY ALL
), joined AS (
    SELECT a.clone_id, a.clone, a.context, d.day, d.end_equity, d.max_drawdown_pct, d.points,
           coalesce(lag(d.end_equity) OVER (PARTITION BY d.account_id ORDER BY d.day),
                    CASE WHEN a.created_ms >= epoch_ms(d.day::TIMESTAMP) THEN a.starting_micro ELSE d.first_equity END)
               AS start_equity,
           coalesce(f.fills, 0) AS fills, coalesce(f.turnover_usd, 0) AS turnover_usd,
           coalesce(f.fee_micro, 0) AS fee_micro, coalesce(r.decisions, 0) AS decisions,
           coalesce(r.tokens_in, 0) AS tokens_in, coalesce(r.tokens_out, 0) AS tokens_out,
           CASE WHEN r.decisions IS NULL THEN 0 ELSE r.model_cost_usd END AS model_cost_usd
    FROM daily d JOIN accounts a USING (account_id)
    LEFT JOIN fills f USING (account_id, day)
    LEFT JOIN runs r ON r.clone_id = a.clone_id AND r.context = a.context AND r.day = d.day
)
SELECT clone_id, clone, context, day, round(end_equity / 1e6, 6) AS end_equity_usd,
       round((end_equity - start_equity) * 100.0 / start_equity, 6) AS return_pct,
       round(max_drawdown_pct, 6) AS max_drawdown_pct, round(turnover_usd, 2) AS turnover_usd,
       round(turnover_usd * 1e6 / start_equity, 6) AS turnover_ratio, fills, round(fee_micro / 1e6, 6) AS fees_usd,
       decisions, tokens_in, tokens_out, model_cost_usd, points
FROM joined
ORDER BY clone_id, context, day
"""


def clone_daily(lake: Lake, start: str | None = None, end: str | None = None,
                model_prices: dict[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """One row per clone, context and day in [start, end] (inclusive, None: unbounded); `model_prices` maps a model
    to (USD per million input tokens, per million output tokens), `*` a fallback for models it does not list."""
    prices = pa.table({"model": list(model_prices or {}),
                       "usd_per_mtok_in": [float(p[0]) for p in (model_prices or {}).values()],
                       "usd_per_mtok_out": [float(p[1]) for p in (model_prices or {}).values()]},
                      schema=PRICES_SCHEMA)
    con = connect(lake, start, end, extra={"model_prices": prices})
    try:
        frame = con.sql(CLONE_DAILY_SQL).df()
    finally:
        con.close()
    frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%Y-%m-%d")
    return frame
