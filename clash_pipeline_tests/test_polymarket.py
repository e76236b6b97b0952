"""Polymarket: the real recordings parse with their quirks; linking, horizons, paging and books behave."""

from __future__ import annotations

import json

import httpx
import pytest

from clash_pipeline.ingest import polymarket as ingest
from clash_pipeline.links.polymarket import MarketTimes, horizons, load_mapping
from clash_pipeline.sources.errors import PayloadError
from clash_pipeline.sources.http import RawResponse, SourceHttp
from clash_pipeline.sources.polymarket.client import PolymarketClient, parse
from clash_pipeline.sources.polymarket.replay import PolymarketReplay
from clash_pipeline.sources.replay import ReplayTransport
from clash_pipeline.timeutil import DAY_MS, HOUR_MS
from clash_pipeline_tests.conftest import NOW_MS

PM = "polymarket"
ENDPOINTS = {"gamma_market_": "gamma/market", "gamma_events": "gamma/events", "gamma_public-search": "gamma/public-search",
             "gamma_tags": "gamma/tags", "clob_markets_page": "clob/markets", "clob_market_": "clob/market",
             "clob_book": "clob/book"}


def _raw(endpoint: str, body: bytes | str, request: dict | None = None) -> RawResponse:
    body = body.encode() if isinstance(body, str) else body
    return RawResponse(PM, endpoint, "GET", "/" + endpoint.split("/", 1)[1], request or {}, 200, body, NOW_MS)


def _fixture(fixtures_dir, name: str) -> RawResponse:
    endpoint = next(e for prefix, e in ENDPOINTS.items() if name.startswith(prefix))
    return _raw(endpoint, (fixtures_dir / PM / name).read_bytes())


def test_every_real_recording_parses(fixtures_dir):
    files = sorted(p.name for p in (fixtures_dir / PM).glob("*.json"))
    assert len(files) == 12
    for name in files:
        parse(_fixture(fixtures_dir, name))


def test_gamma_quirks_are_taken_as_they_are(fixtures_dir):
    open_market = parse(_fixture(fixtures_dir, "gamma_market_btc-updown-5m_open.json"))
    assert open_market.outcomes == ["Up", "Down"] and open_market.outcomePrices == ["0.505", "0.495"]
    assert open_market.volume == pytest.approx(9.999997) and len(open_market.clobTokenIds[0]) == 78
    closed = parse(_fixture(fixtures_dir, "gamma_market_closed_binary_accepting_true.json"))
    assert closed.closed and closed.active  # active stays true after close
    assert closed.closedTime == 1778292421000  # "2026-05-09 02:07:01+00"
    assert closed.endDate > closed.closedTime  # resolved early
    legacy = parse(_fixture(fixtures_dir, "gamma_market_closed_nonbinary_legacy.json"))
    assert legacy.outcomes == ["Long", "Short"] and len(legacy.outcomePrices[0]) == 36  # 34 digits kept exactly
    sports = parse(_fixture(fixtures_dir, "gamma_market_sports_market_money_line.json"))
    assert sports.outcomes == ["FaZe", "illwill"] and sports.liquidity is None  # missing liquidity
    events = parse(_fixture(fixtures_dir, "gamma_events_TRIMMED.json"))
    assert isinstance(events[0].volume, float) and len(events[0].markets) == 2  # numbers on events


def test_clob_book_best_levels_by_value(fixtures_dir, memory):
    raw = _fixture(fixtures_dir, "clob_book.json")
    ingest.write_books(memory, [raw], NOW_MS)
    best_bid, best_ask, ts = memory.execute("SELECT best_bid, best_ask, ts_ms FROM pm_books").fetchone()
    assert (best_bid, best_ask) == (0.1, 0.14)  # bids ascending and asks descending in the recording
    assert ts == 1728799418260  # "timestamp" as ms in a string


def test_clob_markets_page_cursor(fixtures_dir):
    page = parse(_fixture(fixtures_dir, "clob_markets_page.json"))
    assert page.next_cursor == "MTAw" and len(page.data) == 100


