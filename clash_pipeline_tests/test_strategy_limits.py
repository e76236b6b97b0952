"""Poison numbers and graph size: every numeric field of a graph is finite and bounded, the graph's size is
limited with clear errors, and validation is linear in the graph's size (no recursion, no blocks x edges)."""

from __future__ import annotations

import json
import math
import time

import pytest

from clash_pipeline.strategy import modes
from clash_pipeline.strategy.graph import (
    MAX_BLOCKS,
    MAX_EDGES,
    MAX_LAYOUT_BYTES,
    MAX_NESTING,
    MAX_PROMPT_BLOCKS,
    GraphInvalid,
    parse_graph,
)


def _graph() -> dict:
    return modes.custom_graph(["BTC"], {"hyperliquid": "price_action"}).model_dump(mode="json")


def _block(graph: dict, kind: str) -> dict:
    return next(b for b in graph["blocks"] if b["kind"] == kind)


def _problems(graph: dict) -> list[tuple[str, str, str]]:
    with pytest.raises(GraphInvalid) as caught:
        parse_graph(graph)
    return [(p.block_id, p.field, p.message) for p in caught.value.problems]


@pytest.mark.parametrize("value", [1e300, math.inf, -math.inf, math.nan, 1e12])
def test_account_size_must_be_finite_and_bounded(value):
    graph = _graph()
    _block(graph, "trading_clone")["account_size_usd"] = value
    problems = _problems(graph)
    assert problems[0][:2] == ("clone", "account_size_usd")


@pytest.mark.parametrize(("field", "value"), [
    ("max_position_notional_usd", math.inf), ("max_position_notional_usd", 1e300), ("max_order_usd", math.inf),
    ("min_order_usd", 1e300), ("max_leverage", math.nan), ("cooldown_s", 10**30), ("stop_loss_pct", math.nan),
    ("take_profit_pct", math.inf),
])
def test_execution_controls_must_be_finite_and_bounded(field, value):
    graph = _graph()
    _block(graph, "trading_prompt")["controls"][field] = value
    assert ("strategy", f"controls.{field}") in [(b, f) for b, f, _ in _problems(graph)]


def test_layout_numbers_must_be_finite():
    graph = _graph()
    graph["layout"]["nodes"]["clone"]["x"] = math.inf
    assert [(b, f) for b, f, _ in _problems(graph)] == [("-", "layout")]


def _wide(prompts: int, assets_per_prompt: int, streams_per_asset: int) -> dict:
    """A valid graph: streams -> assets -> prompts -> one clone."""
    blocks, edges = [{"id": "clone", "kind": "trading_clone"}], []
    for p in range(prompts):
        blocks.append({"id": f"p{p}", "kind": "trading_prompt", "prompt": "Trade."})
        edges.append({"source": f"p{p}", "target": "clone"})
        for a in range(assets_per_prompt):
            blocks.append({"id": f"p{p}a{a}", "kind": "asset", "include": ["BTC"]})
            edges.append({"source": f"p{p}a{a}", "target": f"p{p}"})
            for s in range(streams_per_asset):
                blocks.append({"id": f"p{p}a{a}s{s}", "kind": "data_stream", "source": "hyperliquid",
                               "profile": "price_action"})
                edges.append({"source": f"p{p}a{a}s{s}", "target": f"p{p}a{a}"})
    return {"blocks": blocks, "edges": edges}


def test_the_largest_allowed_graph_validates_well_under_a_second():
    graph = _wide(MAX_PROMPT_BLOCKS, 7, 2)
    dense = graph["edges"] + [{"source": f"p{p}a{a}s{s}", "target": f"p{p}a{b}"} for p in range(MAX_PROMPT_BLOCKS)
                              for a in range(7) for b in range(7) for s in range(2) if a != b]
    graph["edges"] = dense[:MAX_EDGES]
    filler = MAX_BLOCKS - len(graph["blocks"])
    graph["blocks"] += [{"id": f"x{i}", "kind": "data_stream", "source": "hyperliquid", "profile": "full"}
                        for i in range(filler)]
    graph["edges"] = graph["edges"][: MAX_EDGES - filler] + [{"source": f"x{i}", "target": "p0a0"}
                                                               for i in range(filler)]
    assert len(graph["blocks"]) == MAX_BLOCKS and len(graph["edges"]) == MAX_EDGES
    started = time.perf_counter()
    parsed = parse_graph(graph)
    assert time.perf_counter() - started < 0.5
    assert len(parsed.blocks) == MAX_BLOCKS


