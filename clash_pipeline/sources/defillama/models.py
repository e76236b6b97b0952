"""Pydantic models of DefiLlama responses (shapes from the official OpenAPI spec and Python SDK).

Money values are USD floats; timestamps are Unix seconds, as ints in TVL and dimension charts and as strings in
stablecoin charts: both are accepted and turned into integer milliseconds. `chainId` may be a number, a string
or null; `gecko_id`/`tokenSymbol`/`cmcId` may be null (the real 2022 `/v2/chains` shows all of these).

Domain ranges sit on the fields: TVL, stablecoin supply and stablecoin prices >= 0 (`Usd`); fees, revenue and
volume totals and changes take either sign here (revenue can be negative), and the contract holds fees and DEX
volume >= 0. Duplicate keys (chain names, stablecoin ids, days in a series) are each endpoint's contract in
`contracts.py`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, TypeAdapter

Num = Annotated[float, Field(allow_inf_nan=False)]
Usd = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _seconds_to_ms(value: object) -> object:
    if isinstance(value, str):
        if not value.isdigit():
            raise ValueError(f"not a Unix time: {value!r}")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a Unix time: {value!r}")
    return value * 1000


TimeMs = Annotated[int, BeforeValidator(_seconds_to_ms)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Chain(_Model):
    name: StrictStr
    tvl: Usd
    gecko_id: StrictStr | None = None
    tokenSymbol: StrictStr | None = None
    cmcId: StrictStr | None = None
    chainId: int | StrictStr | None = None


class TvlPoint(_Model):
    date: TimeMs
    tvl: Usd


class ChainCirculating(_Model):
    current: dict[str, Usd] = {}


class PeggedAsset(_Model):
    id: StrictStr
    name: StrictStr
    symbol: StrictStr
    gecko_id: StrictStr | None = None
    pegType: StrictStr
    pegMechanism: StrictStr | None = None
    circulating: dict[str, Usd] = {}
    circulatingPrevDay: dict[str, Usd] | None = None
    circulatingPrevWeek: dict[str, Usd] | None = None
    circulatingPrevMonth: dict[str, Usd] | None = None
    chainCirculating: dict[str, ChainCirculating] = {}
    chains: list[StrictStr] = []
    price: Usd | None = None


class Stablecoins(_Model):
    peggedAssets: list[PeggedAsset]


class StablecoinChartPoint(_Model):
    date: TimeMs
    totalCirculatingUSD: dict[str, Usd]


class StablecoinChain(_Model):
    name: StrictStr
    totalCirculatingUSD: dict[str, Usd]
    gecko_id: StrictStr | None = None
    tokenSymbol: StrictStr | None = None


class Overview(_Model):
    """/overview/fees and /overview/dexs (with or without a chain)."""

    chain: StrictStr | None = None
    allChains: list[StrictStr] = []
    total24h: Num | None = None
    total7d: Num | None = None
    total30d: Num | None = None
    change_1d: Num | None = None
    change_7d: Num | None = None
    change_1m: Num | None = None
    totalDataChart: list[tuple[TimeMs, Num]] = []


class Protocol(_Model):
    name: StrictStr
    symbol: StrictStr | None = None
    gecko_id: StrictStr | None = None
    category: StrictStr | None = None
    chains: list[StrictStr] = []
    tvl: Usd | None = None


ADAPTERS: dict[str, TypeAdapter] = {
    "v2/chains": TypeAdapter(list[Chain]),
    "v2/historicalChainTvl": TypeAdapter(list[TvlPoint]),
    "protocols": TypeAdapter(list[Protocol]),
    "overview/fees": TypeAdapter(Overview),
    "overview/dexs": TypeAdapter(Overview),
    "stablecoins": TypeAdapter(Stablecoins),
    "stablecoincharts": TypeAdapter(list[StablecoinChartPoint]),
    "stablecoinchains": TypeAdapter(list[StablecoinChain]),
}
