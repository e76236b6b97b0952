"""A typed client for Hyperliquid's public `POST /info` endpoint.

It keeps the API's rules: candles come at most 5,000 per request and funding history in pages whose size is
not fixed (500 in the docs, 1,038 seen), so long ranges are paged with no gap and no overlap; each request
spends its weight from a 1,200-per-minute budget; 429, 5xx and timeouts are retried by `SourceHttp`.
Fetching returns raw responses (archived as they are); `parse` turns one into typed data.
"""

from __future__ import annotations

from typing import Any

from clash_pipeline.sources.errors import RequestFailed
from clash_pipeline.sources.http import RawResponse, SourceHttp, WeightBudget
from clash_pipeline.sources.hyperliquid.contracts import CONTRACTS
from clash_pipeline.sources.hyperliquid.models import ADAPTERS
from clash_pipeline.sources.parsing import parse_raw
from clash_pipeline.timeutil import interval_ms

SOURCE = "hyperliquid"
CANDLES_PER_REQUEST = 5000
LIGHT_WEIGHT_TYPES = frozenset({"l2Book", "allMids"})


def request_weight(info_type: str) -> int:
    """Base weight of an info request (docs: 2 for l2Book/allMids, 20 for the rest)."""
    return 2 if info_type in LIGHT_WEIGHT_TYPES else 20


def parse(raw: RawResponse) -> Any:
    """Validate a raw `info` response against its endpoint's model and contract (hyperliquid/contracts.py);
    PayloadError names the request and the bad field."""
    return parse_raw(ADAPTERS, raw, CONTRACTS)


class HyperliquidClient:
    """Fetches `info` responses; every method returns raw responses in the API's own format."""

    def __init__(self, http: SourceHttp, budget: WeightBudget | None = None) -> None:
        self.http = http
        self.budget = budget

    def info(self, body: dict) -> RawResponse:
        info_type = body["type"]
        if self.budget:
            self.budget.acquire(request_weight(info_type))
        return self.http.request("POST", "/info", info_type, json_body=body)

    def meta(self, dex: str = "") -> RawResponse:
        return self.info(_with_dex({"type": "meta"}, dex))

    def spot_meta(self) -> RawResponse:
        return self.info({"type": "spotMeta"})

    def meta_and_asset_ctxs(self, dex: str = "") -> RawResponse:
        return self.info(_with_dex({"type": "metaAndAssetCtxs"}, dex))

    def spot_meta_and_asset_ctxs(self) -> RawResponse:
        return self.info({"type": "spotMetaAndAssetCtxs"})

    def all_mids(self, dex: str = "") -> RawResponse:
        return self.info(_with_dex({"type": "allMids"}, dex))

    def l2_book(self, coin: str) -> RawResponse:
        return self.info({"type": "l2Book", "coin": coin})

    def predicted_fundings(self) -> RawResponse:
        return self.info({"type": "predictedFundings"})

    def perp_dexs(self) -> RawResponse:
        return self.info({"type": "perpDexs"})

    def optional_info(self, body: dict) -> RawResponse | None:
        """An endpoint that not every deployment answers (perpCategories, ...): None on a 4xx."""
        try:
            return self.info(body)
        except RequestFailed as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return None
            raise

    def candle_pages(self, coin: str, interval: str, start_ms: int, end_ms: int) -> list[RawResponse]:
        """Candles opening in [start_ms, end_ms), in windows of at most 5,000 candles.

        Windows are aligned to the interval, so consecutive pages neither overlap nor leave a gap.
        """
        step = interval_ms(interval)
        first = start_ms - start_ms % step
        pages = []
        while first < end_ms:
            last = min(first + CANDLES_PER_REQUEST * step, end_ms)
            body = {"type": "candleSnapshot", "req": {"coin": coin, "interval": interval,
                                                      "startTime": first, "endTime": last - 1}}
            page = self.info(body)
            if self.budget:
                self.budget.charge((last - first) // step // 60)
            pages.append(page)
            first = last
        return pages

    def funding_pages(self, coin: str, start_ms: int, end_ms: int) -> list[RawResponse]:
        """Funding history in [start_ms, end_ms): page on the last returned time until a page adds nothing."""
        pages, cursor = [], start_ms
        while cursor < end_ms:
            page = self.info({"type": "fundingHistory", "coin": coin, "startTime": cursor, "endTime": end_ms - 1})
            rows = parse(page)
            if self.budget:
                self.budget.charge(len(rows) // 20)
            pages.append(page)
            times = [row["time"] for row in rows if row["time"] >= cursor]
            if not times:
                break
            cursor = max(times) + 1
        return pages

    def close(self) -> None:
        self.http.close()


def _with_dex(body: dict, dex: str) -> dict:
    return {**body, "dex": dex} if dex else body

