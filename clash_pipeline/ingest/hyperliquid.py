"""Hyperliquid ingestion: pulls return raw responses (archived as they are); writes parse a whole batch first,
then upsert it in one transaction, so a malformed response writes nothing and leaves earlier data untouched.

History (candles, funding) is all or nothing per batch. A snapshot is isolated per response (per coin's book,
per dex's universe and contexts): the valid ones are written and the refused ones reported after the commit
(`IncompleteIngest`), so one bad asset never holds back the others."""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Sequence

from clash_pipeline.ingest.demand import HistoryPlan
from clash_pipeline.ingest.isolation import Failure, failed_fetch, finish, nothing_valid, parse_each
from clash_pipeline.ingest.load import BlockingCheck, Load, write_batch
from clash_pipeline.market.funding import funding_pressure_row
from clash_pipeline.market.liquidity import liquidity_profile
from clash_pipeline.market.positioning import positioning_row
from clash_pipeline.market.volatility import WINDOWS, volatility_rows
from clash_pipeline.memory import tables as t
from clash_pipeline.memory.checks import candle_ohlc_violations
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.sources.hyperliquid import normalize as n
from clash_pipeline.sources.hyperliquid.client import HyperliquidClient, parse
from clash_pipeline.sources.hyperliquid.models import PerpDex
from clash_pipeline.timeutil import DAY_MS, interval_ms, iso, now_ms
from clash_pipeline.universe.taxonomy import Asset, Taxonomy, trending

log = logging.getLogger("clash_pipeline")
Progress = Callable[[str], None]


# -- pulls ----------------------------------------------------------------------------------------------------
def pull_snapshot(client: HyperliquidClient, book_coins: Sequence[str], books_only: bool = False) -> list[RawResponse]:
    """Everything a snapshot needs: dexes, metas and contexts of every dex, spot, mids of every dex (spot mids come
    with the first dex), predicted funding, API categories, and the L2 book of each tracked coin (a book that
    fails past its retries is kept as a failed response). `books_only`: just the books (a retry of the books that failed)."""
    if books_only:
        return _books(client, book_coins)
    dexes_raw = client.perp_dexs()
    dexes = [dex.name for dex in parse(dexes_raw) if isinstance(dex, PerpDex)]
    raws = [dexes_raw]
    raws += [client.meta_and_asset_ctxs(dex) for dex in ["", *dexes]]
    raws += [client.spot_meta_and_asset_ctxs(), *(client.all_mids(dex) for dex in ["", *dexes]),
             client.predicted_fundings()]
    raws += [r for r in (client.optional_info({"type": "perpCategories"}),
                         client.optional_info({"type": "perpConciseAnnotations"})) if r is not None]
    return raws + _books(client, book_coins)


def _books(client: HyperliquidClient, coins: Sequence[str]) -> list[RawResponse]:
    return [failed_fetch(lambda: client.l2_book(coin), "hyperliquid", "l2Book", "POST", "/info",
                         {"type": "l2Book", "coin": coin}) for coin in coins]


def pull_candles(
    client: HyperliquidClient, coins: Sequence[str], intervals: Sequence[str], start_ms: int, end_ms: int,
    progress: Progress = log.info,
) -> list[RawResponse]:
    raws = []
    for coin in coins:
        for interval in intervals:
            pages = client.candle_pages(coin, interval, start_ms, end_ms)
            raws += pages
            progress(f"pulled candles {coin} {interval} {iso(start_ms)} -> {iso(end_ms)}: {len(pages)} page(s)")
    return raws


def pull_planned(client: HyperliquidClient, plan: HistoryPlan, endpoint: str,
                 progress: Progress = log.info) -> list[RawResponse]:
    """The candleSnapshot or fundingHistory pulls of a weight-planned history run."""
    raws = []
    for pull in plan.pulls(endpoint):
        if endpoint == "candleSnapshot":
            pages = client.candle_pages(pull.coin, pull.interval, pull.start_ms, pull.end_ms)
        else:
            pages = client.funding_pages(pull.coin, pull.start_ms, pull.end_ms)
        raws += pages
        progress(f"pulled {pull.label} {iso(pull.start_ms)} -> {iso(pull.end_ms)}: {len(pages)} page(s), "
                 f"weight ~{pull.weight} ({pull.why})")
    for pull, what, why in plan.skipped:
        if (pull.endpoint if pull else "fundingHistory") == endpoint:
            progress(f"skipped {what}: {why}")
    return raws


