"""Pydantic models of Gamma and CLOB responses, taking the recorded quirks as they are.

- `outcomes`, `outcomePrices`, `clobTokenIds` are JSON arrays encoded inside strings: decoded here.
- Outcomes are not always Yes/No; prices may be ["0","0"] or 34-digit decimals: kept as decimal strings.
- `volume`/`liquidity` are strings on markets, numbers on events, and may be missing.
- `closedTime` is "2026-04-05 19:37:33+00", not ISO 8601 with a T; dates are parsed to integer ms UTC.
- `active` stays true after `closed`: use `closed`.
- CLOB book levels may come in either order; its `timestamp` is ms as a string (or ISO in the docs).

Domain ranges sit on the fields: prices and probabilities (`outcomePrices`, best bid/ask, last trade, CLOB token
and book prices, midpoints, price history) in [0, 1]; volumes and liquidity >= 0; book sizes and tick sizes > 0;
a market has as many prices and token ids as outcomes (or none). Identity, crossed books and duplicate keys are
each endpoint's contract in `contracts.py`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr, TypeAdapter, model_validator

Num = Annotated[float, Field(allow_inf_nan=False)]


def _json_list(value: object) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"not a JSON array in a string: {value[:40]!r}") from None
    return value


def _decimal_str(value: object) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return str(value)


def to_ms(value: object) -> int | None:
    """ISO 8601 (any precision, Z), "YYYY-MM-DD HH:MM:SS+00", a bare date, or ms/s digits -> ms UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = int(value)
        return number if number > 10**11 else number * 1000
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _probability_str(value: object) -> str:
    text = _decimal_str(value)
    if not 0 <= Decimal(text) <= 1:
        raise ValueError(f"a price must be in [0, 1]: {value!r}")
    return text


def _positive_str(value: object) -> str:
    text = _decimal_str(value)
    if not Decimal(text) > 0:
        raise ValueError(f"a size must be > 0: {value!r}")
    return text


JsonList = Annotated[list[StrictStr], BeforeValidator(_json_list)]
DecimalStr = Annotated[str, BeforeValidator(_decimal_str)]
ProbabilityStr = Annotated[str, BeforeValidator(_probability_str)]
PositiveStr = Annotated[str, BeforeValidator(_positive_str)]
PriceList = Annotated[list[ProbabilityStr], BeforeValidator(_json_list)]
TimeMs = Annotated[int | None, BeforeValidator(to_ms)]
Amount = Annotated[Annotated[float, Field(ge=0, allow_inf_nan=False)] | None,
                   BeforeValidator(lambda v: None if v in (None, "") else v)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Tag(_Model):
    id: StrictStr
    label: StrictStr | None = None
    slug: StrictStr | None = None


class EventRef(_Model):
    id: StrictStr
    slug: StrictStr | None = None
    title: StrictStr | None = None
    tags: list[Tag] = []


class GammaMarket(_Model):
    id: StrictStr
    question: StrictStr
    conditionId: StrictStr
    slug: StrictStr
    outcomes: JsonList
    outcomePrices: PriceList = []
    clobTokenIds: JsonList = []
    volume: Amount = None
    liquidity: Amount = None
    volumeNum: Amount = None
    volume24hr: Amount = None
    endDate: TimeMs = None
    closedTime: TimeMs = None
    active: StrictBool = False
    closed: StrictBool = False
    acceptingOrders: StrictBool | None = None
    bestBid: Probability | None = None
    bestAsk: Probability | None = None
    lastTradePrice: Probability | None = None
    category: StrictStr | None = None
    events: list[EventRef] = []

    @model_validator(mode="after")
    def _one_price_and_token_per_outcome(self) -> GammaMarket:
        for name in ("outcomePrices", "clobTokenIds"):
            values = getattr(self, name)
            if values and len(values) != len(self.outcomes):
                raise ValueError(f"{len(values)} {name} for {len(self.outcomes)} outcomes")
        return self


class GammaEvent(_Model):
    id: StrictStr
    slug: StrictStr | None = None
    title: StrictStr | None = None
    endDate: TimeMs = None
    volume: Amount = None
    liquidity: Amount = None
    markets: list[GammaMarket] = []
    tags: list[Tag] = []


class Pagination(_Model):
    hasMore: StrictBool = False
    totalResults: int | None = None


class SearchResult(_Model):
    events: list[GammaEvent] = []
    pagination: Pagination | None = None


class ClobToken(_Model):
    token_id: StrictStr
    outcome: StrictStr
    price: Probability
    winner: StrictBool = False


class ClobMarket(_Model):
    condition_id: StrictStr
    question: StrictStr
    market_slug: StrictStr | None = None
    end_date_iso: TimeMs = None
    tokens: list[ClobToken] = []
    active: StrictBool = False
    closed: StrictBool = False
    accepting_orders: StrictBool = False
    minimum_tick_size: Annotated[float, Field(gt=0, le=1)] | None = None
    tags: list[StrictStr] | None = None


class ClobMarketsPage(_Model):
    data: list[ClobMarket]
    next_cursor: StrictStr
    limit: int | None = None
    count: int | None = None


class BookLevel(_Model):
    price: ProbabilityStr
    size: PositiveStr


class ClobBook(_Model):
    """Contract: `asset_id` is the requested token_id; best bid < best ask; one level per price and side."""

    market: StrictStr
    asset_id: StrictStr
    timestamp: TimeMs = None
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []


class Midpoint(_Model):
    mid: ProbabilityStr


class PricePoint(_Model):
    t: int
    p: Probability


class PriceHistory(_Model):
    history: list[PricePoint] = []


ADAPTERS: dict[str, TypeAdapter] = {
    "gamma/markets": TypeAdapter(list[GammaMarket]),
    "gamma/market": TypeAdapter(GammaMarket),
    "gamma/events": TypeAdapter(list[GammaEvent]),
    "gamma/tags": TypeAdapter(list[Tag]),
    "gamma/public-search": TypeAdapter(SearchResult),
    "clob/markets": TypeAdapter(ClobMarketsPage),
    "clob/market": TypeAdapter(ClobMarket),
    "clob/book": TypeAdapter(ClobBook),
    "clob/midpoint": TypeAdapter(Midpoint),
    "clob/prices-history": TypeAdapter(PriceHistory),
}