@pytest.mark.parametrize(("field", "value", "match"), [
    ("outcomePrices", "[\"0.5\", ", "outcomePrices"),
    ("outcomes", "Yes,No", "outcomes"),
    ("volume", "NaN", "volume"),
    ("endDate", "next tuesday", "endDate"),
])
def test_a_broken_gamma_market_names_its_field(fixtures_dir, field, value, match):
    market = json.loads((fixtures_dir / PM / "gamma_market_btc-updown-5m_open.json").read_bytes())
    market[field] = value
    with pytest.raises(PayloadError, match=f"polymarket gamma/markets: bad payload at field '0.{match}'"):
        ingest.write_markets(None, [_raw("gamma/markets", json.dumps([market]))], load_mapping(), NOW_MS)


def test_mapping_links_by_word_slug_and_tag():
    mapping = load_mapping()
    assert mapping.links("Will Bitcoin reach $150,000 in December?", "x", []) == [("BTC", "word:bitcoin")]
    assert mapping.links("Up or down?", "eth-updown-15m-1", []) == [("ETH", "slug:eth-")]
    assert mapping.links("Who wins?", "x", ["solana"]) == [("SOL", "tag:solana")]
    assert mapping.links("Will the Fed cut rates?", "fed", ["politics"]) == []
    assert mapping.links("Is a bitcoin ETF solvable?", "x", [])[0][0] == "BTC"
    assert mapping.links("Who will be the next Solanas?", "x", []) == []  # whole words only


def test_horizons():
    mapping = load_mapping()
    now = NOW_MS
    markets = [MarketTimes("soon", now + HOUR_MS, False, None), MarketTimes("soon2", now + 5 * HOUR_MS, False, None),
               MarketTimes("next-day", now + 30 * HOUR_MS, False, None), MarketTimes("past", now - HOUR_MS, False, None),
               MarketTimes("closed-1", now, True, now - DAY_MS), MarketTimes("closed-old", now, True, now - 8 * DAY_MS)]
    assert horizons(mapping, markets, now) == [("immediate", 0, "soon", now + HOUR_MS),
                                               ("later", 0, "next-day", now + 30 * HOUR_MS),
                                               ("recently_closed", 0, "closed-1", now)]


def test_gamma_pages_of_100_always_send_closed():
    seen = []

    def serve(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        count = 100 if int(params["offset"]) < 200 else 37
        return httpx.Response(200, json=[{"id": str(i), "question": "q", "conditionId": "0x", "slug": "s",
                                          "outcomes": "[\"Yes\",\"No\"]"} for i in range(count)])

    http = SourceHttp(PM, "https://g.invalid", transport=httpx.MockTransport(serve))
    client = PolymarketClient(http, http)
    pages = client.market_pages(closed=False, max_pages=10, active=True)
    assert len(pages) == 3 and [p["offset"] for p in seen] == ["0", "100", "200"]
    assert all(p["closed"] == "false" and p["limit"] == "100" for p in seen)


def test_snapshot_on_replay_gives_every_mapped_symbol_its_horizons(memory):
    replay = PolymarketReplay(lambda: NOW_MS)
    client = PolymarketClient(SourceHttp(PM, "https://g.invalid", transport=ReplayTransport("g", replay.gamma)),
                              SourceHttp(PM, "https://c.invalid", transport=ReplayTransport("c", replay.clob)))
    mapping = load_mapping()
    raws = ingest.pull_snapshot(client, mapping, NOW_MS, lambda _: None)
    ingest.write_markets(memory, raws, mapping, NOW_MS)
    ingest.write_books(memory, raws, NOW_MS)
    found = set(memory.execute("SELECT symbol, horizon FROM pm_asset_horizons").fetchall())
    symbols = {rules.symbol for rules in mapping.symbols}
    assert found == {(s, h) for s in symbols for h in ("immediate", "later", "recently_closed")}
    assert memory.execute("SELECT COUNT(*) FROM pm_asset_links l JOIN pm_markets m USING (market_id) "
                          "WHERE m.question LIKE '%Fed%' OR m.question LIKE '%Lakers%'").fetchone() == (0,)
    assert memory.execute("SELECT COUNT(*) FROM pm_books WHERE best_bid < best_ask").fetchone()[0] == 2 * len(symbols)
    resolved = memory.execute("SELECT resolved_outcome FROM pm_markets WHERE closed = 1 AND outcome_prices != "
                              "'[\"0\", \"0\"]'").fetchall()
    assert resolved and all(r[0] in ("Up", "Down") for r in resolved)