def pull_funding(
    client: HyperliquidClient, coins: Sequence[str], start_ms: int, end_ms: int, progress: Progress = log.info
) -> list[RawResponse]:
    raws = []
    for coin in coins:
        pages = client.funding_pages(coin, start_ms, end_ms)
        raws += pages
        progress(f"pulled funding {coin} {iso(start_ms)} -> {iso(end_ms)}: {len(pages)} page(s)")
    return raws


# -- writes ---------------------------------------------------------------------------------------------------
def _by_endpoint(raws: Sequence[RawResponse], endpoint: str) -> list[RawResponse]:
    return [raw for raw in raws if raw.endpoint == endpoint]


def write_candles(conn: sqlite3.Connection, raws: Sequence[RawResponse], start_ms: int, end_ms: int) -> Load:
    """Candles opening in [start_ms, end_ms) (a page may hold the candle before start_ms; it is kept out)."""
    rows = []
    for raw in _by_endpoint(raws, "candleSnapshot"):
        rows += n.candle_rows(parse(raw), start_ms, end_ms)
    check = BlockingCheck("ohlc_sane", lambda c: candle_ohlc_violations(c, start_ms, end_ms))
    return write_batch(conn, [(t.HL_CANDLES, rows)], checks=[check])[0]


def write_funding_history(conn: sqlite3.Connection, raws: Sequence[RawResponse], start_ms: int, end_ms: int) -> Load:
    rows = []
    for raw in _by_endpoint(raws, "fundingHistory"):
        rows += [row for row in n.funding_rows(parse(raw)) if start_ms <= row[2] < end_ms]
    unique = list({(row[0], row[1]): row for row in rows}.values())
    return write_batch(conn, [(t.HL_FUNDING_HISTORY, unique)])[0]


def _dex_of(raw: RawResponse) -> str:
    return raw.request.get("dex", "")


def _each(raws: Sequence[RawResponse], endpoint: str, failures: list[Failure]) -> list[tuple[RawResponse, object]]:
    """The valid `endpoint` responses of a snapshot; each refused one is added to `failures`."""
    parsed, refused = parse_each(raws, endpoint, parse)
    failures += refused
    return parsed


