"""The lake's tables: one explicit pyarrow schema per market-memory table it holds, with its natural key (the
sort order of every file), the time column that assigns a row to a day, and its kind.

- `MARKET`: market history, partitioned by the UTC day of its time column (`hl_candles` also per interval).
- `TRADING`: trading history (decision runs, orders, fills, ledger events, equity points), partitioned the same way.
- `REFERENCE`: current state (the universe, market and chain catalogues, clones and their strategies, kill
  switches, paper accounts), written whole into every day's partition as of the export; readers take the newest.

Column names and types are those of `sql/` (INTEGER int64, REAL float64, TEXT string); a test checks them against
a migrated market memory. Bump `SCHEMA_VERSION` when a schema changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import pyarrow as pa

from clash_pipeline.memory.upsert import Table

SCHEMA_VERSION = 1
INT, FLOAT, TEXT = pa.int64(), pa.float64(), pa.string()


class Kind(StrEnum):
    MARKET = "market"
    TRADING = "trading"
    REFERENCE = "reference"


def req(name: str, type_: pa.DataType) -> pa.Field:
    return pa.field(name, type_, nullable=False)


def opt(name: str, type_: pa.DataType) -> pa.Field:
    return pa.field(name, type_, nullable=True)


@dataclass(frozen=True)
class LakeTable:
    name: str
    kind: Kind
    key: tuple[str, ...]
    time_column: str | None
    schema: pa.Schema
    split_by: str | None = None  # one file per value of this column (hl_candles: per interval)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.names)

    @cached_property
    def memory_table(self) -> Table:
        """The same table for market memory's upsert path (hydration)."""
        return Table(self.name, self.columns, self.key, self.time_column)


