"""Coverage as data quality: for every enabled asset and every channel its read plans read, the newest stored row,
its age, and whether it is fresh.

A channel is fresh when its newest row is no older than twice the channel's cadence (how often the pipeline
refreshes it: a candle's interval, the 5-minute Hyperliquid snapshot, hourly funding and volatility, the
10-minute Polymarket snapshot, hourly or daily DefiLlama rows), plus the time a row takes to become known (a
candle's interval, a day for daily rows). A channel the asset cannot have (spot has no funding) or that has no
subject (no Polymarket market is linked to the symbol) is `n/a`, never a failure.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from enum import StrEnum

from clash_pipeline.ingest.demand import Demand
from clash_pipeline.strategy.plan import Read
from clash_pipeline.timeutil import DAY_MS, HOUR_MS, MINUTE_MS, interval_ms, iso

SNAPSHOT_CADENCE_MS = 5 * MINUTE_MS  # hyperliquid_snapshot_schedule
CADENCE_MS = {
    "hl_mids": SNAPSHOT_CADENCE_MS, "hl_liquidity": SNAPSHOT_CADENCE_MS, "hl_book_levels": SNAPSHOT_CADENCE_MS,
    "hl_funding_pressure": SNAPSHOT_CADENCE_MS, "hl_positioning": SNAPSHOT_CADENCE_MS,
    "hl_asset_ctxs": SNAPSHOT_CADENCE_MS, "hl_funding_history": HOUR_MS, "hl_volatility": HOUR_MS,
    "pm_symbol_markets": 10 * MINUTE_MS, "dl_throughput_summary": HOUR_MS,
    "dl_tvl": DAY_MS, "dl_stablecoin_supply": DAY_MS, "dl_flows": DAY_MS, "dl_throughput": DAY_MS,
}


class Status(StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    EMPTY = "empty"
    NOT_APPLICABLE = "n/a"


@dataclass
class ChannelCoverage:
    coin: str
    name: str  # display name (HYPE/USDC for @107)
    channel: str  # readable: candles 15m, funding history, book
    newest_ms: int | None
    age_ms: int | None
    limit_ms: int | None
    status: Status
    why: str
    wanted_by: set[str] = field(default_factory=set)

    @property
    def failing(self) -> bool:
        return self.status in (Status.STALE, Status.EMPTY)

    def as_dict(self) -> dict:
        return {"coin": self.coin, "name": self.name, "channel": self.channel, "newest": iso(self.newest_ms),
                "newest_ms": self.newest_ms, "age_s": None if self.age_ms is None else self.age_ms // 1000,
                "limit_s": None if self.limit_ms is None else self.limit_ms // 1000, "status": str(self.status),
                "why": self.why, "wanted_by": sorted(self.wanted_by)}


def cadence_ms(read: Read) -> int:
    if read.table == "hl_candles":
        return interval_ms(next(ps[0] for fragment, ps in read.filters if fragment == "interval = ?"))
    return CADENCE_MS.get(read.table, SNAPSHOT_CADENCE_MS)


def coverage(conn: sqlite3.Connection, demand: Demand, now_ms: int) -> list[ChannelCoverage]:
    """One line per (enabled asset, channel read), sorted by asset and channel."""
    names = dict(conn.execute("SELECT coin, display_name FROM hl_assets"))
    linked = {s for (s,) in conn.execute("SELECT DISTINCT symbol FROM pm_asset_links")}
    stable = {s for (s,) in conn.execute("SELECT DISTINCT symbol FROM dl_asset_links WHERE subject_kind = 'stablecoin'")}
    lines: dict[tuple, ChannelCoverage] = {}
    for key, plan in demand.plans:
        name = names.get(plan.coin, plan.coin)
        for channel, why in plan.skipped:
            label = channel.split(".", 1)[-1]
            line = lines.setdefault((plan.coin, label), ChannelCoverage(
                plan.coin, name, label, None, None, None, Status.NOT_APPLICABLE, why))
            line.wanted_by.add(key)
        for read in plan.reads:
            if read.name == "links":  # which links applied and why: a description of the data, not a channel
                continue
            ident = (plan.coin, read.label, read.table, read.filters)
            if ident not in lines:
                lines[ident] = _line(conn, read, plan.coin, plan.symbol, name, linked, stable, now_ms)
            lines[ident].wanted_by.add(key)
    return sorted(lines.values(), key=lambda c: (c.coin, c.channel))


def _line(conn: sqlite3.Connection, read: Read, coin: str, symbol: str, name: str, linked: set[str],
          stable: set[str], now_ms: int) -> ChannelCoverage:
    sql, params = read.newest_sql()
    (newest,) = conn.execute(sql, params).fetchone()
    limit = 2 * cadence_ms(read) + read.known_after_ms
    if newest is None:
        if read.table == "pm_symbol_markets" and symbol not in linked:
            return ChannelCoverage(coin, name, read.label, None, None, None, Status.NOT_APPLICABLE,
                                   f"no Polymarket market is linked to {symbol}")
        if read.table == "dl_stablecoins" and symbol not in stable:
            return ChannelCoverage(coin, name, read.label, None, None, None, Status.NOT_APPLICABLE,
                                   f"no DefiLlama stablecoin is linked to {symbol}")
        return ChannelCoverage(coin, name, read.label, None, None, limit, Status.EMPTY, f"no rows for {coin}")
    age = now_ms - newest
    if age > limit:
        return ChannelCoverage(coin, name, read.label, newest, age, limit, Status.STALE,
                               f"newest row {_span(age)} old, over the limit of {_span(limit)}")
    return ChannelCoverage(coin, name, read.label, newest, age, limit, Status.FRESH, "")


def _span(ms: int) -> str:
    """Readable duration: 45s, 12m, 3h05m, 2d04h."""
    seconds = max(0, ms) // 1000
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def format_coverage(lines: list[ChannelCoverage]) -> str:
    """A plain-text table: asset, channel, newest row (UTC), age, limit, status and why."""
    out = [f"{'asset':<22}{'channel':<32}{'newest (UTC)':<21}{'age':>8}{'limit':>8}  status"]
    for c in lines:
        age = "-" if c.age_ms is None else _span(c.age_ms)
        limit = "-" if c.limit_ms is None else _span(c.limit_ms)
        label = c.name if c.name == c.coin else f"{c.name} ({c.coin})"
        out.append(f"{label:<22}{c.channel:<32}{iso(c.newest_ms) or '-':<21}{age:>8}{limit:>8}  {c.status}"
                   + (f": {c.why}" if c.why and c.status != Status.FRESH else ""))
    failing = sum(c.failing for c in lines)
    assets = len({c.coin for c in lines})
    out.append(f"{len(lines)} channels of {assets} enabled assets: "
               f"{sum(c.status == Status.FRESH for c in lines)} fresh, {failing} failing, "
               f"{sum(c.status == Status.NOT_APPLICABLE for c in lines)} n/a")
    return "\n".join(out)