def write_universe(conn: sqlite3.Connection, raws: Sequence[RawResponse], taxonomy: Taxonomy) -> list[Load]:
    """Assets of every dex and spot, margin tiers, API categories, and the product taxonomy (with Trending).

    perpDexs fixes the builder dexes' asset ids, so it must be valid; a refused dex (or spot) universe is
    reported and the others written, and the categories of the refused ones are kept as they were."""
    failures: list[Failure] = []
    perp_snapshots = _each(raws, "metaAndAssetCtxs", failures)
    spots = _each(raws, "spotMetaAndAssetCtxs", failures)
    nothing_valid(perp_snapshots + spots, failures)
    spot = spots[0][1] if spots else None
    dex_order = [""] + [d.name for raw in _by_endpoint(raws, "perpDexs") for d in parse(raw) if d is not None]
    api_categories: dict[str, tuple[str, str | None]] = {}
    for raw, categories in _each(raws, "perpCategories", failures):
        api_categories.update({coin: (category, None) for coin, category in categories})
    for raw, notes in _each(raws, "perpConciseAnnotations", failures):
        for coin, note in notes:
            api_categories[coin] = (note.category, ",".join(note.keywords) if note.keywords else None)
    tokens = {token.index: token.name for token in spot.meta.tokens} if spot else {}

    assets, tiers, ctx_stats, stamp = [], [], [], max((r.fetched_ms for r in raws), default=0)
    for raw, snapshot in perp_snapshots:
        dex = _dex_of(raw)
        collateral = tokens.get(snapshot.meta.collateralToken or 0, "USDC")
        assets += n.perp_asset_rows(snapshot.meta, dex, dex_order.index(dex) if dex in dex_order else 0, stamp,
                                    collateral)
        tiers += n.margin_tier_rows(snapshot.meta, dex)
        ctx_stats += [(a.name, c.dayNtlVlm, c.openInterest) for a, c in zip(snapshot.meta.universe, snapshot.ctxs)]
    if spot:
        assets += n.spot_asset_rows(spot, stamp)

    previous_oi = _previous_open_interest(conn, stamp)
    hot = set(trending(taxonomy, [
        (coin, volume, (oi - previous_oi[coin][1]) / previous_oi[coin][1] * 100
         if coin in previous_oi and previous_oi[coin][1] else None)
        for coin, volume, oi in ctx_stats
    ]))
    categories = []
    for row in assets:
        coin, kind, dex, base, quote = row[0], row[1], row[2], row[5], row[6]
        asset = Asset(coin, kind, dex, base, quote, api_categories.get(coin, (None,))[0])
        for category, subcategory, rule in taxonomy.categorize(asset):
            categories.append((coin, category, subcategory, rule, taxonomy.version, stamp))
        if coin in hot:
            categories.append((coin, "Trending", "", "trending:volume+oi_change", taxonomy.version, stamp))
    api_rows = [(coin, category, keywords, stamp) for coin, (category, keywords) in api_categories.items()]
    batch = [(t.HL_ASSETS, assets), (t.HL_MARGIN_TIERS, tiers), (t.HL_API_CATEGORIES, api_rows),
             (t.ASSET_CATEGORIES, categories)]
    # Categories are a current view: rows that the latest mapping no longer produces are dropped (not when a
    # universe was refused, or none was in the batch: its assets keep the categories they had).
    whole = bool(perp_snapshots) and not failures
    prune = [("DELETE FROM asset_categories WHERE updated_ms < ?", (stamp,))] if whole else []
    return finish(write_batch(conn, batch, then=prune), failures, len(perp_snapshots) + len(spots))


def _previous_open_interest(conn: sqlite3.Connection, before_ms: int) -> dict[str, tuple[int, float]]:
    """The latest stored (ts_ms, open_interest) per coin strictly before `before_ms`."""
    rows = conn.execute(
        "SELECT coin, MAX(ts_ms), open_interest FROM hl_asset_ctxs WHERE ts_ms < ? AND open_interest IS NOT NULL "
        "GROUP BY coin",
        (before_ms,),
    )
    return {coin: (ts, oi) for coin, ts, oi in rows}


def write_mids(conn: sqlite3.Connection, raws: Sequence[RawResponse]) -> Load:
    failures: list[Failure] = []
    mids = _each(raws, "allMids", failures)
    nothing_valid(mids, failures)
    rows = [(coin, raw.fetched_ms, mid) for raw, values in mids for coin, mid in values.items()]
    return finish(write_batch(conn, [(t.HL_MIDS, rows)]), failures, len(mids))[0]


def write_contexts(conn: sqlite3.Connection, raws: Sequence[RawResponse]) -> list[Load]:
    """Asset contexts (perps of every dex and spot) and the positioning pressure derived from them."""
    ctx_rows, positioning, failures = [], [], []
    perp_snapshots = _each(raws, "metaAndAssetCtxs", failures)
    spot = _each(raws, "spotMetaAndAssetCtxs", failures)
    nothing_valid(perp_snapshots + spot, failures)
    for raw, snapshot in perp_snapshots:
        previous = _previous_open_interest(conn, raw.fetched_ms)
        for asset, ctx in zip(snapshot.meta.universe, snapshot.ctxs, strict=True):
            positioning.append(positioning_row(asset.name, raw.fetched_ms, ctx.openInterest, ctx.markPx,
                                               ctx.oraclePx, ctx.dayNtlVlm, previous.get(asset.name)))
        ctx_rows += n.perp_ctx_rows(snapshot, raw.fetched_ms)
    for raw, snapshot in spot:
        ctx_rows += n.spot_ctx_rows(snapshot, raw.fetched_ms)
    loads = write_batch(conn, [(t.HL_ASSET_CTXS, ctx_rows), (t.HL_POSITIONING, positioning)])
    return finish(loads, failures, len(perp_snapshots) + len(spot))


