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

HYPERLIQUID_TABLES: tuple[Table, ...] = (
    HL_ASSETS, HL_MARGIN_TIERS, HL_API_CATEGORIES, ASSET_CATEGORIES, HL_MIDS, HL_CANDLES, HL_ASSET_CTXS,
    HL_POSITIONING, HL_FUNDING_HISTORY, HL_PREDICTED_FUNDINGS, HL_FUNDING_PRESSURE, HL_BOOK_LEVELS,
    HL_LIQUIDITY, HL_VOLATILITY,
)

PM_MARKETS = Table(
    "pm_markets",
    (
        "market_id", "condition_id", "slug", "question", "event_slug", "outcomes", "outcome_prices", "token_ids",
        "volume_usd", "liquidity_usd", "volume_24h_usd", "best_bid", "best_ask", "last_trade", "end_ms", "closed",
        "accepting_orders", "closed_ms", "resolved_outcome", "updated_ms",
    ),
    ("market_id",),
    "updated_ms",
)
PM_MARKET_SNAPSHOTS = Table(
    "pm_market_snapshots",
    ("market_id", "ts_ms", "first_price", "best_bid", "best_ask", "volume_usd", "liquidity_usd", "closed"),
    ("market_id", "ts_ms"),
    "ts_ms",
)
PM_ASSET_LINKS = Table(
    "pm_asset_links", ("symbol", "market_id", "rule", "mapping_version", "updated_ms"), ("symbol", "market_id"),
    "updated_ms",
)
PM_ASSET_HORIZONS = Table(
    "pm_asset_horizons", ("symbol", "ts_ms", "horizon", "rank", "market_id", "end_ms"),
    ("symbol", "ts_ms", "horizon", "rank"), "ts_ms",
)
PM_BOOKS = Table(
    "pm_books",
    ("token_id", "ts_ms", "condition_id", "best_bid", "best_ask", "mid", "spread", "bid_depth", "ask_depth"),
    ("token_id", "ts_ms"),
    "ts_ms",
)
POLYMARKET_TABLES: tuple[Table, ...] = (PM_MARKETS, PM_MARKET_SNAPSHOTS, PM_ASSET_LINKS, PM_ASSET_HORIZONS, PM_BOOKS)

DL_CHAINS = Table("dl_chains", ("name", "gecko_id", "token_symbol", "cmc_id", "chain_id", "tvl_usd", "updated_ms"),
                  ("name",), "updated_ms")
DL_STABLECOINS = Table(
    "dl_stablecoins",
    ("id", "symbol", "name", "gecko_id", "peg_type", "peg_mechanism", "circulating", "circulating_prev_day",
     "circulating_prev_week", "circulating_prev_month", "price", "chains", "updated_ms"),
    ("id",), "updated_ms",
)
DL_TVL = Table("dl_tvl", ("subject", "date_ms", "tvl_usd"), ("subject", "date_ms"), "date_ms")
DL_STABLECOIN_SUPPLY = Table("dl_stablecoin_supply", ("subject", "date_ms", "circulating_usd"), ("subject", "date_ms"),
                             "date_ms")
DL_FLOWS = Table(
    "dl_flows",
    ("kind", "subject", "date_ms", "value_usd", "change_1d_usd", "change_7d_usd", "change_30d_usd", "change_1d_pct",
     "change_7d_pct", "change_30d_pct"),
    ("kind", "subject", "date_ms"), "date_ms",
)
DL_THROUGHPUT = Table("dl_throughput", ("metric", "subject", "date_ms", "value_usd"), ("metric", "subject", "date_ms"),
                      "date_ms")
DL_THROUGHPUT_SUMMARY = Table(
    "dl_throughput_summary",
    ("metric", "subject", "ts_ms", "total_24h", "total_7d", "total_30d", "change_1d_pct", "change_7d_pct",
     "change_1m_pct"),
    ("metric", "subject", "ts_ms"), "ts_ms",
)
DL_ASSET_LINKS = Table("dl_asset_links", ("symbol", "subject_kind", "subject", "reason", "updated_ms"),
                       ("symbol", "subject_kind", "subject"), "updated_ms")
DEFILLAMA_TABLES = (DL_CHAINS, DL_STABLECOINS, DL_TVL, DL_STABLECOIN_SUPPLY, DL_FLOWS, DL_THROUGHPUT,
                    DL_THROUGHPUT_SUMMARY, DL_ASSET_LINKS)
MARKET_MEMORY_TABLES = (*HYPERLIQUID_TABLES, *POLYMARKET_TABLES, *DEFILLAMA_TABLES)
