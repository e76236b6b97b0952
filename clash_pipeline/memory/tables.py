"""The market-memory tables that writers fill, with their natural keys (see sql/)."""

from __future__ import annotations

from clash_pipeline.memory.upsert import Table

HL_ASSETS = Table(
    "hl_assets",
    (
        "coin", "kind", "dex", "asset_id", "display_name", "base", "quote", "sz_decimals",
        "max_leverage", "margin_table_id", "only_isolated", "is_delisted", "updated_ms",
    ),
    ("coin",),
    "updated_ms",
)
HL_MARGIN_TIERS = Table(
    "hl_margin_tiers",
    ("dex", "margin_table_id", "lower_bound_usd", "max_leverage", "description"),
    ("dex", "margin_table_id", "lower_bound_usd"),
)
HL_API_CATEGORIES = Table(
    "hl_api_categories", ("coin", "category", "keywords", "updated_ms"), ("coin",), "updated_ms"
)
ASSET_CATEGORIES = Table(
    "asset_categories",
    ("coin", "category", "subcategory", "rule", "mapping_version", "updated_ms"),
    ("coin", "category", "subcategory"),
    "updated_ms",
)
HL_MIDS = Table("hl_mids", ("coin", "ts_ms", "mid"), ("coin", "ts_ms"), "ts_ms")
HL_CANDLES = Table(
    "hl_candles",
    ("coin", "interval", "open_ms", "close_ms", "open", "high", "low", "close", "volume", "trades"),
    ("coin", "interval", "open_ms"),
    "open_ms",
)
HL_ASSET_CTXS = Table(
    "hl_asset_ctxs",
    (
        "coin", "ts_ms", "mark_px", "oracle_px", "mid_px", "prev_day_px", "funding", "premium",
        "open_interest", "day_ntl_vlm", "day_base_vlm", "impact_bid_px", "impact_ask_px",
        "circulating_supply",
    ),
    ("coin", "ts_ms"),
    "ts_ms",
)
HL_POSITIONING = Table(
    "hl_positioning",
    (
        "coin", "ts_ms", "open_interest", "open_interest_usd", "oi_change_pct", "oi_change_window_ms",
        "day_ntl_vlm", "mark_oracle_premium_bps",
    ),
    ("coin", "ts_ms"),
    "ts_ms",
)
HL_FUNDING_HISTORY = Table(
    "hl_funding_history",
    ("coin", "hour_ms", "time_ms", "funding_rate", "premium"),
    ("coin", "hour_ms"),
    "hour_ms",
)
HL_PREDICTED_FUNDINGS = Table(
    "hl_predicted_fundings",
    ("coin", "venue", "ts_ms", "funding_rate", "next_funding_ms"),
    ("coin", "venue", "ts_ms"),
    "ts_ms",
)
HL_FUNDING_PRESSURE = Table(
    "hl_funding_pressure",
    ("coin", "ts_ms", "funding", "predicted_funding", "premium", "sum_24h", "sum_7d", "annualized_pct"),
    ("coin", "ts_ms"),
    "ts_ms",
)
HL_BOOK_LEVELS = Table(
    "hl_book_levels",
    ("coin", "ts_ms", "side", "level", "px", "sz", "n"),
    ("coin", "ts_ms", "side", "level"),
    "ts_ms",
)
HL_LIQUIDITY = Table(
    "hl_liquidity",
    (
        "coin", "ts_ms", "best_bid", "best_ask", "mid", "spread_bps", "bid_depth_10bps", "ask_depth_10bps",
        "bid_depth_50bps", "ask_depth_50bps", "bid_depth_100bps", "ask_depth_100bps", "imbalance",
    ),
    ("coin", "ts_ms"),
    "ts_ms",
)
HL_VOLATILITY = Table(
    "hl_volatility",
    ("coin", "interval", "ts_ms", "window", "realized_vol", "atr", "atr_pct"),
    ("coin", "interval", "ts_ms", "window"),
    "ts_ms",
)

ALL_TABLES: tuple[Table, ...] = (
    HL_ASSETS, HL_MARGIN_TIERS, HL_API_CATEGORIES, ASSET_CATEGORIES, HL_MIDS, HL_CANDLES, HL_ASSET_CTXS,
    HL_POSITIONING, HL_FUNDING_HISTORY, HL_PREDICTED_FUNDINGS, HL_FUNDING_PRESSURE, HL_BOOK_LEVELS,
    HL_LIQUIDITY, HL_VOLATILITY,
)
