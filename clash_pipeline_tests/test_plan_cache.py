"""Compiled plans reused across processes through clone_read_plans: lossless round trips, a new process that
decides without compiling, and no stale plan for a changed universe, graph version or compiler, nor from a damaged
row."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import OrderedDict

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clash_pipeline.ingest import hyperliquid as hl
from clash_pipeline.ingest.demand import compute_demand
from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import PROJECT_ROOT
from clash_pipeline.strategy import modes, plan_cache, store
from clash_pipeline.strategy.catalog import CADENCES, CHANNELS, Option
from clash_pipeline.strategy.demo import demo_clones
from clash_pipeline.strategy.graph import parse_graph
from clash_pipeline.strategy.plan import CompiledGraph, compile_graph
from clash_pipeline.strategy.selection import Universe
from clash_pipeline.timeutil import MINUTE_MS
from clash_pipeline.universe.taxonomy import load_taxonomy
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS
from clash_pipeline_tests.helpers import replay_client, trading_runtime


@pytest.fixture(scope="module")
def universe() -> Universe:
    conn = open_memory(":memory:")
    hl.write_universe(conn, hl.pull_snapshot(replay_client(NOW_MS), []), load_taxonomy())
    found = Universe.load(conn)
    conn.close()
    return found


@pytest.fixture
def compiles(monkeypatch) -> list[int]:
    """A new process: the process LRU emptied; each compile_graph of plan_cache counted."""
    monkeypatch.setattr(plan_cache, "_SHARED", OrderedDict())
    counted: list[int] = []
    monkeypatch.setattr(plan_cache, "compile_graph", lambda graph, universe: counted.append(1) or
                        compile_graph(graph, universe))
    return counted


def _round_trips(compiled: CompiledGraph) -> None:
    assert plan_cache.unpack(orjson.loads(orjson.dumps(plan_cache.pack(compiled)))) == compiled  # as stored
    plan_cache._READS.clear()  # and read again from the texts
    assert plan_cache.unpack(orjson.loads(orjson.dumps(plan_cache.pack(compiled)))) == compiled


def test_the_demo_clones_round_trip_through_their_stored_form(memory):
    hl.write_universe(memory, hl.pull_snapshot(replay_client(NOW_MS), []), load_taxonomy())
    universe = Universe.load(memory)
    for clone in demo_clones(memory):
        _round_trips(compile_graph(clone.graph, universe))


def _option(spec: Option) -> st.SearchStrategy:
    if spec.subset:
        return st.lists(st.sampled_from(spec.choices), min_size=1, unique=True)
    return st.sampled_from(spec.choices) if spec.choices else st.integers(spec.low, spec.high)


@st.composite
def _graphs(draw, coins: list[str]) -> dict:
    """A valid graph: 1-3 data streams with any channels and options, 1-2 asset blocks, 1-2 prompt blocks."""
    streams = []
    for i, source in enumerate(draw(st.lists(st.sampled_from(sorted(CHANNELS)), min_size=1, max_size=3))):
        names = draw(st.lists(st.sampled_from(sorted(CHANNELS[source])), min_size=1, unique=True))
        channels = {name: draw(st.fixed_dictionaries({}, optional={option: _option(spec) for option, spec in
                                                                   CHANNELS[source][name].items()})) for name in names}
        streams.append({"id": f"s{i}", "kind": "data_stream", "source": source, "channels": channels})
    assets = [{"id": f"a{i}", "kind": "asset", "include": draw(st.lists(st.sampled_from(coins), min_size=1,
                                                                          max_size=5, unique=True))}
              for i in range(draw(st.integers(1, 2)))]
    prompts = [{"id": f"p{i}", "kind": "trading_prompt", "prompt": "trade", "cadence": draw(st.sampled_from(CADENCES)),
                "controls": {"max_leverage": draw(st.floats(0.5, 50)), "order_types": ["limit"]}}
               for i in range(draw(st.integers(1, 2)))]
    edges = [{"source": s["id"], "target": a["id"]} for s in streams for a in assets]
    edges += [{"source": a["id"], "target": p["id"]} for a in assets for p in prompts]
    edges += [{"source": p["id"], "target": "clone"} for p in prompts]
    return {"blocks": [*streams, *assets, *prompts, {"id": "clone", "kind": "trading_clone"}], "edges": edges}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_compiled_graph_round_trips(universe, data):
    coins = [c for c, kind in sorted(universe.kinds.items()) if kind == "perp" and c not in universe.delisted][:40]
    coins.append("@107")  # a spot pair: no funding, no open interest
    _round_trips(compile_graph(parse_graph(data.draw(_graphs(coins))), universe))


def test_a_new_process_decides_from_stored_plans_without_compiling(trading_home, compiles):
    report = trading_runtime(trading_home).tick()
    assert compiles == [1] and report.claimed == 8  # two clones of one stored graph: compiled once, stored
    plan_cache._SHARED.clear()  # a new process, the next tick
    report = trading_runtime(trading_home, clock=lambda: NOW_MS + 15 * MINUTE_MS).tick()
    assert (report.claimed, report.counts()["failed"], compiles) == (8, 0, [1])
    script = ("import sys; from pathlib import Path; from clash_pipeline.strategy import plan_cache\n"
              "def refuse(*_): raise AssertionError('compiled')\n"
              "plan_cache.compile_graph = refuse\n"
              "from clash_pipeline_tests.helpers import trading_runtime\n"
              "runtime = trading_runtime(Path(sys.argv[1]), clock=lambda: int(sys.argv[2]))\n"
              "report = runtime.tick(); print(report.claimed, report.counts()['failed'], runtime.skipped)")
    done = subprocess.run([sys.executable, "-c", script, str(trading_home), str(NOW_MS + 30 * MINUTE_MS)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1:] == ["8 0 {}"], done.stderr[-2000:]


def test_the_demanded_set_and_the_read_plans_asset_reuse_the_rows(trading_home, compiles):
    runtime = trading_runtime(trading_home)
    runtime.due()  # clone 1 compiled and stored; clone 2, of the same graph, shares it: no row of its own yet
    rows = "SELECT clone_id FROM clone_read_plans ORDER BY clone_id"
    assert runtime.conn.execute(rows).fetchall() == [(1,)] and compiles == [1]
    plan_cache.clone_plans(runtime.conn, 2, refresh=True)  # what the clone_read_plans asset does: a row per clone
    assert runtime.conn.execute(rows).fetchall() == [(1,), (2,)] and compiles == [1]
    plan_cache._SHARED.clear()
    assert plan_cache.clone_plans(runtime.conn, 2)[0] == runtime._plans(1, 1)[0] and compiles == [1]  # its own row
    plan_cache._SHARED.clear()
    demand = compute_demand(runtime.conn, [], [])
    assert demand.coins == sorted(TRADING_COINS) and not demand.problems and compiles == [1]


def _coins(runtime, clone_id: int, version: int = 1) -> list[str]:
    return sorted({a.coin for a in runtime._plans(clone_id, version)[0].asset_plans()})


def test_a_changed_universe_or_a_new_version_is_not_served_a_stale_plan(trading_home, compiles):
    assert _coins(trading_runtime(trading_home), 1) == sorted(TRADING_COINS) and compiles == [1]
    plan_cache._SHARED.clear()
    runtime = trading_runtime(trading_home)
    runtime.conn.execute("UPDATE hl_assets SET is_delisted = 1 WHERE coin = 'SOL'")
    assert _coins(runtime, 1) == sorted(set(TRADING_COINS) - {"SOL"}) and compiles == [1, 1]
    stored = orjson.loads(runtime.conn.execute("SELECT plan_json FROM clone_read_plans WHERE clone_id = 1")
                          .fetchone()[0])
    assert stored["universe_sha256"] == runtime._universe_digest  # rewritten against the new universe
    store.add_version(runtime.conn, 1, modes.custom_graph(["BTC"], {"hyperliquid": "price_action"}))
    plan_cache._SHARED.clear()
    assert _coins(trading_runtime(trading_home), 1, 2) == ["BTC"] and compiles == [1, 1, 1]
    plan_cache._SHARED.clear()
    assert _coins(trading_runtime(trading_home), 1, 2) == ["BTC"] and compiles == [1, 1, 1]  # now stored


def test_a_plan_of_another_compiler_is_not_served(trading_home, compiles, monkeypatch):
    trading_runtime(trading_home)._plans(1, 1)
    plan_cache._SHARED.clear()
    monkeypatch.setattr(plan_cache, "COMPILER_SHA256", "0" * 64)  # a changed default or rule
    trading_runtime(trading_home)._plans(1, 1)
    assert compiles == [1, 1]


def _no_table(plan: dict) -> dict:
    read = orjson.loads(plan["reads"][0])
    del read["table"]
    return {**plan, "reads": [orjson.dumps(read).decode(), *plan["reads"][1:]]}


DAMAGE = {"not JSON": lambda plan: '{"prompts": [',
          "old format (no digests)": lambda plan: {k: v for k, v in plan.items() if not k.endswith("_sha256")},
          "not an object": lambda plan: [plan],
          "prompts not a list": lambda plan: {**plan, "prompts": "none"},
          "a read index out of range": lambda plan: {**plan, "reads": plan["reads"][:1]},
          "a read lacks its table": _no_table}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_or_old_row_is_compiled_again_and_rewritten(trading_home, compiles, damage):
    runtime = trading_runtime(trading_home)
    good = runtime._plans(1, 1)[0]
    (text,) = runtime.conn.execute("SELECT plan_json FROM clone_read_plans WHERE clone_id = 1").fetchone()
    broken = damage(orjson.loads(text))
    runtime.conn.execute("UPDATE clone_read_plans SET plan_json = ? WHERE clone_id = 1",
                         (broken if isinstance(broken, str) else orjson.dumps(broken).decode(),))
    plan_cache._SHARED.clear()
    assert trading_runtime(trading_home)._plans(1, 1)[0] == good and compiles == [1, 1]
    plan_cache._SHARED.clear()
    assert trading_runtime(trading_home)._plans(1, 1)[0] == good and compiles == [1, 1]  # rewritten: read back


def test_a_database_that_refuses_the_write_still_gets_its_plans(trading_home, compiles):
    readonly = sqlite3.connect(f"file:{trading_home / 'market_memory.sqlite'}?mode=ro", uri=True)
    compiled, blocks = plan_cache.clone_plans(readonly, 1, 1)
    assert compiles == [1] and "clone" in blocks and len(compiled.asset_plans()) == len(TRADING_COINS)
    assert readonly.execute("SELECT COUNT(*) FROM clone_read_plans").fetchone() == (0,)
