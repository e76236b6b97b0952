"""Strategy graphs: validation lists every problem by block and field; modes, versions, resolution, compiled read
plans and point-in-time packets."""

from __future__ import annotations

import json

import orjson
import pytest

from clash_pipeline.ingest import hyperliquid as hl
from clash_pipeline.strategy import modes, store
from clash_pipeline.strategy.demo import POWER_USER_EXAMPLE
from clash_pipeline.strategy.graph import GraphInvalid, parse_graph
from clash_pipeline.strategy.packet import build_packet, encoded_packet
from clash_pipeline.strategy.plan import compile_graph
from clash_pipeline.strategy.selection import Universe
from clash_pipeline.timeutil import DAY_MS, HOUR_MS, MINUTE_MS
from clash_pipeline.universe.taxonomy import load_taxonomy
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import replay_client


@pytest.fixture
def universe_memory(memory):
    hl.write_universe(memory, hl.pull_snapshot(replay_client(NOW_MS), []), load_taxonomy())
    return memory


def _power() -> dict:
    return json.loads(POWER_USER_EXAMPLE.read_text())


def _break(mutate) -> dict:
    graph = _power()
    mutate(graph)
    return graph


def _block(graph: dict, block_id: str) -> dict:
    return next(b for b in graph["blocks"] if b["id"] == block_id)


def _cycle(g: dict) -> None:
    g["blocks"].append({"id": "loop", "kind": "asset", "include": ["BTC"]})
    g["edges"] += [{"source": "loop", "target": "loop"}]


INVALID = [
    ("wrong edge kind", lambda g: g["edges"].append({"source": "hl-fast", "target": "momentum"}),
     ("hl-fast", "edges", "a data_stream block cannot feed a trading_prompt block")),
    ("not a DAG", _cycle, ("loop", "edges", "not a DAG")),
    ("dangling block", lambda g: g["blocks"].append({"id": "orphan", "kind": "data_stream", "source": "defillama",
                                                     "profile": "macro"}),
     ("orphan", "edges", "dangling data_stream block")),
    ("no clone block", lambda g: (g["blocks"].remove(_block(g, "clone")),
                                  g.__setitem__("edges", [e for e in g["edges"] if e["target"] != "clone"])),
     ("-", "kind", "exactly one trading_clone block, not 0")),
    ("two clone blocks", lambda g: g["blocks"].append({"id": "clone2", "kind": "trading_clone"}),
     ("clone,clone2", "kind", "exactly one trading_clone block, not 2")),
    ("unknown source", lambda g: _block(g, "macro").update(source="coingecko"),
     ("macro", "source", "unknown source 'coingecko'")),
    ("unknown channel", lambda g: _block(g, "hl-fast")["channels"].update(orderflow={}),
     ("hl-fast", "channels.orderflow", "unknown channel")),
    ("option out of range", lambda g: _block(g, "hl-fast")["channels"]["book"].update(levels=50),
     ("hl-fast", "channels.book.levels", "between 1 and 20")),
    ("bad option choice", lambda g: _block(g, "hl-fast")["channels"]["candles"].update(interval="7m"),
     ("hl-fast", "channels.candles.interval", "must be one of")),
    ("selection resolves to nothing", lambda g: _block(g, "ai-coins").update(
        select=[{"category": "Tradfi", "subcategory": "Stocks"}], include=[], exclude=["xyz:TSLA", "xyz:NVDA"]),
     ("ai-coins", "select", "resolves to no asset")),
    ("unknown category", lambda g: _block(g, "ai-coins").update(select=[{"category": "Memes"}]),
     ("ai-coins", "select.0.category", "unknown category 'Memes'")),
    ("unknown include", lambda g: _block(g, "majors").update(include=["BTC", "NOPE"]),
     ("majors", "include.1", "'NOPE' is not in the universe")),
    ("control bounds", lambda g: _block(g, "momentum")["controls"].update(min_order_usd=900),
     ("momentum", "controls.min_order_usd", "above controls.max_order_usd")),
    ("leverage out of range", lambda g: _block(g, "momentum")["controls"].update(max_leverage=100),
     ("momentum", "controls.max_leverage", "less than or equal to 50")),
    ("bad cadence", lambda g: _block(g, "momentum").update(cadence="7m"), ("momentum", "cadence", "must be one of")),
    ("duplicate id", lambda g: g["blocks"].append({"id": "majors", "kind": "asset", "include": ["ETH"]}),
     ("majors", "id", "two blocks share this id")),
]


