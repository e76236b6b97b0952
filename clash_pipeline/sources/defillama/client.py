"""Clients for api.llama.fi and stablecoins.llama.fi; every method returns raw responses.

The overview endpoints always send both exclude-chart flags (the OpenAPI spec marks them required; the
breakdown chart is megabytes): the snapshot excludes both charts, the daily history keeps only `totalDataChart`.
TVL paths take the chain's display name (`Ethereum`), dimension paths the lower-case one (`ethereum`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from clash_pipeline.sources.http import RawResponse, SourceHttp, WeightBudget
from clash_pipeline.sources.parsing import parse_raw
from clash_pipeline.sources.defillama.contracts import CONTRACTS
from clash_pipeline.sources.defillama.models import ADAPTERS

SOURCE = "defillama"
FEES_TYPES = ("dailyFees", "dailyRevenue")


def parse(raw: RawResponse) -> Any:
    return parse_raw(ADAPTERS, raw, CONTRACTS)


class DefiLlamaClient:
    def __init__(self, api: SourceHttp, stablecoins: SourceHttp, budget: WeightBudget | None = None) -> None:
        self.api, self.stable, self.budget = api, stablecoins, budget

    def _get(self, http: SourceHttp, path: str, endpoint: str, params: dict | None = None) -> RawResponse:
        if self.budget:
            self.budget.acquire(1)
        return http.request("GET", path, endpoint, params=params or {})

    def chains(self) -> RawResponse:
        return self._get(self.api, "/v2/chains", "v2/chains")

    def historical_tvl(self, chain: str | None = None) -> RawResponse:
        path = "/v2/historicalChainTvl" + (f"/{quote(chain)}" if chain else "")
        return self._get(self.api, path, "v2/historicalChainTvl")

    def protocols(self) -> RawResponse:
        return self._get(self.api, "/protocols", "protocols")

    def overview(self, kind: str, chain: str | None = None, data_type: str | None = None,
                 with_chart: bool = False) -> RawResponse:
        """`kind` is "fees" or "dexs"; `with_chart` keeps totalDataChart (daily history)."""
        path = f"/overview/{kind}" + (f"/{quote(chain.lower())}" if chain else "")
        params = {"excludeTotalDataChart": str(not with_chart).lower(), "excludeTotalDataChartBreakdown": "true"}
        if data_type:
            params["dataType"] = data_type
        return self._get(self.api, path, f"overview/{kind}", params)

    def stablecoins(self) -> RawResponse:
        return self._get(self.stable, "/stablecoins", "stablecoins", {"includePrices": "true"})

    def stablecoin_charts(self, chain: str | None = None) -> RawResponse:
        path = "/stablecoincharts/" + (quote(chain) if chain else "all")
        return self._get(self.stable, path, "stablecoincharts")

    def stablecoin_chains(self) -> RawResponse:
        return self._get(self.stable, "/stablecoinchains", "stablecoinchains")

    def close(self) -> None:
        self.api.close()
        self.stable.close()
