"""Context links that reach the packet: DefiLlama stablecoin rows of a linked asset (USDT0 -> USDT), Polymarket
links derived from the whole universe, the links that applied (and why) in the packet, readable names."""

from __future__ import annotations

import json

from clash_pipeline.cli import main
from clash_pipeline.decisions.prompting import assemble
from clash_pipeline.ingest import defillama as dl
from clash_pipeline.ingest import hyperliquid as hl
from clash_pipeline.ingest import polymarket as pm
from clash_pipeline.links.defillama import load_overrides
from clash_pipeline.links.polymarket import load_mapping, universe_symbols
from clash_pipeline.memory.db import open_memory
from clash_pipeline.sources.http import SourceHttp
from clash_pipeline.sources.polymarket.client import PolymarketClient
from clash_pipeline.sources.polymarket.replay import PolymarketReplay
from clash_pipeline.sources.replay import ReplayTransport
from clash_pipeline.strategy.graph import ExecutionControls
from clash_pipeline.strategy.modes import custom_graph
from clash_pipeline.strategy.packet import build_packet
from clash_pipeline.strategy.plan import compile_graph
from clash_pipeline.strategy.selection import Universe
from clash_pipeline.universe.names import display_name, display_names, labelled
from clash_pipeline.universe.taxonomy import load_taxonomy
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import replay_client
from clash_pipeline_tests.test_defillama import _replay_client as defillama_replay


def _memory(memory):
    hl.write_universe(memory, hl.pull_snapshot(replay_client(NOW_MS), []), load_taxonomy())
    raws = dl.pull_snapshot(defillama_replay(), lambda _: None)
    dl.write_capital_base(memory, raws, NOW_MS)
    dl.write_links(memory, load_overrides(), NOW_MS)
    replay = PolymarketReplay(lambda: NOW_MS)
    client = PolymarketClient(SourceHttp("polymarket", "https://g.invalid", transport=ReplayTransport("g", replay.gamma)),
                              SourceHttp("polymarket", "https://c.invalid", transport=ReplayTransport("c", replay.clob)))
    mapping = load_mapping()
    raws = pm.pull_snapshot(client, mapping, NOW_MS, lambda _: None)
    pm.write_markets(memory, raws, load_mapping(universe=universe_symbols(memory)), NOW_MS)
    return memory


def _packet(memory, asset: str) -> dict:
    graph = custom_graph([asset], {"hyperliquid": "price_action", "polymarket": "prediction_markets",
                                   "defillama": "macro"})
    plan = compile_graph(graph, Universe.load(memory)).asset_plans()[0]
    return build_packet(memory, plan, NOW_MS + 1)


def test_a_linked_stablecoin_reaches_the_packet_with_the_link_and_its_reason(memory):
    packet = _packet(_memory(memory), "USDT0/USDC")
    assert (packet["asset"], packet["name"], packet["symbol"]) == ("@166", "USDT0/USDC", "USDT0")
    reads = next(ch["reads"] for name, ch in packet["channels"].items() if "stablecoins" in ch["reads"])
    stable = reads["stablecoins"]
    assert [row[stable["columns"].index("symbol")] for row in stable["rows"]] == ["USDT"]
    links = next(ch["reads"]["links"] for name, ch in packet["channels"].items() if name.startswith("defillama."))
    assert ["stablecoin", "USDT", "stablecoin symbol=USDT (as USDT, curated same_as)"] in \
        [list(row[1:]) for row in links["rows"]]


def test_polymarket_links_cover_the_universe_and_say_why(memory):
    _memory(memory)
    linked = {s for (s,) in memory.execute("SELECT DISTINCT symbol FROM pm_asset_links")}
    assert {"BTC", "ETH", "UBTC"} <= linked and len(linked) > 6  # more than the curated list
    assert memory.execute("SELECT rule FROM pm_asset_links WHERE symbol = 'UBTC' LIMIT 1").fetchone()[0] \
        .startswith(("word:", "slug:", "tag:"))  # BTC's rules, through the alias
    packet = _packet(memory, "BTC")
    links = packet["channels"]["polymarket.markets"]["reads"]["links"]
    assert links["columns"] == ["updated_ms", "market_id", "rule", "question"] and links["rows"]
    assert all(row[2].split(":")[0] in ("word", "slug", "tag") for row in links["rows"])


def test_universe_rules_link_tickers_and_names_as_whole_words():
    mapping = load_mapping(universe=["TSLA", "kPEPE", "UBTC", "RISE", "GOLD", "OP", "BTC"])
    assert mapping.links("Will TSLA close above $400?", "x", []) == [("TSLA", "ticker:TSLA")]
    assert mapping.links("Will Tesla beat earnings?", "x", []) == [("TSLA", "name:tesla")]
    assert mapping.links("Will PEPE reach $0.01?", "x", []) == [("kPEPE", "ticker:PEPE")]
    assert mapping.links("Will gold price close above $4000?", "x", []) == [("GOLD", "name:gold price")]
    assert mapping.links("Who wins gold at the Olympics? Will stocks rise?", "x", []) == []  # names, stop words
    assert mapping.links("Will TSLAQ list?", "x", []) == []  # whole words only
    assert ("UBTC", "word:bitcoin") in mapping.links("Will Bitcoin reach $150k?", "x", [])
    assert {r.symbol for r in mapping.symbols} == {"BTC", "DOGE", "ETH", "HYPE", "SOL", "XRP"}  # searched: curated only


def test_spot_pairs_read_as_base_quote_in_packets_and_prompts(memory):
    _memory(memory)
    assert display_name("@107", "spot", "HYPE", "USDC") == "HYPE/USDC" and display_name("xyz:TSLA", "perp") == "xyz:TSLA"
    names = display_names(memory)
    assert names["@107"] == "HYPE/USDC" and labelled("@107", names) == "HYPE/USDC (@107)" and labelled("BTC", names) == "BTC"
    packet = _packet(memory, "@107")
    assert (packet["asset"], packet["name"]) == ("@107", "HYPE/USDC")
    user = assemble("buy low", packet["asset"], ExecutionControls(), 1000.0, packet)[1]["content"]
    assert '"asset":"HYPE/USDC"' in user and '"asset":"@107"' in user  # the name for the model, the id beside it


def test_the_cli_shows_the_name_and_json_keeps_the_wire_id_beside_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLASH_HOME", str(tmp_path))
    conn = open_memory(tmp_path / "market_memory.sqlite")
    hl.write_universe(conn, hl.pull_snapshot(replay_client(NOW_MS), []), load_taxonomy())
    conn.close()
    path = tmp_path / "graph.json"
    path.write_text(custom_graph(["@107"], {"hyperliquid": "price_action"}).model_dump_json())
    assert main(["graph", "preview", str(path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "reads ->" in line]
    assert lines and lines[0].split()[0] == "HYPE/USDC"
    assert main(["graph", "preview", str(path), "--json"]) == 0
    asset = json.loads(capsys.readouterr().out)["plan"]["prompts"][0]["assets"][0]
    assert (asset["coin"], asset["name"]) == ("@107", "HYPE/USDC")


def test_asset_links_report_says_which_polymarket_rules_linked(memory):
    from clash_pipeline.links.report import asset_links

    report = asset_links(_memory(memory), "UBTC/USDC")
    assert report["asset"]["coin"] == "@142"
    assert report["polymarket_rules"] and all(r["symbol"] == "UBTC" for r in report["polymarket_rules"])
    assert sum(r["markets"] for r in report["polymarket_rules"]) == report["polymarket_linked_markets"]
