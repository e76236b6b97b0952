"""Clients for Polymarket's Gamma (discovery) and CLOB (market data) APIs; every method returns raw responses.

Gamma caps `limit` at 100 and refuses offsets past 10,000, so pages ask for exactly 100 and stop at a short
page or the offset bound; `closed` is always sent explicitly (Gamma assumes `closed=false` otherwise). CLOB
market pages follow `next_cursor` until the end sentinel "LTE=".
"""

from __future__ import annotations

from typing import Any

from clash_pipeline.sources.http import RawResponse, SourceHttp, WeightBudget
from clash_pipeline.sources.parsing import parse_raw
from clash_pipeline.sources.polymarket.contracts import CONTRACTS
from clash_pipeline.sources.polymarket.models import ADAPTERS

SOURCE = "polymarket"
GAMMA_PAGE = 100
GAMMA_MAX_OFFSET = 10_000
CLOB_END_CURSOR = "LTE="


def parse(raw: RawResponse) -> Any:
    return parse_raw(ADAPTERS, raw, CONTRACTS)


def _bools(params: dict) -> dict:
    return {key: (str(value).lower() if isinstance(value, bool) else value) for key, value in params.items()
            if value is not None}


class PolymarketClient:
    def __init__(self, gamma: SourceHttp, clob: SourceHttp, budget: WeightBudget | None = None) -> None:
        self.gamma, self.clob, self.budget = gamma, clob, budget

    def _get(self, http: SourceHttp, path: str, endpoint: str, params: dict) -> RawResponse:
        if self.budget:
            self.budget.acquire(1)
        return http.request("GET", path, endpoint, params=_bools(params))

    # -- Gamma ------------------------------------------------------------------------------------------------
    def markets(self, *, closed: bool, offset: int = 0, **filters: object) -> RawResponse:
        return self._get(self.gamma, "/markets", "gamma/markets",
                         {"closed": closed, "limit": GAMMA_PAGE, "offset": offset, **filters})

    def market_pages(self, *, closed: bool, max_pages: int, **filters: object) -> list[RawResponse]:
        """Pages of 100 until a short page, `max_pages`, or Gamma's offset bound."""
        pages = []
        for page in range(max_pages):
            offset = page * GAMMA_PAGE
            if offset > GAMMA_MAX_OFFSET:
                break
            raw = self.markets(closed=closed, offset=offset, **filters)
            pages.append(raw)
            if len(parse(raw)) < GAMMA_PAGE:
                break
        return pages

    def events(self, *, closed: bool, offset: int = 0, **filters: object) -> RawResponse:
        return self._get(self.gamma, "/events", "gamma/events",
                         {"closed": closed, "limit": GAMMA_PAGE, "offset": offset, **filters})

    def tags(self, limit: int = GAMMA_PAGE, offset: int = 0) -> RawResponse:
        return self._get(self.gamma, "/tags", "gamma/tags", {"limit": limit, "offset": offset})

    def public_search(self, query: str) -> RawResponse:
        return self._get(self.gamma, "/public-search", "gamma/public-search", {"q": query})

    # -- CLOB -------------------------------------------------------------------------------------------------
    def clob_markets(self, cursor: str = "") -> RawResponse:
        return self._get(self.clob, "/markets", "clob/markets", {"next_cursor": cursor} if cursor else {})

    def clob_market_pages(self, max_pages: int) -> list[RawResponse]:
        pages, cursor = [], ""
        for _ in range(max_pages):
            raw = self.clob_markets(cursor)
            pages.append(raw)
            cursor = parse(raw).next_cursor
            if not cursor or cursor == CLOB_END_CURSOR:
                break
        return pages

    def book(self, token_id: str) -> RawResponse:
        return self._get(self.clob, "/book", "clob/book", {"token_id": token_id})

    def midpoint(self, token_id: str) -> RawResponse:
        return self._get(self.clob, "/midpoint", "clob/midpoint", {"token_id": token_id})

    def prices_history(self, token_id: str, start_s: int, end_s: int, fidelity_min: int = 60) -> RawResponse:
        """Price history of one CLOB token (the `market` parameter is the token id; times in Unix seconds)."""
        return self._get(self.clob, "/prices-history", "clob/prices-history",
                         {"market": token_id, "startTs": start_s, "endTs": end_s, "fidelity": fidelity_min})

    def close(self) -> None:
        self.gamma.close()
        self.clob.close()
