"""Compile a strategy graph into read plans: for each prompt block and each enabled asset, the exact,
deterministic list of reads against market memory that makes its context.

A read is point-in-time by construction: a row stamped t is known at t + `known_after_ms` (a candle when it
closes, a daily DefiLlama row when its day ends), and only rows known at the packet's `as_of` are read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property

from clash_pipeline.strategy.catalog import CHANNELS
from clash_pipeline.strategy.graph import (
    AssetBlock,
    DataStreamBlock,
    ExecutionControls,
    GraphInvalid,
    StrategyGraph,
    TradingPromptBlock,
)
from clash_pipeline.strategy.selection import Resolution, Universe, resolve_all
from clash_pipeline.timeutil import DAY_MS, HOUR_MS, interval_ms, iso

SPOT_HAS_NO = {"funding": "spot has no funding", "positioning": "spot has no open interest"}
LINKED_CHAINS = "(subject = '' OR subject IN (SELECT subject FROM dl_asset_links WHERE symbol = ? AND subject_kind = 'chain'))"
LINKED_STABLECOINS = "symbol IN (SELECT subject FROM dl_asset_links WHERE symbol = ? AND subject_kind = 'stablecoin')"
# Polymarket links of the markets a symbol's horizons hold, with the market's question (which link applied, why)
PM_LINKS = ("(SELECT l.symbol, l.updated_ms, l.market_id, l.rule, m.question FROM pm_asset_links l "
            "JOIN pm_markets m USING (market_id) JOIN pm_asset_horizons h ON h.symbol = l.symbol "
            "AND h.market_id = l.market_id AND h.ts_ms = l.updated_ms)")


@dataclass(frozen=True)
class Read:
    channel: str
    name: str
    table: str
    columns: tuple[str, ...]
    filters: tuple[tuple[str, tuple], ...]  # SQL fragments with their parameters
    time_column: str
    limit: int
    known_after_ms: int = 0
    window_ms: int | None = None
    latest_only: bool = False  # only rows at the newest stamp known at as_of (a snapshot)
    tiebreak: tuple[str, ...] = ()

    def __hash__(self) -> int:  # reads key caches on every packet: hashed once, not field by field each time
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in fields(self)))

    def sql(self, as_of_ms: int, stamped: bool = False) -> tuple[str, list]:
        """The query and its parameters; rows come newest first (packets reverse them); `stamped`: each row
        led by its stamp (the time column)."""
        where = [fragment for fragment, _ in self.filters]
        params: list = [p for _, ps in self.filters for p in ps]
        known = f"{self.time_column} <= ?"  # known at as_of: stamped at least known_after_ms before it
        known_by = as_of_ms - self.known_after_ms
        clauses, args = [*where, known], [*params, known_by]
        if self.window_ms is not None:
            clauses.append(f"{self.time_column} > ?")
            args.append(as_of_ms - self.window_ms)
        if self.latest_only:
            inner = " AND ".join([*where, known])
            clauses.append(f"{self.time_column} = (SELECT MAX({self.time_column}) FROM {self.table} WHERE {inner})")
            args += [*params, known_by]
        order = ", ".join(f"{c} DESC" for c in (self.time_column, *self.tiebreak))
        columns = (self.time_column, *self.columns) if stamped else self.columns
        return (f"SELECT {', '.join(columns)} FROM {self.table} WHERE {' AND '.join(clauses)} "
                f"ORDER BY {order} LIMIT {self.limit}", args)

    def ahead_sql(self, start_ms: int, end_ms: int) -> tuple[str, list]:
        """Every row that becomes known after `start_ms` and by `end_ms`, led by its stamp, oldest first (the
        reverse of `sql`'s order): what a read-ahead window serves its later packets from."""
        where = [fragment for fragment, _ in self.filters]
        params: list = [p for _, ps in self.filters for p in ps]
        order = ", ".join(f"{c} ASC" for c in (self.time_column, *self.tiebreak))
        return (f"SELECT {', '.join((self.time_column, *self.columns))} FROM {self.table} WHERE "
                f"{' AND '.join([*where, f'{self.time_column} > ?', f'{self.time_column} <= ?'])} ORDER BY {order}",
                [*params, start_ms - self.known_after_ms, end_ms - self.known_after_ms])

    @property
    def latest_row(self) -> bool:
        """Whether the read gives one row, the newest known (the last price's reads): a tick grid over dense history
        needs few of its rows (`ahead_at_sql`)."""
        return self.limit == 1 and self.window_ms is None and not self.latest_only

    def ahead_at_sql(self, start_ms: int, end_ms: int, step_ms: int) -> tuple[str, list]:
        """`ahead_sql` for a `latest_row` read asked only at multiples of `step_ms`: of the rows known after
        `start_ms` and by `end_ms`, those it gives at one of those times (every row at those stamps), found by one
        index seek per time instead of reading every row between them."""
        where = [fragment for fragment, _ in self.filters]
        params: list = [p for _, ps in self.filters for p in ps]
        t = self.time_column
        newest_at = (f"SELECT {t} FROM {self.table} WHERE {' AND '.join([*where, f'{t} <= grid.at - ?'])} "
                     f"ORDER BY {t} DESC LIMIT 1")
        order = ", ".join(f"{c} ASC" for c in (t, *self.tiebreak))
        first = start_ms - start_ms % step_ms + step_ms
        return (f"WITH RECURSIVE grid(at) AS (SELECT ? UNION ALL SELECT at + ? FROM grid WHERE at + ? <= ?), "
                f"picked(stamp) AS MATERIALIZED (SELECT ({newest_at}) FROM grid) "
                f"SELECT {', '.join((t, *self.columns))} FROM {self.table} WHERE "
                f"{' AND '.join([*where, f'{t} IN (SELECT stamp FROM picked WHERE stamp > ?)'])} ORDER BY {order}",
                [first, step_ms, step_ms, end_ms, *params, self.known_after_ms, *params,
                 start_ms - self.known_after_ms])

    @cached_property
    def label(self) -> str:
        """Readable: `candles 15m`, `funding history`, `volatility 1h`."""
        interval = next((ps[0] for fragment, ps in self.filters if fragment == "interval = ?"), None)
        short = self.channel.split(".", 1)[-1]
        name = short if self.name == short else f"{short} {self.name}"
        return f"{name} {interval}" if interval else name

    @cached_property
    def by_symbol(self) -> bool:
        """Whether the read is keyed by the asset's symbol (context sources), not its coin."""
        return "symbol = ?" in dict(self.filters)

    def newest_sql(self, as_of_ms: int | None = None) -> tuple[str, list]:
        """The stamp of the newest matching row (known at `as_of`, when given), whatever the window."""
        where = [fragment for fragment, _ in self.filters]
        params: list = [p for _, ps in self.filters for p in ps]
        if as_of_ms is not None:
            where.append(f"{self.time_column} <= ?")
            params.append(as_of_ms - self.known_after_ms)
        return f"SELECT MAX({self.time_column}) FROM {self.table} WHERE {' AND '.join(where)}", params


@dataclass(frozen=True)
class AssetPlan:
    prompt_id: str
    coin: str
    symbol: str
    reads: tuple[Read, ...]
    name: str = ""  # the readable name (HYPE/USDC for @107); the coin stays the key
    skipped: tuple[tuple[str, str], ...] = ()  # (channel, why) the asset cannot have: spot has no funding


@dataclass(frozen=True)
class PromptPlan:
    prompt_id: str
    engine: str
    model: str | None
    cadence: str
    controls: ExecutionControls
    assets: tuple[AssetPlan, ...]


@dataclass
class CompiledGraph:
    strategy_hash: str
    prompts: tuple[PromptPlan, ...]
    resolutions: dict[str, Resolution] = field(default_factory=dict)

    def asset_plans(self) -> list[AssetPlan]:
        return [asset for prompt in self.prompts for asset in prompt.assets]

    def summary(self) -> dict:
        return {"strategy_hash": self.strategy_hash, "prompts": [
            {"prompt_id": p.prompt_id, "engine": p.engine, "cadence": p.cadence,
             "assets": [a.coin for a in p.assets], "reads_per_asset": len(p.assets[0].reads) if p.assets else 0}
            for p in self.prompts]}

    def as_dict(self) -> dict:
        return {"strategy_hash": self.strategy_hash,
                "prompts": [{"prompt_id": p.prompt_id, "engine": p.engine, "model": p.model, "cadence": p.cadence,
                             "controls": p.controls.model_dump(),
                             "assets": [{"coin": a.coin, "name": a.name or a.coin, "symbol": a.symbol,
                                         "reads": [{**asdict(r), "sql": r.sql(0)[0]} for r in a.reads],
                                         "skipped": [list(s) for s in a.skipped]}
                                        for a in p.assets]} for p in self.prompts],
                "resolutions": {block: {"enabled": r.enabled, "reasons": r.reasons}
                                for block, r in self.resolutions.items()}}


def channel_reads(source: str, channel: str, options: dict, coin: str, symbol: str) -> list[Read]:
    """The reads that make one channel's part of an asset's context."""
    key = f"{source}.{channel}"
    coin_is = ("coin = ?", (coin,))
    if source == "hyperliquid":
        if channel == "candles":
            step = interval_ms(options["interval"])
            return [Read(key, "candles", "hl_candles", ("open_ms", "open", "high", "low", "close", "volume"),
                         (coin_is, ("interval = ?", (options["interval"],))), "open_ms", options["lookback"],
                         known_after_ms=step, window_ms=options["lookback"] * step)]
        if channel == "mids":
            return [Read(key, "mids", "hl_mids", ("ts_ms", "mid"), (coin_is,), "ts_ms", options["lookback"])]
        if channel == "liquidity":
            bands = [f"{side}_depth_{b}bps" for b in sorted(options["bands_bps"]) for side in ("bid", "ask")]
            return [Read(key, "liquidity", "hl_liquidity",
                         ("ts_ms", "best_bid", "best_ask", "mid", "spread_bps", *bands, "imbalance"), (coin_is,),
                         "ts_ms", 1)]
        if channel == "book":
            return [Read(key, "book", "hl_book_levels", ("ts_ms", "side", "level", "px", "sz", "n"),
                         (coin_is, ("level < ?", (options["levels"],))), "ts_ms", 2 * options["levels"],
                         latest_only=True, tiebreak=("side", "level"))]
        if channel == "funding":
            return [Read(key, "pressure", "hl_funding_pressure",
                         ("ts_ms", "funding", "predicted_funding", "premium", "sum_24h", "sum_7d", "annualized_pct"),
                         (coin_is,), "ts_ms", 1),
                    Read(key, "history", "hl_funding_history", ("hour_ms", "funding_rate", "premium"), (coin_is,),
                         "time_ms", options["window_hours"], window_ms=options["window_hours"] * HOUR_MS)]
        if channel == "volatility":
            windows = tuple(sorted(options["windows"]))
            marks = ", ".join("?" * len(windows))
            return [Read(key, "volatility", "hl_volatility", ("ts_ms", "window", "realized_vol", "atr", "atr_pct"),
                         (coin_is, ("interval = ?", (options["interval"],)), (f"window IN ({marks})", windows)),
                         "ts_ms", len(windows), latest_only=True, tiebreak=("window",))]
        if channel == "positioning":
            return [Read(key, "positioning", "hl_positioning",
                         ("ts_ms", "open_interest_usd", "oi_change_pct", "day_ntl_vlm", "mark_oracle_premium_bps"),
                         (coin_is,), "ts_ms", options["lookback"])]
    if source == "polymarket" and channel == "markets":
        horizons = tuple(sorted(options["horizons"]))
        marks = ", ".join("?" * len(horizons))
        return [Read(key, "markets", "pm_symbol_markets",
                     ("ts_ms", "horizon", "rank", "question", "outcomes", "first_price", "best_bid", "best_ask",
                      "volume_usd", "end_ms", "closed"),
                     (("symbol = ?", (symbol,)), (f"horizon IN ({marks})", horizons), ("rank < ?", (options["max_closed"],))),
                     "ts_ms", 2 + options["max_closed"], latest_only=True, tiebreak=("horizon", "rank")),
                Read(key, "links", PM_LINKS, ("updated_ms", "market_id", "rule", "question"),
                     (("symbol = ?", (symbol,)),), "updated_ms", 2 + options["max_closed"], latest_only=True,
                     tiebreak=("market_id",))]
    if source == "defillama":
        days, linked = options["days"], (LINKED_CHAINS, (symbol,))
        daily = {"known_after_ms": DAY_MS, "window_ms": days * DAY_MS, "tiebreak": ("subject",)}
        if channel == "capital_base":
            return [Read(key, "tvl", "dl_tvl", ("date_ms", "subject", "tvl_usd"), (linked,), "date_ms", 12 * days, **daily),
                    Read(key, "stablecoin_supply", "dl_stablecoin_supply", ("date_ms", "subject", "circulating_usd"),
                         (linked,), "date_ms", 12 * days, **daily),
                    Read(key, "stablecoins", "dl_stablecoins",
                         ("updated_ms", "symbol", "name", "peg_type", "circulating", "circulating_prev_day",
                          "circulating_prev_week", "price"),
                         ((LINKED_STABLECOINS, (symbol,)),), "updated_ms", 4, tiebreak=("symbol",))]
        if channel == "capital_flows":
            return [Read(key, "flows", "dl_flows", ("date_ms", "kind", "subject", "value_usd", "change_1d_pct",
                                                    "change_7d_pct", "change_30d_pct"),
                         (linked,), "date_ms", 24 * days, **{**daily, "tiebreak": ("kind", "subject")})]
        if channel == "throughput":
            return [Read(key, "daily", "dl_throughput", ("date_ms", "metric", "subject", "value_usd"), (linked,),
                         "date_ms", 36 * days, **{**daily, "tiebreak": ("metric", "subject")}),
                    Read(key, "summary", "dl_throughput_summary",
                         ("ts_ms", "metric", "subject", "total_24h", "total_7d", "change_1d_pct", "change_7d_pct"),
                         (linked,), "ts_ms", 36, latest_only=True, tiebreak=("metric", "subject"))]
    raise ValueError(f"no reads for {source}.{channel}; known: {list(CHANNELS.get(source, {}))}")


def defillama_link_reads(reads: tuple[Read, ...], symbol: str) -> tuple[Read, ...]:
    """The DefiLlama links (chain, stablecoin) that applied to the symbol and why, read once, in the asset's first
    DefiLlama channel; none when the plan reads no DefiLlama channel."""
    first = next((read.channel for read in reads if read.channel.startswith("defillama.")), None)
    if first is None:
        return ()
    return (Read(first, "links", "dl_asset_links", ("updated_ms", "subject_kind", "subject", "reason"),
                 (("symbol = ?", (symbol,)),), "updated_ms", 24, tiebreak=("subject_kind", "subject")),)


def compile_graph(graph: StrategyGraph, universe: Universe) -> CompiledGraph:
    """Read plans for every (prompt block, enabled asset); GraphInvalid if an asset selection resolves to
    nothing or names an unknown asset."""
    blocks = {b.id: b for b in graph.blocks}
    feeding: dict[str, list[str]] = {}  # target -> sources, built once: linear in the edges
    for edge in graph.edges:
        feeding.setdefault(edge.target, []).append(edge.source)
    asset_blocks = [b for b in graph.blocks if isinstance(b, AssetBlock)]
    resolutions, problems = resolve_all(asset_blocks, universe)
    if problems:
        raise GraphInvalid(problems)
    channels_of: dict[str, dict[str, dict]] = {}  # each stream's effective channels, computed once
    prompts = []
    for prompt in sorted((b for b in graph.blocks if isinstance(b, TradingPromptBlock)), key=lambda b: b.id):
        streams_by_coin: dict[str, dict[str, DataStreamBlock]] = {}
        for asset_id in sorted(set(feeding.get(prompt.id, ()))):
            streams = [blocks[s] for s in sorted(set(feeding.get(asset_id, ())))]
            for coin in resolutions[asset_id].enabled:
                seen = streams_by_coin.setdefault(coin, {})
                for stream in streams:
                    seen.setdefault(stream.id, stream)
        assets = []
        for coin in sorted(streams_by_coin):
            symbol = universe.bases.get(coin, coin)
            channels: dict[tuple[str, str], dict] = {}
            for stream_id in sorted(streams_by_coin[coin]):
                stream = streams_by_coin[coin][stream_id]
                if stream_id not in channels_of:
                    channels_of[stream_id] = stream.effective_channels()
                for channel, options in sorted(channels_of[stream_id].items()):
                    channels.setdefault((stream.source, channel), options)  # the first stream (by id) wins
            spot = universe.kinds.get(coin) == "spot"
            cannot = {key for key in channels if spot and key[0] == "hyperliquid" and key[1] in SPOT_HAS_NO}
            skipped = tuple((f"{source}.{channel}", SPOT_HAS_NO[channel]) for source, channel in sorted(cannot))
            reads = tuple(read for (source, channel), options in sorted(channels.items())
                          if (source, channel) not in cannot
                          for read in channel_reads(source, channel, options, coin, symbol))
            reads += defillama_link_reads(reads, symbol)
            assets.append(AssetPlan(prompt.id, coin, symbol, reads, universe.display(coin), skipped))
        prompts.append(PromptPlan(prompt.id, prompt.engine, prompt.model, prompt.cadence, prompt.controls,
                                  tuple(assets)))
    return CompiledGraph(graph.strategy_hash(), tuple(prompts), resolutions)


def empty_channels(conn: sqlite3.Connection, plan: AssetPlan, reads_rows: list[tuple[Read, int]],
                   as_of_ms: int, newest_of: Callable[[Read, int], int | None]) -> list[dict]:
    """Which channels of a packet are empty, and why: the asset cannot have them (spot has no funding), or no row
    is known in the read's window (`candles 15m: no rows for xyz:TSLA since 2026-11-30 08:00:00`)."""
    empty = [{"channel": channel, "why": f"{channel.split('.', 1)[-1]}: {why}"} for channel, why in plan.skipped]
    for read, rows in reads_rows:
        if rows:
            continue
        newest = newest_of(read, as_of_ms)
        subject = plan.symbol if read.by_symbol else plan.coin
        if newest is None and read.table == "pm_symbol_markets" and not conn.execute(
                "SELECT 1 FROM pm_asset_links WHERE symbol = ? LIMIT 1", (plan.symbol,)).fetchone():
            why = f"no Polymarket market is linked to {plan.symbol}"
        elif newest is None and read.table == "dl_stablecoins" and not conn.execute(
                "SELECT 1 FROM dl_asset_links WHERE symbol = ? AND subject_kind = 'stablecoin' LIMIT 1",
                (plan.symbol,)).fetchone():
            why = f"no DefiLlama stablecoin is linked to {plan.symbol}"
        elif newest is None:
            why = f"no rows for {subject} known at {iso(as_of_ms)}"
        else:
            why = f"no rows for {subject} since {iso(newest)}"
        empty.append({"channel": read.channel, "read": read.name, "why": f"{read.label}: {why}"})
    return empty