TABLES: tuple[LakeTable, ...] = (
    # market history
    LakeTable("hl_candles", Kind.MARKET, ("coin", "interval", "open_ms"), "open_ms", pa.schema([
        req("coin", TEXT), req("interval", TEXT), req("open_ms", INT), req("close_ms", INT), req("open", FLOAT),
        req("high", FLOAT), req("low", FLOAT), req("close", FLOAT), req("volume", FLOAT), req("trades", INT),
    ]), split_by="interval"),
    LakeTable("hl_mids", Kind.MARKET, ("coin", "ts_ms"), "ts_ms", pa.schema([
        req("coin", TEXT), req("ts_ms", INT), req("mid", FLOAT),
    ])),
    LakeTable("hl_asset_ctxs", Kind.MARKET, ("coin", "ts_ms"), "ts_ms", pa.schema([
        req("coin", TEXT), req("ts_ms", INT), opt("mark_px", FLOAT), opt("oracle_px", FLOAT), opt("mid_px", FLOAT),
        opt("prev_day_px", FLOAT), opt("funding", FLOAT), opt("premium", FLOAT), opt("open_interest", FLOAT),
        opt("day_ntl_vlm", FLOAT), opt("day_base_vlm", FLOAT), opt("impact_bid_px", FLOAT),
        opt("impact_ask_px", FLOAT), opt("circulating_supply", FLOAT),
    ])),
    LakeTable("hl_positioning", Kind.MARKET, ("coin", "ts_ms"), "ts_ms", pa.schema([
        req("coin", TEXT), req("ts_ms", INT), req("open_interest", FLOAT), req("open_interest_usd", FLOAT),
        opt("oi_change_pct", FLOAT), opt("oi_change_window_ms", INT), req("day_ntl_vlm", FLOAT),
        req("mark_oracle_premium_bps", FLOAT),
    ])),
    LakeTable("hl_funding_history", Kind.MARKET, ("coin", "hour_ms"), "hour_ms", pa.schema([
        req("coin", TEXT), req("hour_ms", INT), req("time_ms", INT), req("funding_rate", FLOAT),
        req("premium", FLOAT),
    ])),
    LakeTable("hl_predicted_fundings", Kind.MARKET, ("coin", "venue", "ts_ms"), "ts_ms", pa.schema([
        req("coin", TEXT), req("venue", TEXT), req("ts_ms", INT), req("funding_rate", FLOAT),
        opt("next_funding_ms", INT),
    ])),
    LakeTable("hl_funding_pressure", Kind.MARKET, ("coin", "ts_ms"), "ts_ms", pa.schema([
        req("coin", TEXT), req("ts_ms", INT), req("funding", FLOAT), opt("predicted_funding", FLOAT),
        opt("premium", FLOAT), opt("sum_24h", FLOAT), opt("sum_7d", FLOAT), req("annualized_pct", FLOAT),
    ])),
    LakeTable("hl_book_levels", Kind.MARKET, ("coin", "ts_ms", "side", "level"), "ts_ms", pa.schema([
        req("coin", TEXT), req("ts_ms", INT), req("side", TEXT), req("level", INT), req("px", FLOAT),
        req("sz", FLOAT), req("n", INT),
    ])),
    LakeTable("hl_liquidity", Kind.MARKET, ("coin", "ts_ms"), "ts_ms", pa.schema([
        req("coin", TEXT), req("ts_ms", INT), req("best_bid", FLOAT), req("best_ask", FLOAT), req("mid", FLOAT),
        req("spread_bps", FLOAT), req("bid_depth_10bps", FLOAT), req("ask_depth_10bps", FLOAT),
        req("bid_depth_50bps", FLOAT), req("ask_depth_50bps", FLOAT), req("bid_depth_100bps", FLOAT),
        req("ask_depth_100bps", FLOAT), req("imbalance", FLOAT),
    ])),
    LakeTable("hl_volatility", Kind.MARKET, ("coin", "interval", "ts_ms", "window"), "ts_ms", pa.schema([
        req("coin", TEXT), req("interval", TEXT), req("ts_ms", INT), req("window", INT), req("realized_vol", FLOAT),
        req("atr", FLOAT), req("atr_pct", FLOAT),
    ])),
    LakeTable("pm_market_snapshots", Kind.MARKET, ("market_id", "ts_ms"), "ts_ms", pa.schema([
        req("market_id", TEXT), req("ts_ms", INT), opt("first_price", FLOAT), opt("best_bid", FLOAT),
        opt("best_ask", FLOAT), opt("volume_usd", FLOAT), opt("liquidity_usd", FLOAT), req("closed", INT),
    ])),
    LakeTable("pm_asset_horizons", Kind.MARKET, ("symbol", "ts_ms", "horizon", "rank"), "ts_ms", pa.schema([
        req("symbol", TEXT), req("ts_ms", INT), req("horizon", TEXT), req("rank", INT), req("market_id", TEXT),
        opt("end_ms", INT),
    ])),
    LakeTable("pm_books", Kind.MARKET, ("token_id", "ts_ms"), "ts_ms", pa.schema([
        req("token_id", TEXT), req("ts_ms", INT), req("condition_id", TEXT), opt("best_bid", FLOAT),
        opt("best_ask", FLOAT), opt("mid", FLOAT), opt("spread", FLOAT), opt("bid_depth", FLOAT),
        opt("ask_depth", FLOAT),
    ])),
    LakeTable("dl_tvl", Kind.MARKET, ("subject", "date_ms"), "date_ms", pa.schema([
        req("subject", TEXT), req("date_ms", INT), req("tvl_usd", FLOAT),
    ])),
    LakeTable("dl_stablecoin_supply", Kind.MARKET, ("subject", "date_ms"), "date_ms", pa.schema([
        req("subject", TEXT), req("date_ms", INT), req("circulating_usd", FLOAT),
    ])),
    LakeTable("dl_flows", Kind.MARKET, ("kind", "subject", "date_ms"), "date_ms", pa.schema([
        req("kind", TEXT), req("subject", TEXT), req("date_ms", INT), req("value_usd", FLOAT),
        opt("change_1d_usd", FLOAT), opt("change_7d_usd", FLOAT), opt("change_30d_usd", FLOAT),
        opt("change_1d_pct", FLOAT), opt("change_7d_pct", FLOAT), opt("change_30d_pct", FLOAT),
    ])),
    LakeTable("dl_throughput", Kind.MARKET, ("metric", "subject", "date_ms"), "date_ms", pa.schema([
        req("metric", TEXT), req("subject", TEXT), req("date_ms", INT), req("value_usd", FLOAT),
    ])),
    LakeTable("dl_throughput_summary", Kind.MARKET, ("metric", "subject", "ts_ms"), "ts_ms", pa.schema([
        req("metric", TEXT), req("subject", TEXT), req("ts_ms", INT), opt("total_24h", FLOAT),
        opt("total_7d", FLOAT), opt("total_30d", FLOAT), opt("change_1d_pct", FLOAT), opt("change_7d_pct", FLOAT),
        opt("change_1m_pct", FLOAT),
    ])),
    # reference
    LakeTable("hl_assets", Kind.REFERENCE, ("coin",), "updated_ms", pa.schema([
        req("coin", TEXT), req("kind", TEXT), req("dex", TEXT), req("asset_id", INT), req("display_name", TEXT),
        opt("base", TEXT), opt("quote", TEXT), req("sz_decimals", INT), opt("max_leverage", INT),
        opt("margin_table_id", INT), req("only_isolated", INT), req("is_delisted", INT), req("updated_ms", INT),
    ])),
    LakeTable("hl_margin_tiers", Kind.REFERENCE, ("dex", "margin_table_id", "lower_bound_usd"), None, pa.schema([
        req("dex", TEXT), req("margin_table_id", INT), req("lower_bound_usd", FLOAT), req("max_leverage", INT),
        opt("description", TEXT),
    ])),
    LakeTable("hl_api_categories", Kind.REFERENCE, ("coin",), "updated_ms", pa.schema([
        req("coin", TEXT), req("category", TEXT), opt("keywords", TEXT), req("updated_ms", INT),
    ])),
    LakeTable("asset_categories", Kind.REFERENCE, ("coin", "category", "subcategory"), "updated_ms", pa.schema([
        req("coin", TEXT), req("category", TEXT), req("subcategory", TEXT), req("rule", TEXT),
        req("mapping_version", TEXT), req("updated_ms", INT),
    ])),
    LakeTable("pm_markets", Kind.REFERENCE, ("market_id",), "updated_ms", pa.schema([
        req("market_id", TEXT), req("condition_id", TEXT), req("slug", TEXT), req("question", TEXT),
        opt("event_slug", TEXT), req("outcomes", TEXT), req("outcome_prices", TEXT), req("token_ids", TEXT),
        opt("volume_usd", FLOAT), opt("liquidity_usd", FLOAT), opt("volume_24h_usd", FLOAT), opt("best_bid", FLOAT),
        opt("best_ask", FLOAT), opt("last_trade", FLOAT), opt("end_ms", INT), req("closed", INT),
        opt("accepting_orders", INT), opt("closed_ms", INT), opt("resolved_outcome", TEXT), req("updated_ms", INT),
    ])),
    LakeTable("pm_asset_links", Kind.REFERENCE, ("symbol", "market_id"), "updated_ms", pa.schema([
        req("symbol", TEXT), req("market_id", TEXT), req("rule", TEXT), req("mapping_version", INT),
        req("updated_ms", INT),
    ])),
    LakeTable("dl_chains", Kind.REFERENCE, ("name",), "updated_ms", pa.schema([
        req("name", TEXT), opt("gecko_id", TEXT), opt("token_symbol", TEXT), opt("cmc_id", TEXT),
        opt("chain_id", TEXT), req("tvl_usd", FLOAT), req("updated_ms", INT),
    ])),
    LakeTable("dl_stablecoins", Kind.REFERENCE, ("id",), "updated_ms", pa.schema([
        req("id", TEXT), req("symbol", TEXT), req("name", TEXT), opt("gecko_id", TEXT), req("peg_type", TEXT),
        opt("peg_mechanism", TEXT), req("circulating", FLOAT), opt("circulating_prev_day", FLOAT),
        opt("circulating_prev_week", FLOAT), opt("circulating_prev_month", FLOAT), opt("price", FLOAT),
        req("chains", TEXT), req("updated_ms", INT),
    ])),
    LakeTable("dl_asset_links", Kind.REFERENCE, ("symbol", "subject_kind", "subject"), "updated_ms", pa.schema([
        req("symbol", TEXT), req("subject_kind", TEXT), req("subject", TEXT), req("reason", TEXT),
        req("updated_ms", INT),
    ])),
    LakeTable("clones", Kind.REFERENCE, ("clone_id",), "created_ms", pa.schema([
        req("clone_id", INT), req("name", TEXT), opt("avatar_url", TEXT), opt("bio", TEXT),
        req("control_mode", TEXT), req("status", TEXT), req("active_version", INT), req("created_ms", INT),
        opt("creator", TEXT), opt("name_skeleton", TEXT), opt("name_fold_skeleton", TEXT),
    ])),
    LakeTable("graph_versions", Kind.REFERENCE, ("clone_id", "version"), "created_ms", pa.schema([
        req("clone_id", INT), req("version", INT), req("graph_json", TEXT), req("layout_json", TEXT),
        req("strategy_hash", TEXT), req("created_ms", INT),
    ])),
    LakeTable("clone_read_plans", Kind.REFERENCE, ("clone_id", "version"), "compiled_ms", pa.schema([
        req("clone_id", INT), req("version", INT), req("strategy_hash", TEXT), req("plan_json", TEXT),
        req("enabled_assets", INT), req("compiled_ms", INT),
    ])),
    LakeTable("kill_switches", Kind.REFERENCE, ("scope",), "updated_ms", pa.schema([
        req("scope", TEXT), req("engaged", INT), opt("reason", TEXT), req("updated_ms", INT),
    ])),
    LakeTable("paper_accounts", Kind.REFERENCE, ("account_id",), "created_ms", pa.schema([
        req("account_id", INT), req("clone_id", INT), req("context_label", TEXT), req("starting_micro", INT),
        req("balance_micro", INT), req("peak_equity_micro", INT), req("stopped", INT), opt("stop_reason", TEXT),
        req("funded_to_ms", INT), req("created_ms", INT),
    ])),
    # trading history
    LakeTable("decision_runs", Kind.TRADING, ("run_id",), "tick_ms", pa.schema([
        req("run_id", INT), req("clone_id", INT), req("version", INT), req("prompt_id", TEXT), req("coin", TEXT),
        req("tick_ms", INT), req("forced", INT), req("context_label", TEXT), req("status", TEXT),
        req("engine", TEXT), opt("model", TEXT), req("worker", TEXT), req("attempts", INT), req("claimed_ms", INT),
        opt("finished_ms", INT), opt("reply_status", TEXT), opt("error", TEXT), opt("payload_key", TEXT),
        opt("payload_sha256", TEXT), opt("latency_ms", FLOAT), opt("tokens_in", INT), opt("tokens_out", INT),
    ])),
    LakeTable("orders", Kind.TRADING, ("order_id",), "created_ms", pa.schema([
        req("order_id", INT), req("run_id", INT), req("clone_id", INT), req("coin", TEXT), req("side", TEXT),
        req("size", TEXT), opt("price", TEXT), req("order_type", TEXT), req("reduce_only", INT),
        opt("take_profit", TEXT), opt("stop_loss", TEXT), req("client_order_id", TEXT), req("status", TEXT),
        req("created_ms", INT),
    ])),
    LakeTable("paper_fills", Kind.TRADING, ("fill_id",), "ts_ms", pa.schema([
        req("fill_id", INT), req("account_id", INT), opt("order_id", INT), req("cause", TEXT), req("coin", TEXT),
        req("side", TEXT), req("size", TEXT), req("price", TEXT), req("liquidity", TEXT), req("fee_micro", INT),
        req("half_spread_micro", INT), req("impact_micro", INT), req("unfilled", TEXT), req("source", TEXT),
        req("notes", TEXT), req("snapshot_json", TEXT), req("ts_ms", INT),
    ])),
    LakeTable("ledger_events", Kind.TRADING, ("event_id",), "ts_ms", pa.schema([
        req("event_id", INT), req("account_id", INT), req("kind", TEXT), req("ref", TEXT), req("amount_micro", INT),
        req("detail", TEXT), req("ts_ms", INT),
    ])),
    LakeTable("equity_curve", Kind.TRADING, ("account_id", "ts_ms"), "ts_ms", pa.schema([
        req("account_id", INT), req("ts_ms", INT), req("equity_micro", INT), req("balance_micro", INT),
        req("margin_micro", INT), req("unrealized_micro", INT), req("drawdown_pct", FLOAT),
        req("exposure_usd", FLOAT),
    ])),
)
BY_NAME: dict[str, LakeTable] = {t.name: t for t in TABLES}
HYDRATED: tuple[LakeTable, ...] = tuple(t for t in TABLES if t.kind is Kind.MARKET) + tuple(
    BY_NAME[n] for n in ("hl_assets", "hl_margin_tiers", "hl_api_categories", "asset_categories", "pm_markets",
                         "pm_asset_links", "dl_chains", "dl_stablecoins", "dl_asset_links", "clones",
                         "graph_versions", "clone_read_plans", "kill_switches"))
"""What a backtest (or an audition's replay) needs on a fresh machine: market history and the reference state it
reads; not trading history, which the backtest makes in its own account context."""
