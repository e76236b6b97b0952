"""Contracts of Gamma and CLOB responses beyond their models' per-field ranges (see models.py).

- gamma/markets, gamma/events: one entry per id. gamma/public-search: one event per id.
- clob/markets: one market per condition id.
- clob/book: `asset_id` is the requested `token_id`; best bid < best ask; one level per price a side.
"""

from __future__ import annotations

from decimal import Decimal

from clash_pipeline.sources.contracts import no_duplicates
from clash_pipeline.sources.errors import Violation
from clash_pipeline.sources.polymarket.models import ClobBook, ClobMarketsPage, SearchResult


def by_id(rows: list, request: dict) -> None:
    no_duplicates(rows, lambda row: row.id, "id", "id")


def search(result: SearchResult, request: dict) -> None:
    no_duplicates(result.events, lambda event: event.id, "id", "event id", "events.")


def clob_markets(page: ClobMarketsPage, request: dict) -> None:
    no_duplicates(page.data, lambda market: market.condition_id, "condition_id", "condition id", "data.")


def book(value: ClobBook, request: dict) -> None:
    token = request.get("token_id")
    if token is not None and value.asset_id != token:
        raise Violation("asset_id", f"{value.asset_id!r} but the request asked for token_id {token!r}")
    for side in ("bids", "asks"):
        no_duplicates(getattr(value, side), lambda level: Decimal(level.price), "price", "price level", f"{side}.")
    if value.bids and value.asks:
        best_bid = max(Decimal(level.price) for level in value.bids)
        best_ask = min(Decimal(level.price) for level in value.asks)
        if best_bid >= best_ask:
            raise Violation("bids", f"crossed book: best bid {best_bid} >= best ask {best_ask}")


CONTRACTS = {
    "gamma/markets": by_id,
    "gamma/events": by_id,
    "gamma/public-search": search,
    "clob/markets": clob_markets,
    "clob/book": book,
}
