"""Polymarket ingestion: discover markets related to the tracked symbols, link them, pick horizons, read books.

Each response is held on its own: a refused Gamma page or CLOB book (or a book whose fetch failed) is reported
after the others are written (`IncompleteIngest`), so one bad `/book` never drops the markets and links."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from clash_pipeline.ingest.isolation import Failure, failed_fetch, finish, nothing_valid, parse_each
from clash_pipeline.ingest.load import BlockingCheck, Load, write_batch
from clash_pipeline.links.polymarket import MarketMapping, MarketTimes, horizons
from clash_pipeline.memory import tables as t
from clash_pipeline.memory.checks import binary_prices_out_of_range
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.sources.polymarket.client import PolymarketClient, parse
from clash_pipeline.sources.polymarket.models import GammaMarket

log = logging.getLogger("clash_pipeline")
Progress = Callable[[str], None]
OPEN_PAGES, SOON_PAGES, CLOSED_PAGES = 5, 3, 3
SOON_MS = 7 * 24 * 3600 * 1000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def collect_markets(raws: Sequence[RawResponse], failures: list[Failure] | None = None
                    ) -> dict[str, tuple[GammaMarket, list[str]]]:
    """Every Gamma market in a batch (lists and search results), by id, with its events' tag slugs. With
    `failures`, a refused response is added there and the others are kept; without, it raises."""
    found: dict[str, tuple[GammaMarket, list[str]]] = {}
    pages, searches = [], []
    for endpoint, into in (("gamma/markets", pages), ("gamma/public-search", searches)):
        parsed, refused = parse_each(raws, endpoint, parse)
        if refused and failures is None:
            raise refused[0].error
        into += parsed
        if failures is not None:
            failures += refused
    for _, markets in pages:
        for market in markets:
            tags = [tag.slug for event in market.events for tag in event.tags if tag.slug]
            found[market.id] = (market, tags)
    for _, result in searches:
        for event in result.events:
            for market in event.markets:
                tags = [tag.slug for tag in event.tags if tag.slug]
                found[market.id] = (market, tags)
    return found


def _linked(mapping: MarketMapping, markets: dict[str, tuple[GammaMarket, list[str]]]) -> dict[str, list]:
    by_symbol: dict[str, list] = {}
    for market, tags in markets.values():
        for symbol, rule in mapping.links(market.question, market.slug, tags):
            by_symbol.setdefault(symbol, []).append((market, rule))
    return by_symbol


def pull_snapshot(client: PolymarketClient, mapping: MarketMapping, now_ms: int,
                  progress: Progress = log.info) -> list[RawResponse]:
    """Open markets by 24h volume and by nearest end, recently ended ones, a search per symbol, then the CLOB
    books of each symbol's immediate and later markets."""
    raws = client.market_pages(closed=False, max_pages=OPEN_PAGES, active=True, order="volume24hr", ascending=False)
    raws += client.market_pages(closed=False, max_pages=SOON_PAGES, active=True, order="endDate", ascending=True,
                                end_date_min=_iso(now_ms), end_date_max=_iso(now_ms + SOON_MS))
    raws += client.market_pages(closed=True, max_pages=CLOSED_PAGES, order="endDate", ascending=False,
                                end_date_min=_iso(now_ms - mapping.recently_closed_ms))
    raws += [client.public_search(rules.search) for rules in mapping.symbols]
    markets = collect_markets(raws)
    linked = _linked(mapping, markets)
    tokens = set()
    for symbol, pairs in linked.items():
        for horizon, _, market_id, _ in horizons(mapping, [_times(m) for m, _ in pairs], now_ms):
            market = markets[market_id][0]
            if horizon != "recently_closed" and market.clobTokenIds:
                tokens.add(market.clobTokenIds[0])
    raws += [failed_fetch(lambda: client.book(token), "polymarket", "clob/book", "GET", "/book", {"token_id": token})
             for token in sorted(tokens)]
    progress(f"polymarket: {len(markets)} markets, {sum(map(len, linked.values()))} links, {len(tokens)} books")
    return raws


def _times(market: GammaMarket) -> MarketTimes:
    return MarketTimes(market.id, market.endDate, market.closed, market.closedTime)


def _resolved(market: GammaMarket) -> str | None:
    if not market.closed:
        return None
    winners = [o for o, p in zip(market.outcomes, market.outcomePrices) if p in ("1", "1.0")]
    return winners[0] if len(winners) == 1 else None


def write_markets(conn: sqlite3.Connection, raws: Sequence[RawResponse], mapping: MarketMapping, ts_ms: int) -> list[Load]:
    """Markets, their point-in-time snapshot, links to symbols and each symbol's horizons, in one transaction;
    binary prices are checked before it commits."""
    failures: list[Failure] = []
    markets = collect_markets(raws, failures)
    if failures and not markets:
        raise failures[0].error
    rows, snapshots = [], []
    for market, _ in markets.values():
        event = market.events[0].slug if market.events else None
        first = float(market.outcomePrices[0]) if market.outcomePrices else None
        rows.append((
            market.id, market.conditionId, market.slug, market.question, event, json.dumps(market.outcomes),
            json.dumps(market.outcomePrices), json.dumps(market.clobTokenIds), market.volume, market.liquidity,
            market.volume24hr, market.bestBid, market.bestAsk, market.lastTradePrice, market.endDate,
            int(market.closed), None if market.acceptingOrders is None else int(market.acceptingOrders),
            market.closedTime, _resolved(market), ts_ms,
        ))
        snapshots.append((market.id, ts_ms, first, market.bestBid, market.bestAsk, market.volume, market.liquidity,
                          int(market.closed)))
    links, horizon_rows = [], []
    for symbol, pairs in _linked(mapping, markets).items():
        links += [(symbol, market.id, rule, mapping.version, ts_ms) for market, rule in pairs]
        horizon_rows += [(symbol, ts_ms, *row) for row in horizons(mapping, [_times(m) for m, _ in pairs], ts_ms)]
    loads = write_batch(conn, [(t.PM_MARKETS, rows), (t.PM_MARKET_SNAPSHOTS, snapshots),
                               (t.PM_ASSET_LINKS, links), (t.PM_ASSET_HORIZONS, horizon_rows)],
                        checks=[BlockingCheck("binary_prices_in_range", binary_prices_out_of_range)])
    return finish(loads, failures, len(markets))


def write_books(conn: sqlite3.Connection, raws: Sequence[RawResponse], ts_ms: int) -> Load:
    """Best bid and ask by value (the CLOB may list levels in either order), mid, spread and depth; each book on
    its own (a refused or failed one is reported after the others are written)."""
    rows = []
    books, failures = parse_each(raws, "clob/book", parse)
    nothing_valid(books, failures)
    for raw, book in books:
        bids = [float(level.price) for level in book.bids]
        asks = [float(level.price) for level in book.asks]
        best_bid, best_ask = max(bids, default=None), min(asks, default=None)
        mid = (best_bid + best_ask) / 2 if best_bid is not None and best_ask is not None else None
        rows.append((book.asset_id, book.timestamp or ts_ms, book.market, best_bid, best_ask, mid,
                     None if mid is None else best_ask - best_bid, sum(float(level.size) for level in book.bids),
                     sum(float(level.size) for level in book.asks)))
    return finish(write_batch(conn, [(t.PM_BOOKS, rows)]), failures, len(books))[0]