@pytest.mark.parametrize(("shape", "field"), [
    ("blocks", "blocks"), ("edges", "edges"), ("prompts", "blocks"), ("layout", "layout"), ("nesting", "layout"),
])
def test_an_oversized_graph_is_refused_fast_with_a_clear_problem(shape, field):
    graph = _graph()
    if shape == "blocks":
        graph = _wide(1, 1, 10_000)
    elif shape == "edges":
        graph["edges"] += [{"source": "hyperliquid-price_action", "target": "assets"}] * (MAX_EDGES + 1)
    elif shape == "prompts":
        graph = _wide(MAX_PROMPT_BLOCKS + 1, 1, 1)
    elif shape == "layout":
        graph["layout"]["notes"] = "x" * 10_000_000
    else:
        deep: dict = {}
        for _ in range(MAX_NESTING + 5):
            deep = {"d": deep}
        graph["layout"]["extra"] = deep
    started = time.perf_counter()
    problems = _problems(graph)
    assert time.perf_counter() - started < 0.5
    assert any(f == field and "limit" in m for _, f, m in problems), problems
    assert len(problems) <= 3  # one clear line, not one per block


def test_5000_chained_blocks_give_problems_not_a_recursion_error():
    blocks = [{"id": f"a{i}", "kind": "asset", "include": ["BTC"]} for i in range(5000)]
    edges = [{"source": f"a{i}", "target": f"a{i + 1}"} for i in range(4999)] + [{"source": "a4999", "target": "a0"}]
    problems = _problems({"blocks": blocks, "edges": edges})  # over the block limit: refused before traversal
    assert any(f == "blocks" and "limit" in m for _, f, m in problems)


def test_a_cycle_within_the_limits_is_found_without_recursion(monkeypatch):
    from clash_pipeline.strategy import graph as graph_module

    monkeypatch.setattr(graph_module, "MAX_BLOCKS", 10_000)
    monkeypatch.setattr(graph_module, "MAX_EDGES", 10_000)
    blocks = [{"id": f"a{i:04d}", "kind": "asset", "include": ["BTC"]} for i in range(5000)]
    edges = [{"source": f"a{i:04d}", "target": f"a{i + 1:04d}"} for i in range(4999)]
    edges.append({"source": "a4999", "target": "a0000"})
    started = time.perf_counter()
    problems = _problems({"blocks": blocks, "edges": edges})
    assert time.perf_counter() - started < 3
    assert any("not a DAG" in m for _, _, m in problems)


def test_layout_size_is_measured_on_the_json():
    graph = _graph()
    graph["layout"]["notes"] = "x" * (MAX_LAYOUT_BYTES + 1)
    assert any(f == "layout" for _, f, _ in _problems(graph))
    graph["layout"]["notes"] = "x" * 1000
    assert json.loads(parse_graph(graph).layout.model_dump_json())["notes"] == "x" * 1000


def test_the_largest_allowed_graph_compiles_well_under_a_second():
    from clash_pipeline.strategy.plan import compile_graph
    from clash_pipeline.strategy.selection import Universe

    graph = _wide(MAX_PROMPT_BLOCKS, 8, 2)
    graph["blocks"] = graph["blocks"][:MAX_BLOCKS]
    coins = [f"C{i}" for i in range(100)]
    for block in graph["blocks"]:
        if block["kind"] == "asset":
            block["include"] = coins
    universe = Universe({c: "perp" for c in coins}, {c: c for c in coins}, {c: c for c in coins}, frozenset(), {})
    parsed = parse_graph({**graph, "edges": [e for e in graph["edges"]
                                             if {e["source"], e["target"]} <= {b["id"] for b in graph["blocks"]}]})
    started = time.perf_counter()
    compiled = compile_graph(parsed, universe)
    assert time.perf_counter() - started < 1.0
    assert len(compiled.prompts) == MAX_PROMPT_BLOCKS and all(len(p.assets) == 100 for p in compiled.prompts)


def test_storing_and_loading_the_largest_graph_is_fast(memory):
    from clash_pipeline.strategy import store

    memory.execute("INSERT INTO hl_assets VALUES ('BTC', 'perp', '', 0, 'BTC', NULL, 'USDC', 5, 40, 56, 0, 0, 0)")
    graph = _wide(MAX_PROMPT_BLOCKS, 8, 2)
    graph["blocks"] = graph["blocks"][:MAX_BLOCKS]
    ids = {b["id"] for b in graph["blocks"]}
    graph["edges"] = [e for e in graph["edges"] if {e["source"], e["target"]} <= ids]
    graph["layout"] = {"nodes": {b: {"x": 1.0, "y": 2.0} for b in sorted(ids)[:400]}}
    started = time.perf_counter()
    clone = store.create_clone(memory, "big", graph, "power")
    loaded = store.get_clone(memory, clone.identity.clone_id)
    assert time.perf_counter() - started < 1.0
    assert len(loaded.graph.blocks) == MAX_BLOCKS
