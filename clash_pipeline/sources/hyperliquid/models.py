"""Pydantic models of Hyperliquid `info` responses, as the API sends them.

Decimal strings ("30135.0") validate into finite floats; NaN and infinity are refused. Timestamps and counts
are strict integers. Optional fields are the ones the real recordings show missing or null.
Hot paths (candles, funding) use TypedDicts, which validate about twice as fast as models.

Domain ranges sit on the fields: `Price` > 0 (candle OHLC, book levels, mark/oracle/mid/impact prices, mids),
`Amount` >= 0 (volumes, open interest, supplies, prevDayPx, which is 0 for a pair with no trade yesterday),
`Size` > 0 (book level sizes), `SzDecimals` in [0, 8] (8 is the most price decimals a spot pair has), `Leverage`
in [1, 100], order and trade counts >= 0 (>= 1 for a book level). Funding rates and premiums take either sign.
What a single field cannot say (identity against the request, high >= low, an uncrossed book, duplicate keys)
is each endpoint's contract in `contracts.py`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, TypeAdapter, model_validator
from typing_extensions import TypedDict

Num = Annotated[float, Field(allow_inf_nan=False)]
Price = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Size = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Count = Annotated[StrictInt, Field(ge=0)]
Time = Annotated[StrictInt, Field(ge=0)]
SzDecimals = Annotated[StrictInt, Field(ge=0, le=8)]
Leverage = Annotated[StrictInt, Field(ge=1, le=100)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Candle(TypedDict):
    """Contract: `s`/`i` are the requested coin/interval, low <= open, close <= high, one row per `t`."""

    t: Time
    T: Time
    s: StrictStr
    i: StrictStr
    o: Price
    h: Price
    l: Price  # noqa: E741 - the API's name
    c: Price
    v: Amount
    n: Count


class FundingRow(TypedDict):
    """Contract: `coin` is the requested coin, one row per hour."""

    coin: StrictStr
    fundingRate: Num
    premium: Num
    time: Time


class BookLevel(TypedDict):
    px: Price
    sz: Size
    n: Annotated[StrictInt, Field(ge=1)]


class L2Book(_Model):
    """Contract: `coin` is the requested coin, best bid < best ask, one level per price and side."""

    coin: StrictStr
    time: Time
    levels: tuple[list[BookLevel], list[BookLevel]]


class PerpAsset(_Model):
    name: StrictStr
    szDecimals: SzDecimals
    maxLeverage: Leverage
    marginTableId: StrictInt | None = None
    onlyIsolated: StrictBool = False
    isDelisted: StrictBool = False
    marginMode: StrictStr | None = None


class MarginTier(_Model):
    lowerBound: Amount
    maxLeverage: Leverage


class MarginTable(_Model):
    description: StrictStr = ""
    marginTiers: list[MarginTier]


class PerpMeta(_Model):
    """Contract: asset names unique in the universe, margin table ids unique."""

    universe: list[PerpAsset]
    marginTables: list[tuple[StrictInt, MarginTable]] = []
    collateralToken: StrictInt | None = None


class PerpCtx(_Model):
    funding: Num
    openInterest: Amount
    prevDayPx: Amount
    dayNtlVlm: Amount
    premium: Num | None
    oraclePx: Price
    markPx: Price
    midPx: Price | None = None
    impactPxs: tuple[Price, Price] | None = None
    dayBaseVlm: Amount | None = None


class _MetaAndCtxs(_Model):
    """The API sends `[meta, ctxs]`: a two-element array."""

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError(f"expected [meta, ctxs], got a list of {len(value)}")
            return {"meta": value[0], "ctxs": value[1]}
        return value


class MetaAndAssetCtxs(_MetaAndCtxs):
    meta: PerpMeta
    ctxs: list[PerpCtx]

    @model_validator(mode="after")
    def _same_length(self) -> MetaAndAssetCtxs:
        if len(self.meta.universe) != len(self.ctxs):
            raise ValueError(f"{len(self.meta.universe)} perps but {len(self.ctxs)} ctxs")
        return self


class SpotToken(_Model):
    name: StrictStr
    szDecimals: SzDecimals
    weiDecimals: Annotated[StrictInt, Field(ge=0, le=18)]
    index: Count
    isCanonical: StrictBool = False
    fullName: StrictStr | None = None


class SpotPair(_Model):
    tokens: tuple[Count, Count]
    name: StrictStr
    index: Count
    isCanonical: StrictBool = False


class SpotMeta(_Model):
    """Contract: pair names and indexes unique, token indexes unique."""

    universe: list[SpotPair]
    tokens: list[SpotToken]


class SpotCtx(_Model):
    coin: StrictStr
    prevDayPx: Amount
    dayNtlVlm: Amount
    markPx: Price
    midPx: Price | None = None
    circulatingSupply: Amount | None = None
    totalSupply: Amount | None = None
    dayBaseVlm: Amount | None = None


class SpotMetaAndAssetCtxs(_MetaAndCtxs):
    meta: SpotMeta
    ctxs: list[SpotCtx]


class PredictedVenue(_Model):
    fundingRate: Num
    nextFundingTime: Time | None = None


class PerpDex(_Model):
    name: StrictStr
    fullName: StrictStr | None = None


class ConciseAnnotation(_Model):
    category: StrictStr
    keywords: list[StrictStr] | None = None


CANDLES = TypeAdapter(list[Candle])
FUNDING_HISTORY = TypeAdapter(list[FundingRow])
L2BOOK = TypeAdapter(L2Book)
PERP_META = TypeAdapter(PerpMeta)
META_AND_CTXS = TypeAdapter(MetaAndAssetCtxs)
SPOT_META = TypeAdapter(SpotMeta)
SPOT_META_AND_CTXS = TypeAdapter(SpotMetaAndAssetCtxs)
ALL_MIDS = TypeAdapter(dict[str, Price])
PREDICTED_FUNDINGS = TypeAdapter(list[tuple[StrictStr, list[tuple[StrictStr, PredictedVenue | None]]]])
PERP_DEXS = TypeAdapter(list[PerpDex | None])
PERP_CATEGORIES = TypeAdapter(list[tuple[StrictStr, StrictStr]])
PERP_CONCISE_ANNOTATIONS = TypeAdapter(list[tuple[StrictStr, ConciseAnnotation]])

ADAPTERS: dict[str, TypeAdapter] = {
    "candleSnapshot": CANDLES,
    "fundingHistory": FUNDING_HISTORY,
    "l2Book": L2BOOK,
    "meta": PERP_META,
    "metaAndAssetCtxs": META_AND_CTXS,
    "spotMeta": SPOT_META,
    "spotMetaAndAssetCtxs": SPOT_META_AND_CTXS,
    "allMids": ALL_MIDS,
    "predictedFundings": PREDICTED_FUNDINGS,
    "perpDexs": PERP_DEXS,
    "perpCategories": PERP_CATEGORIES,
    "perpConciseAnnotations": PERP_CONCISE_ANNOTATIONS,
}
