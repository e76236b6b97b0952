"""Every real Hyperliquid recording parses as it is, and normalizes into market memory."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from clash_pipeline.ingest import hyperliquid as ingest
from clash_pipeline.sources.hyperliquid import normalize as n
from clash_pipeline.sources.hyperliquid.client import parse
from clash_pipeline.sources.hyperliquid.models import PerpCtx
from clash_pipeline.timeutil import HOUR_MS
from clash_pipeline_tests.helpers import raw

HL = "hyperliquid"


def test_meta_2023_has_no_margin_tables(fixtures_dir):
    meta = parse(raw("meta", fixtures_dir / HL / "meta.json"))
    assert [a.name for a in meta.universe][:3] == ["BTC", "ETH", "ATOM"]
    assert meta.marginTables == [] and all(a.marginTableId is None for a in meta.universe)
    rows = n.perp_asset_rows(meta, "", 0, 1, "USDC")
    assert rows[0][:4] == ("BTC", "perp", "", 0) and rows[0][7] == 5


def test_all_mids(fixtures_dir, memory):
    loaded = ingest.write_mids(memory, [raw("allMids", fixtures_dir / HL / "allMids.json", fetched_ms=1689630200000)])
    assert loaded.rows == 28
    assert memory.execute("SELECT mid FROM hl_mids WHERE coin = 'BTC'").fetchone() == (30135.0,)


def test_candles_include_the_candle_containing_start(fixtures_dir, memory):
    candles = parse(raw("candleSnapshot", fixtures_dir / HL / "candleSnapshot_kPEPE_1h.json"))
    assert candles[0]["t"] == 1684699200000 < 1684702007000  # the requested startTime
    assert all(c["T"] == c["t"] + HOUR_MS - 1 for c in candles)
    loaded = ingest.write_candles(memory, [raw("candleSnapshot", fixtures_dir / HL / "candleSnapshot_kPEPE_1h.json")],
                                  0, 2**62)
    assert loaded.rows == len(candles) == memory.execute("SELECT COUNT(*) FROM hl_candles").fetchone()[0]


def test_funding_history_keyed_on_the_hour_across_cadence_change(fixtures_dir, memory):
    page = raw("fundingHistory", fixtures_dir / HL / "fundingHistory_BTC_no_endTime.json")
    rows = parse(page)
    assert len(rows) == 1038  # more than the documented 500
    ingest.write_funding_history(memory, [page], 0, 2**62)
    hours = [h for (h,) in memory.execute("SELECT hour_ms FROM hl_funding_history ORDER BY hour_ms")]
    assert len(hours) == 1038 and all(h % HOUR_MS == 0 for h in hours)
    gaps = Counter(b - a for a, b in zip(hours, hours[1:]))
    assert gaps[HOUR_MS] == 955 and gaps[8 * HOUR_MS] == 81  # 8-hourly until 2023-06-08, then hourly


def test_funding_pages_with_end_time(fixtures_dir):
    assert len(parse(raw("fundingHistory", fixtures_dir / HL / "fundingHistory_BTC_with_endTime.json"))) == 34


def test_l2_book_levels_and_liquidity(fixtures_dir, memory):
    page = raw("l2Book", fixtures_dir / HL / "l2Book_DYDX.json")
    book = parse(page)
    ingest.write_books(memory, [page])
    best_bid, best_ask, mid, spread, *_ = memory.execute(
        "SELECT best_bid, best_ask, mid, spread_bps FROM hl_liquidity WHERE coin = 'DYDX'").fetchone()
    assert best_bid == max(level["px"] for level in book.levels[0]) == 2.111
    assert best_ask == min(level["px"] for level in book.levels[1])
    assert spread == pytest.approx((best_ask - best_bid) / mid * 10_000)
    assert memory.execute("SELECT COUNT(*) FROM hl_book_levels").fetchone()[0] == sum(map(len, book.levels))


def test_spot_contexts_join_by_name_not_position(fixtures_dir, memory):
    page = raw("spotMetaAndAssetCtxs", fixtures_dir / HL / "spotMetaAndAssetCtxs.json", fetched_ms=1)
    spot = parse(page)
    assert len(spot.meta.universe) == 233 and len(spot.ctxs) == 249
    assets = n.spot_asset_rows(spot, 1)
    by_name = {row[0]: row for row in assets}
    assert by_name["PURR/USDC"][4] == "PURR/USDC"
    hype = next(row for row in assets if row[4] == "HYPE/USDC")
    assert hype[0] == "@107" and hype[3] == 10_107
    ctx_rows = n.spot_ctx_rows(spot, 1)
    assert {row[0] for row in ctx_rows} <= set(by_name)
    assert len(ctx_rows) == 233  # ctxs of indexes with no pair are left out, not shifted


def test_every_ws_context_parses(fixtures_dir):
    frame = json.loads((fixtures_dir / HL / "ws_allDexsAssetCtxs.json").read_bytes())
    ctxs = [PerpCtx.model_validate(ctx) for _, dex_ctxs in frame["data"]["ctxs"] for ctx in dex_ctxs]
    assert len(ctxs) == 412
    assert sum(1 for c in ctxs if c.premium is None and c.midPx is None and c.impactPxs is None) == 78


def test_every_cassette_interaction_parses(fixtures_dir):
    cassettes = sorted((fixtures_dir / HL / "cassettes").glob("*.yaml"))
    assert len(cassettes) == 7
    parsed = 0
    for cassette in cassettes:
        for interaction in yaml.safe_load(cassette.read_text())["interactions"]:
            request = json.loads(interaction["request"]["body"])
            parse(raw(request["type"], interaction["response"]["body"]["string"], request))
            parsed += 1
    assert parsed == 11