@pytest.mark.parametrize(("mutate", "expected"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_graphs_are_rejected_with_the_right_message(universe_memory, mutate, expected):
    with pytest.raises(GraphInvalid) as error:
        store.create_clone(universe_memory, "x", _break(mutate), "power")
    block_id, field, text = expected
    assert any(p.block_id == block_id and p.field == field and text in p.message for p in error.value.problems), \
        error.value.problems
    assert universe_memory.execute("SELECT COUNT(*) FROM clones").fetchone() == (0,)
    assert universe_memory.execute("SELECT COUNT(*) FROM graph_versions").fetchone() == (0,)


def test_every_problem_is_listed_at_once():
    graph = _break(lambda g: (_block(g, "macro").update(source="nope"),
                              _block(g, "hl-fast")["channels"]["book"].update(levels=0),
                              g["edges"].append({"source": "clone", "target": "hl-fast"})))
    with pytest.raises(GraphInvalid) as error:
        parse_graph(graph)
    fields = {(p.block_id, p.field) for p in error.value.problems}
    assert {("macro", "source"), ("hl-fast", "channels.book.levels"), ("clone", "edges")} <= fields


def test_three_modes_make_valid_clones_and_basic_opens_as_power(universe_memory):
    basic = store.create_clone(universe_memory, "b", modes.basic_graph("low", "Crypto", "Layer 1", "1h"), "basic")
    custom = store.create_clone(universe_memory, "c", modes.custom_graph(["BTC", "HYPE/USDC"], {"hyperliquid": "full"}),
                                "custom")
    power = store.create_clone(universe_memory, "p", _power(), "power")
    assert [c.version for c in (basic, custom, power)] == [1, 1, 1]
    edited = basic.graph.model_dump(mode="json")  # opened as Power User: the same model
    _block(edited, "market").update(profile=None, channels={"candles": {"interval": "1h", "lookback": 48}})
    v2 = store.add_version(universe_memory, basic.identity.clone_id, edited)
    assert v2.version == 2 and store.get_clone(universe_memory, basic.identity.clone_id).version == 2
    assert store.get_clone(universe_memory, basic.identity.clone_id, 1).graph == basic.graph  # immutable
    universe = Universe.load(universe_memory)
    assert {a.coin for a in compile_graph(custom.graph, universe).asset_plans()} == {"BTC", "@107"}


def test_layout_is_ignored_by_compilation(universe_memory):
    moved = _power()
    moved["layout"]["nodes"]["clone"]["x"] = 9999
    universe = Universe.load(universe_memory)
    first, second = compile_graph(parse_graph(_power()), universe), compile_graph(parse_graph(moved), universe)
    assert first.strategy_hash == second.strategy_hash and first.as_dict() == second.as_dict()


def test_resolution_is_deterministic_and_explains_itself(universe_memory):
    universe = Universe.load(universe_memory)
    compiled = compile_graph(parse_graph(_power()), universe)
    ai = compiled.resolutions["ai-coins"]
    assert ai.enabled == ["FET", "HYPE", "TAO"]
    assert ai.reasons["WLD"] == ["admitted by category Crypto/AI", "removed by exclude WLD"]
    assert ai.reasons["HYPE"] == ["admitted by include HYPE"]
    graph = modes.custom_graph(["BTC", "MATIC"], {"hyperliquid": "full"})
    resolution = compile_graph(graph, universe).resolutions["assets"]
    assert resolution.enabled == ["BTC"] and resolution.reasons["MATIC"][-1] == "removed: delisted"
    assert compile_graph(parse_graph(_power()), universe).as_dict() == compiled.as_dict()


def test_channel_merging_and_read_plan_shape(universe_memory):
    compiled = compile_graph(parse_graph(_power()), Universe.load(universe_memory))
    plans = {(a.prompt_id, a.coin): a for a in compiled.asset_plans()}
    assert sorted(plans) == [("majors-swing", "BTC"), ("majors-swing", "ETH"), ("momentum", "BTC"),
                             ("momentum", "ETH"), ("momentum", "FET"), ("momentum", "HYPE"), ("momentum", "TAO")]
    btc = [(r.channel, r.name) for r in plans["momentum", "BTC"].reads]
    assert btc == [("defillama.capital_flows", "flows"), ("hyperliquid.book", "book"), ("hyperliquid.candles", "candles"),
                   ("hyperliquid.funding", "pressure"), ("hyperliquid.funding", "history"),
                   ("hyperliquid.liquidity", "liquidity"), ("polymarket.markets", "markets"),
                   ("polymarket.markets", "links"), ("defillama.capital_flows", "links")]
    candles = next(r for r in plans["momentum", "BTC"].reads if r.name == "candles")
    assert (candles.table, candles.limit, candles.known_after_ms, candles.window_ms) == \
        ("hl_candles", 144, 5 * MINUTE_MS, 144 * 5 * MINUTE_MS)


def test_a_packet_as_of_t_holds_nothing_after_t(universe_memory):
    """Data stamped before, at and after T is stored on purpose; the packet sees only what was known at T."""
    conn, t = universe_memory, NOW_MS - NOW_MS % HOUR_MS
    client = replay_client(t + 6 * HOUR_MS)
    hl.write_candles(conn, hl.pull_candles(client, ["BTC"], ["15m"], t - DAY_MS, t + 6 * HOUR_MS, lambda _: None),
                     t - DAY_MS, t + 6 * HOUR_MS)
    conn.executemany("INSERT INTO hl_mids VALUES ('BTC', ?, ?)", [(t - MINUTE_MS, 1.0), (t, 2.0), (t + 1, 3.0)])
    conn.executemany("INSERT INTO dl_tvl VALUES ('', ?, ?)", [(d, 1.0) for d in (t - 2 * DAY_MS, t - DAY_MS, t)])
    graph = modes.custom_graph(["BTC"], {"hyperliquid": "price_action", "defillama": "macro"})
    plan = compile_graph(graph, Universe.load(conn)).asset_plans()[0]
    packet = build_packet(conn, plan, t)
    candles = packet["channels"]["hyperliquid.candles"]["reads"]["candles"]["rows"]
    assert candles[-1][0] == t - 15 * MINUTE_MS  # the last candle that had closed by T (15m default)
    assert [r[1] for r in packet["channels"]["hyperliquid.mids"]["reads"]["mids"]["rows"]] == [1.0, 2.0]
    tvl_days = [r[0] for r in packet["channels"]["defillama.capital_base"]["reads"]["tvl"]["rows"]]
    assert max(tvl_days) + DAY_MS <= t  # only complete days
    for channel in packet["channels"].values():
        for read in channel["reads"].values():
            stamps = [row[0] for row in read["rows"]]
            assert all(stamp <= t for stamp in stamps)
    later = build_packet(conn, plan, t + 6 * HOUR_MS)
    assert later["channels"]["hyperliquid.candles"]["reads"]["candles"]["rows"][-1][0] > t


def test_the_packet_budget_drops_the_oldest_rows(universe_memory):
    conn, t = universe_memory, NOW_MS - NOW_MS % HOUR_MS
    conn.executemany("INSERT INTO hl_mids VALUES ('BTC', ?, ?)", [(t - i * MINUTE_MS, float(i)) for i in range(12)])
    plan = compile_graph(modes.custom_graph(["BTC"], {"hyperliquid": "price_action"}),
                         Universe.load(conn)).asset_plans()[0]
    packet = build_packet(conn, plan, t, budget_bytes=200)
    mids = packet["channels"]["hyperliquid.mids"]
    assert mids["truncated_rows"] > 0 and tuple(mids["reads"]["mids"]["rows"][-1]) == (t, 0.0)  # newest kept
    assert len(json.dumps(mids["reads"], separators=(",", ":"))) <= 200


@pytest.mark.parametrize("budget", [200, 8_000])
def test_a_packet_encoded_once_is_the_packet_as_json(universe_memory, budget):
    conn, t = universe_memory, NOW_MS - NOW_MS % HOUR_MS
    conn.executemany("INSERT INTO hl_mids VALUES ('BTC', ?, ?)", [(t - i * MINUTE_MS, float(i)) for i in range(12)])
    plan = compile_graph(modes.custom_graph(["BTC"], {"hyperliquid": "price_action"}),
                         Universe.load(conn)).asset_plans()[0]
    packet, body = encoded_packet(conn, plan, t, budget_bytes=budget)
    assert (packet["channels"]["hyperliquid.mids"]["truncated_rows"] > 0) == (budget == 200)
    assert body == orjson.dumps(packet) and orjson.loads(body) == json.loads(json.dumps(packet))


def test_public_views_never_show_the_strategy(universe_memory, tmp_path, monkeypatch, capsys):
    from clash_pipeline.cli import main

    graph = _power()
    store.create_clone(universe_memory, "Secretive Sam", graph, "power", bio="public bio")
    public = json.dumps([vars(i) for i in store.list_public(universe_memory)])
    assert "Secretive Sam" in public and "public bio" in public
    for secret in ("Scalp momentum", "hl-fast", "prompt", "controls"):
        assert secret not in public
    monkeypatch.setenv("CLASH_HOME", str(tmp_path))
    db = tmp_path / "market_memory.sqlite"
    universe_memory.execute("VACUUM INTO ?", (str(db),))
    assert main(["clones", "show", "1", "--public", "--json"]) == 0
    assert "Scalp momentum" not in capsys.readouterr().out
    assert main(["clones", "list", "--json"]) == 0
    assert "Scalp momentum" not in capsys.readouterr().out


def test_graph_cli_validate_and_preview_a_draft(universe_memory, tmp_path, monkeypatch, capsys):
    from clash_pipeline.cli import main

    monkeypatch.setenv("CLASH_HOME", str(tmp_path))
    universe_memory.execute("VACUUM INTO ?", (str(tmp_path / "market_memory.sqlite"),))
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_power()))
    bad.write_text(json.dumps(_break(lambda g: _block(g, "macro").update(source="nope"))))
    assert main(["graph", "validate", str(bad)]) == 1
    assert "block 'macro' field 'source': unknown source 'nope'" in capsys.readouterr().err
    assert main(["graph", "preview", str(good), "--as-of", str(NOW_MS), "--json"]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert len(preview["packets"]) == 7 and all(p["as_of_ms"] == NOW_MS for p in preview["packets"])
    reads = preview["plan"]["prompts"][0]["assets"][0]["reads"]
    assert all({"table", "filters", "window_ms", "limit", "sql"} <= set(r) for r in reads)
    from clash_pipeline.memory.db import open_memory

    assert open_memory(tmp_path / "market_memory.sqlite").execute("SELECT COUNT(*) FROM clones").fetchone() == (0,)
