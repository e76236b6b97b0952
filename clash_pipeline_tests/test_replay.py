"""Replay: the seeded generator speaks the wire format and tick rules; recordings are served before it."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx

from clash_pipeline.ingest import hyperliquid as ingest
from clash_pipeline.sources.http import SourceHttp
from clash_pipeline.sources.hyperliquid.client import HyperliquidClient, parse
from clash_pipeline.sources.hyperliquid.replay import HyperliquidReplay
from clash_pipeline.sources.replay import RecordingTransport, ReplayTransport
from clash_pipeline.timeutil import DAY_MS, HOUR_MS
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import replay_client


def _valid_price(text: str, sz_decimals: int) -> bool:
    """Hyperliquid's tick rule: integers always; else <= 5 significant figures and <= 6 - szDecimals decimals."""
    value = Decimal(text)
    if value == value.to_integral_value():
        return True
    digits = value.normalize().as_tuple()
    return len(digits.digits) <= 5 and -digits.exponent <= 6 - sz_decimals


def test_same_request_same_bytes():
    request = {"type": "candleSnapshot", "req": {"coin": "ETH", "interval": "5m", "startTime": NOW_MS - DAY_MS,
                                                 "endTime": NOW_MS}}
    assert HyperliquidReplay(lambda: NOW_MS)("POST", "/info", request) == \
        HyperliquidReplay(lambda: NOW_MS + 1)("POST", "/info", request)


def test_generated_candles_follow_tick_rules_and_ohlc():
    replay = HyperliquidReplay(lambda: NOW_MS)
    for coin in ("BTC", "ETH", "kPEPE", "xyz:TSLA"):
        szd = replay._perp(coin).sz_decimals
        body = replay("POST", "/info", {"type": "candleSnapshot", "req": {
            "coin": coin, "interval": "1m", "startTime": NOW_MS - DAY_MS, "endTime": NOW_MS}})
        raw_rows = json.loads(body)
        assert all(isinstance(r["o"], str) and isinstance(r["t"], int) for r in raw_rows)
        assert all(_valid_price(r[k], szd) for r in raw_rows for k in "ohlc")
        assert all(float(r["l"]) <= min(float(r["o"]), float(r["c"])) and
                   max(float(r["o"]), float(r["c"])) <= float(r["h"]) for r in raw_rows)


def test_a_whole_snapshot_parses_and_writes(memory):
    client = replay_client(NOW_MS)
    raws = ingest.pull_snapshot(client, ["BTC", "ETH"])
    assert {r.endpoint for r in raws} >= {"perpDexs", "metaAndAssetCtxs", "spotMetaAndAssetCtxs", "allMids",
                                          "predictedFundings", "perpCategories", "l2Book"}
    ingest.write_contexts(memory, raws)
    ingest.write_books(memory, raws)
    book = parse(next(r for r in raws if r.endpoint == "l2Book"))
    assert len(book.levels[0]) == len(book.levels[1]) == 20
    assert book.levels[0][0]["px"] < book.levels[1][0]["px"]
    dexes = {r[0] for r in memory.execute("SELECT DISTINCT substr(coin, 1, instr(coin, ':')) FROM hl_asset_ctxs")}
    assert dexes == {"", "xyz:", "vntl:"}


def test_funding_time_is_a_few_ms_past_the_hour():
    rows = parse(replay_client(NOW_MS).funding_pages("BTC", NOW_MS - DAY_MS, NOW_MS)[0])
    assert len(rows) == 24 and all(0 <= r["time"] % HOUR_MS < 400 for r in rows)


def test_record_then_replay_reproduces_the_session(tmp_path):
    live = HyperliquidReplay(lambda: NOW_MS)  # stands in for the real endpoint

    def endpoint(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=live("POST", "/info", json.loads(request.content)))

    recorder = RecordingTransport("hyperliquid", httpx.MockTransport(endpoint), tmp_path)
    recorded = HyperliquidClient(SourceHttp("hyperliquid", "https://x.invalid", transport=recorder)).l2_book("SOL")
    assert (tmp_path / "hyperliquid" / "index.jsonl").read_text().count("\n") == 1

    later = ReplayTransport("hyperliquid", HyperliquidReplay(lambda: NOW_MS + HOUR_MS), tmp_path)
    client = HyperliquidClient(SourceHttp("hyperliquid", "https://y.invalid", transport=later))
    assert client.l2_book("SOL").body == recorded.body  # from the recording, not the generator's new "now"
    assert client.l2_book("ETH").body != recorded.body
    assert (later.served_recorded, later.served_generated) == (1, 1)
