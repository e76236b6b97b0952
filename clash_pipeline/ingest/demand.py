"""Demand-driven coverage: which assets market memory must cover, over which window, and what that costs.

The demanded set is computed, not configured: the enabled assets of every active clone, every clone in a running
audition and every entrant of an accumulating or running race (each graph resolved against the current universe,
as the decision runtime does), plus CLASH_COINS as a floor. Each asset needs candles at the intervals its read
plans use (and 1m: paper fills and marks price from the last 1m close), funding if it is a perp (spot has no
funding), its book, mid and context, over the longest window its plans look back.

History pulls are planned by Hyperliquid weight (`request_weight`, +1 per 60 candles, +1 per 20 funding rows)
within a run's budget: what does not fit is skipped and said so, and the next run takes it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from clash_pipeline.market.volatility import WINDOWS
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.sources.hyperliquid.client import CANDLES_PER_REQUEST, request_weight
from clash_pipeline.strategy.plan import AssetPlan
from clash_pipeline.strategy.plan_cache import clone_plans, universe_digest
from clash_pipeline.strategy.selection import Universe
from clash_pipeline.timeutil import DAY_MS, HOUR_MS, day_start_ms, interval_ms

FLOOR = "floor"  # CLASH_COINS: always covered
PAPER_INTERVAL = "1m"  # paper fills, marks and resting limits price from 1m candles
FUNDING_PAGE = 500  # rows per fundingHistory page (the docs; more has been seen)
FUNDING_SUMS_MS = 8 * DAY_MS  # funding pressure sums the last 7 days of stored history (8 read)
MIN_WINDOW_MS = DAY_MS
RUN_WEIGHT_BUDGET = 3_600  # a history run's planned weight: three minutes of the 1,200-per-minute budget


def is_spot(coin: str) -> bool:
    """Spot pairs are `PURR/USDC` or `@<pair index>` on the wire; everything else is a perp."""
    return coin.startswith("@") or "/" in coin


@dataclass
class AssetDemand:
    coin: str
    kind: str  # perp | spot
    windows: dict[str, int] = field(default_factory=dict)  # candle interval -> how far back its plans look
    funding_window_ms: int = MIN_WINDOW_MS
    wanted_by: set[str] = field(default_factory=set)  # clone keys (c000001) and/or "floor"
    planned: set[str] = field(default_factory=set)  # the intervals its read plans read

    @property
    def intervals(self) -> list[str]:
        return sorted(self.windows, key=interval_ms)

    @property
    def funding(self) -> bool:
        return self.kind == "perp"

    def need(self, interval: str, window_ms: int = MIN_WINDOW_MS) -> None:
        self.windows[interval] = max(self.windows.get(interval, MIN_WINDOW_MS), window_ms)


@dataclass
class Demand:
    assets: dict[str, AssetDemand]
    plans: list[tuple[str, AssetPlan]]  # (clone key, plan) of every demanding clone
    problems: list[str]  # clones whose graph could not be resolved (left out, not fatal)
    floor_intervals: tuple[str, ...] = ()

    @property
    def coins(self) -> list[str]:
        return sorted(self.assets)


def demanding_clones(conn: sqlite3.Connection) -> list[int]:
    """Active clones, clones in a running audition, and entrants of accumulating or running races."""
    return [c for (c,) in conn.execute(
        "SELECT clone_id FROM clones WHERE status = 'active' "
        "UNION SELECT clone_id FROM auditions WHERE status = 'running' "
        "UNION SELECT e.clone_id FROM race_entrants e JOIN races r USING (race_id) "
        "WHERE r.status IN ('accumulating', 'running') ORDER BY 1")]


def _param(plan_filters: tuple, fragment: str):
    return next((params[0] for text, params in plan_filters if text == fragment), None)


def plan_needs(plan: AssetPlan) -> tuple[dict[str, int], int]:
    """The candle intervals an asset plan reads, each with the window it looks back over (a candles read, or the
    candles its volatility is computed from), and the funding window (its history read, the pressure's 7d sum)."""
    windows, funding = {PAPER_INTERVAL: MIN_WINDOW_MS}, MIN_WINDOW_MS
    for read in plan.reads:
        interval = _param(read.filters, "interval = ?")
        if read.table == "hl_candles":
            windows[interval] = max(windows.get(interval, 0), read.window_ms or 0)
        elif read.table == "hl_volatility":
            windows[interval] = max(windows.get(interval, 0), (max(WINDOWS) + 1) * interval_ms(interval))
        elif read.table == "hl_funding_history":
            funding = max(funding, read.window_ms or 0)
        elif read.table == "hl_funding_pressure":
            funding = max(funding, FUNDING_SUMS_MS)
    return windows, funding


def compute_demand(conn: sqlite3.Connection, floor_coins: Sequence[str], floor_intervals: Sequence[str]) -> Demand:
    """The demanded asset set; a clone whose graph no longer resolves is reported in `problems` and skipped."""
    kinds = dict(conn.execute("SELECT coin, kind FROM hl_assets"))
    assets: dict[str, AssetDemand] = {}

    def want(coin: str) -> AssetDemand:
        kind = kinds.get(coin) or ("spot" if is_spot(coin) else "perp")
        return assets.setdefault(coin, AssetDemand(coin, kind))

    for coin in floor_coins:
        demand = want(coin)
        for interval in floor_intervals:
            demand.need(interval)
        demand.wanted_by.add(FLOOR)
    plans, problems = [], []
    universe = Universe.load(conn)
    digest = universe_digest(universe)
    for clone_id in demanding_clones(conn):
        key = f"c{clone_id:06d}"
        try:
            compiled, _ = clone_plans(conn, clone_id, None, universe, digest)
        except Exception as error:  # noqa: BLE001 - one clone's graph never stops the others
            problems.append(f"{key}: {error}")
            continue
        for plan in compiled.asset_plans():
            plans.append((key, plan))
            windows, funding = plan_needs(plan)
            demand = want(plan.coin)
            for interval, window in windows.items():
                demand.need(interval, window)
            demand.funding_window_ms = max(demand.funding_window_ms, funding)
            demand.wanted_by.add(key)
            demand.planned.update(set(windows) - {PAPER_INTERVAL})
    return Demand(assets, plans, problems, tuple(floor_intervals))


# -- weight planning ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedPull:
    endpoint: str  # candleSnapshot | fundingHistory
    coin: str
    interval: str | None
    start_ms: int
    end_ms: int
    weight: int
    why: str

    @property
    def label(self) -> str:
        return f"{self.coin} {self.interval}" if self.interval else f"{self.coin} funding"


@dataclass
class HistoryPlan:
    fetch: list[PlannedPull]
    skipped: list[tuple[PlannedPull | None, str, str]]  # (pull or None, what, why)
    budget: int | None

    @property
    def weight(self) -> int:
        return sum(p.weight for p in self.fetch)

    def pulls(self, endpoint: str) -> list[PlannedPull]:
        return [p for p in self.fetch if p.endpoint == endpoint]


def candle_weight(interval: str, start_ms: int, end_ms: int) -> int:
    """The weight `HyperliquidClient.candle_pages` spends: 20 per page, +1 per 60 candles asked for."""
    step = interval_ms(interval)
    first, weight = start_ms - start_ms % step, 0
    while first < end_ms:
        last = min(first + CANDLES_PER_REQUEST * step, end_ms)
        weight += request_weight("candleSnapshot") + (last - first) // step // 60
        first = last
    return weight


def funding_weight(start_ms: int, end_ms: int, now_ms: int) -> int:
    """`funding_pages`: 20 per page, +1 per 20 rows; pages of up to 500 hourly rows, then one that adds nothing."""
    rows = max(0, (min(end_ms, now_ms) - start_ms) // HOUR_MS)
    pages = rows // FUNDING_PAGE + 1 + (1 if rows % FUNDING_PAGE else 0)
    return pages * request_weight("fundingHistory") + rows // 20


def plan_history(demand: Demand, coins: Sequence[str] | None, intervals: Sequence[str] | None, start_ms: int,
                 end_ms: int, now_ms: int, budget: int | None = RUN_WEIGHT_BUDGET,
                 series: Sequence[str] | None = None) -> HistoryPlan:
    """Candle and funding pulls for [start_ms, end_ms), by priority (assets clones read first, their plans'
    intervals before the paper 1m, the floor last), within `budget` weight (None: no cap); the rest is skipped
    and said so.

    `coins` None: every demanded asset, each at its own intervals (`intervals` overrides them). Named coins
    outside the demand take `intervals` (or the floor's). `series` ("xyz:TSLA 15m", "BTC funding", as a
    backfill names its gaps) keeps only those."""
    floor_intervals = demand.floor_intervals
    only = {tuple(entry.split()) for entry in series} if series else None
    if only is not None:
        coins = sorted({coin for coin, _ in only})
    chosen = demand.coins if coins is None else list(dict.fromkeys(coins))
    candidates, skipped = [], []
    for coin in chosen:
        asset = demand.assets.get(coin) or AssetDemand(coin, "spot" if is_spot(coin) else "perp",
                                                       dict.fromkeys(floor_intervals, MIN_WINDOW_MS), wanted_by={"config"})
        by_clone = bool(asset.wanted_by - {FLOOR, "config"})
        wanted = sorted(intervals or asset.intervals, key=lambda i: (i == PAPER_INTERVAL, interval_ms(i)))
        if only is not None:
            wanted = sorted({i for c, i in only if c == coin and i != "funding"},
                            key=lambda i: (i == PAPER_INTERVAL, interval_ms(i)))
        for rank, interval in enumerate(wanted):
            why = ("read plans " + ",".join(sorted(asset.wanted_by - {FLOOR})) if interval in asset.planned else
                   "paper fills" if interval == PAPER_INTERVAL and by_clone else
                   "CLASH_COINS" if FLOOR in asset.wanted_by else "named in the run config")
            candidates.append(((not by_clone, rank), PlannedPull("candleSnapshot", coin, interval, start_ms, end_ms,
                                                                 candle_weight(interval, start_ms, end_ms), why)))
        funding_asked = only is None or (coin, "funding") in only
        if funding_asked and asset.funding:
            candidates.append(((not by_clone, 0), PlannedPull("fundingHistory", coin, None, start_ms, end_ms,
                                                              funding_weight(start_ms, end_ms, now_ms), "perp funding")))
        elif funding_asked:
            skipped.append((None, f"{coin} funding", "spot has no funding"))
    fetch, spent = [], 0
    for _, pull in sorted(candidates, key=lambda c: c[0]):
        if budget is not None and spent + pull.weight > budget:
            skipped.append((pull, pull.label, f"over the run's weight budget of {budget}"))
            continue
        fetch.append(pull)
        spent += pull.weight
    return HistoryPlan(fetch, skipped, budget)


def raws_weight(raws: Iterable[RawResponse]) -> int:
    """The weight a set of responses cost (snapshot endpoints have no per-item weight)."""
    return sum(request_weight(raw.endpoint) for raw in raws)


# -- what is not backfilled yet -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gap:
    coin: str
    series: str  # an interval, or "funding"
    needed_from_ms: int
    oldest_ms: int | None  # the oldest stored row, None when there is none


def backfill_gaps(conn: sqlite3.Connection, demand: Demand, now_ms: int, history_start: str) -> list[Gap]:
    """Series of demanded assets whose stored history does not reach back over the window their plans need
    (bounded by what the API keeps: the latest 5,000 candles, and the first daily partition),
    or whose newest row is a day old (an asset demanded again after a pause)."""
    first = day_start_ms(history_start)

    def edge(sql: str, *params) -> int | None:  # one aggregate per query: SQLite answers it from the key
        return conn.execute(sql, params).fetchone()[0]

    gaps = []
    for asset in demand.assets.values():
        if not asset.wanted_by - {FLOOR}:
            continue  # the floor is kept by the schedule, not backfilled on demand
        for interval, window in sorted(asset.windows.items()):
            step = interval_ms(interval)
            needed = max(now_ms - window, now_ms - CANDLES_PER_REQUEST * step, first)
            needed -= needed % step
            where = "FROM hl_candles WHERE coin = ? AND interval = ?"
            oldest = edge(f"SELECT MIN(open_ms) {where}", asset.coin, interval)
            newest = edge(f"SELECT MAX(open_ms) {where}", asset.coin, interval)
            if oldest is None or oldest > needed + step or newest < now_ms - DAY_MS:
                gaps.append(Gap(asset.coin, interval, needed, oldest))
        if asset.funding:
            needed = max(now_ms - asset.funding_window_ms, first)
            oldest = edge("SELECT MIN(hour_ms) FROM hl_funding_history WHERE coin = ?", asset.coin)
            if oldest is None or oldest > needed + HOUR_MS:
                gaps.append(Gap(asset.coin, "funding", needed - needed % HOUR_MS, oldest))
    return gaps


BACKFILL_RETRY_MS = HOUR_MS  # a coin asked for and still short is asked for again after this


@dataclass(frozen=True)
class Backfill:
    """One run for a batch of newly demanded assets: the coins, and the days their windows need."""

    coins: tuple[str, ...]
    first_day: str
    last_day: str
    gaps: tuple[Gap, ...]

    @property
    def series(self) -> list[str]:
        """The gaps as `series` config entries: "xyz:TSLA 15m", "BTC funding"."""
        return [f"{g.coin} {g.series}" for g in self.gaps]

    @property
    def run_key(self) -> str:
        return f"backfill-{self.first_day}..{self.last_day}-" + ",".join(self.coins)


def backfill_batch(gaps: Sequence[Gap], attempted: dict[str, int], now_ms: int) -> Backfill | None:
    """The batch to backfill now: every coin with a gap that was not asked for in the last hour (one run for all
    of them, over the days from the earliest needed time to today), or None."""
    due = [g for g in gaps if now_ms - attempted.get(g.coin, 0) >= BACKFILL_RETRY_MS]
    if not due:
        return None
    coins = tuple(sorted({g.coin for g in due}))
    return Backfill(coins, _day(min(g.needed_from_ms for g in due)), _day(now_ms), tuple(due))


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()
