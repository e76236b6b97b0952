"""DefiLlama: the real /v2/chains parses; timestamps become ms; exclude flags are always sent; history, flows
and links are right."""

from __future__ import annotations

import json

import httpx
import pytest

from clash_pipeline.ingest import defillama as ingest
from clash_pipeline.links.defillama import ChainInfo, base_symbols, derive_links, load_overrides
from clash_pipeline.sources.defillama.client import DefiLlamaClient, parse
from clash_pipeline.sources.defillama.replay import DefiLlamaReplay
from clash_pipeline.sources.errors import PayloadError
from clash_pipeline.sources.http import RawResponse, SourceHttp
from clash_pipeline.sources.replay import ReplayTransport
from clash_pipeline.timeutil import DAY_MS
from clash_pipeline_tests.conftest import NOW_MS

DL = "defillama"


def _raw(endpoint: str, path: str, body: bytes | str, request: dict | None = None) -> RawResponse:
    body = body.encode() if isinstance(body, str) else body
    return RawResponse(DL, endpoint, "GET", path, request or {}, 200, body, NOW_MS)


def _replay_client() -> DefiLlamaClient:
    replay = DefiLlamaReplay(lambda: NOW_MS)
    return DefiLlamaClient(SourceHttp(DL, "https://a.invalid", transport=ReplayTransport("a", replay.api)),
                           SourceHttp(DL, "https://s.invalid", transport=ReplayTransport("s", replay.stablecoins)))


def test_the_real_chains_recording(fixtures_dir, memory):
    raw = _raw("v2/chains", "/v2/chains", (fixtures_dir / DL / "v2_chains_2022-09.json").read_bytes())
    chains = {c.name: c for c in parse(raw)}
    assert len(chains) == 140
    assert chains["Evmos"].chainId == "9001" and chains["Solana"].chainId is None and chains["Ethereum"].chainId == 1
    assert chains["Arbitrum"].gecko_id is None and chains["Arbitrum"].tokenSymbol is None
    ingest.write_capital_base(memory, [raw], NOW_MS)
    assert memory.execute("SELECT chain_id FROM dl_chains WHERE name = 'Evmos'").fetchone() == ("9001",)

    infos = [ChainInfo(c.name, c.tokenSymbol, c.gecko_id) for c in chains.values()]
    links = derive_links({"ETH", "UETH", "SOL", "BTC", "ARB", "ZZZ"}, infos, [], load_overrides())
    by_symbol = {}
    for symbol, kind, subject, reason in links:
        by_symbol.setdefault(symbol, []).append((subject, reason))
    assert ("Ethereum", "chain tokenSymbol=ETH") in by_symbol["ETH"]
    assert ("Ethereum", "chain tokenSymbol=ETH (as ETH, curated same_as)") in by_symbol["UETH"]
    assert ("Solana", "chain tokenSymbol=SOL") in by_symbol["SOL"]
    assert ("Arbitrum", "curated chain") in by_symbol["ARB"]  # tokenSymbol null in the recording
    assert "ZZZ" not in by_symbol


def test_stablecoin_chart_dates_as_strings_become_ms():
    body = json.dumps([{"date": "1700000000", "totalCirculatingUSD": {"peggedUSD": 1.5e11, "peggedEUR": 2e8}},
                       {"date": 1700086400, "totalCirculatingUSD": {"peggedUSD": 1.6e11}}])
    points = parse(_raw("stablecoincharts", "/stablecoincharts/all", body))
    assert [p.date for p in points] == [1_700_000_000_000, 1_700_086_400_000]


@pytest.mark.parametrize(("body", "field"), [
    ('[{"date": "yesterday", "tvl": 1.0}]', "0.date"),
    ('[{"date": 1700000000, "tvl": "NaN"}]', "0.tvl"),
    ('[{"date": 1700000000}]', "0.tvl"),
])
def test_bad_history_names_the_field_and_writes_nothing(memory, body, field):
    good = _raw("v2/historicalChainTvl", "/v2/historicalChainTvl", '[{"date": 1700000000, "tvl": 5.0}]')
    bad = _raw("v2/historicalChainTvl", "/v2/historicalChainTvl/Ethereum", body)
    with pytest.raises(PayloadError, match=f"defillama v2/historicalChainTvl path=/v2/historicalChainTvl/Ethereum: bad payload at field '{field}'"):
        ingest.write_history(memory, [good, bad], 0, 2**62)
    assert memory.execute("SELECT COUNT(*) FROM dl_tvl").fetchone() == (0,)


def test_overviews_always_send_the_exclude_flags():
    seen = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, dict(request.url.params)))
        return httpx.Response(200, json={"total24h": 1.0, "totalDataChart": [[1700000000, 1.0]]})

    http = SourceHttp(DL, "https://a.invalid", transport=httpx.MockTransport(serve))
    client = DefiLlamaClient(http, http)
    client.overview("fees")
    client.overview("dexs", "Hyperliquid L1", with_chart=True)
    client.overview("fees", None, "dailyRevenue")
    assert seen[0] == ("/overview/fees", {"excludeTotalDataChart": "true", "excludeTotalDataChartBreakdown": "true"})
    assert seen[1] == ("/overview/dexs/hyperliquid l1",
                       {"excludeTotalDataChart": "false", "excludeTotalDataChartBreakdown": "true"})
    assert seen[2][1]["dataType"] == "dailyRevenue"


def test_history_and_flows_in_a_window(memory):
    raws = ingest.pull_history(_replay_client(), lambda _: None)
    today = NOW_MS - NOW_MS % DAY_MS
    start, end = today - 3 * DAY_MS, today
    ingest.write_history(memory, raws, start, end)
    days = [d for (d,) in memory.execute("SELECT DISTINCT date_ms FROM dl_tvl ORDER BY 1")]
    assert days == [start, start + DAY_MS, start + 2 * DAY_MS]
    subjects = {s for (s,) in memory.execute("SELECT DISTINCT subject FROM dl_tvl")}
    assert "" in subjects and "Ethereum" in subjects and len(subjects) == 11
    (value, change_7d, pct_7d), = memory.execute(
        "SELECT value_usd, change_7d_usd, change_7d_pct FROM dl_flows WHERE kind = 'tvl' AND subject = '' "
        "AND date_ms = ?", (start,)).fetchall()
    series = {p.date: p.tvl for raw in raws if raw.endpoint == "v2/historicalChainTvl" and raw.path.endswith("Tvl")
              for p in parse(raw)}
    assert change_7d == pytest.approx(value - series[start - 7 * DAY_MS])  # look-back reaches before the window
    assert pct_7d == pytest.approx(change_7d / series[start - 7 * DAY_MS] * 100)
    metrics = {m for (m,) in memory.execute("SELECT DISTINCT metric FROM dl_throughput")}
    assert metrics == {"fees", "revenue", "dex_volume"}


def test_base_symbols_of_the_universe():
    rows = [("BTC", "perp", None, None), ("xyz:TSLA", "perp", None, "USDC"), ("@107", "spot", "HYPE", "USDC")]
    assert base_symbols(rows) == {"BTC", "TSLA", "HYPE", "USDC"}