def write_funding_pressure(conn: sqlite3.Connection, raws: Sequence[RawResponse]) -> list[Load]:
    """Predicted funding per venue, and funding pressure per perp with 24h/7d sums of the stored history."""
    predicted_rows, hl_predicted, failures = [], {}, []
    predicted = _each(raws, "predictedFundings", failures)
    snapshots = _each(raws, "metaAndAssetCtxs", failures)
    nothing_valid(predicted + snapshots, failures)
    for raw, fundings in predicted:
        for coin, venues in fundings:
            for venue, value in venues:
                if value is None:
                    continue
                predicted_rows.append((coin, venue, raw.fetched_ms, value.fundingRate, value.nextFundingTime))
                if venue == "HlPerp":
                    hl_predicted[coin] = value.fundingRate
    stamp = max((raw.fetched_ms for raw, _ in snapshots), default=0)
    history: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for coin, hour, rate in conn.execute(
        "SELECT coin, hour_ms, funding_rate FROM hl_funding_history WHERE hour_ms > ? AND hour_ms <= ? "
        "ORDER BY coin, hour_ms",
        (stamp - 8 * DAY_MS, stamp),
    ):
        history[coin].append((hour, rate))
    pressure = [
        funding_pressure_row(asset.name, raw.fetched_ms, ctx.funding, ctx.premium, hl_predicted.get(asset.name),
                             history.get(asset.name, []))
        for raw, snapshot in snapshots
        for asset, ctx in zip(snapshot.meta.universe, snapshot.ctxs, strict=True)
    ]
    loads = write_batch(conn, [(t.HL_PREDICTED_FUNDINGS, predicted_rows), (t.HL_FUNDING_PRESSURE, pressure)])
    return finish(loads, failures, len(predicted) + len(snapshots))


def write_books(conn: sqlite3.Connection, raws: Sequence[RawResponse]) -> list[Load]:
    """L2 book levels (what paper fills walk) and the liquidity profile of each book; each coin's book on its
    own (a refused or failed one is reported after the others are written)."""
    levels, liquidity, failures = [], [], []
    books = _each(raws, "l2Book", failures)
    nothing_valid(books, failures)
    for raw, book in books:
        rows = n.book_level_rows(book)
        levels += rows
        profile = liquidity_profile([(r[4], r[5]) for r in rows if r[2] == "bid"],
                                    [(r[4], r[5]) for r in rows if r[2] == "ask"])
        if profile is not None:
            liquidity.append((book.coin, book.time, *profile))
    return finish(write_batch(conn, [(t.HL_BOOK_LEVELS, levels), (t.HL_LIQUIDITY, liquidity)]), failures,
                  len(books))


def write_volatility(
    conn: sqlite3.Connection, coins: Sequence[str], intervals: Sequence[str], start_ms: int, end_ms: int
) -> Load:
    """Volatility profile as of each hourly close in [start_ms, end_ms], from stored, completed candles (with
    look-back); a candle still forming is left out."""
    rows, completed_before = [], now_ms()
    for coin in coins:
        for interval in intervals:
            step = interval_ms(interval)
            bars = conn.execute(
                "SELECT open_ms, close_ms, open, high, low, close FROM hl_candles "
                "WHERE coin = ? AND interval = ? AND open_ms >= ? AND open_ms < ? AND close_ms < ? ORDER BY open_ms",
                (coin, interval, start_ms - (max(WINDOWS) + 1) * step, end_ms, completed_before),
            ).fetchall()
            rows += volatility_rows(coin, interval, step, bars, start_ms)
    return write_batch(conn, [(t.HL_VOLATILITY, rows)])[0]

