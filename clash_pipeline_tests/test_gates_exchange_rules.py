"""The exchange's rules in the gates, on the real recorded universe (main dex, the xyz builder dex, spot): spot is
long-only at leverage 1; isolated-only assets trade isolated; the leverage cap is the margin tier's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.gates import GlobalBounds, run_gates
from clash_pipeline.decisions.runtime import load_asset_rules
from clash_pipeline.ingest.hyperliquid import write_universe
from clash_pipeline.strategy.graph import ExecutionControls
from clash_pipeline.universe.taxonomy import load_taxonomy
from clash_pipeline_tests.helpers import raw
from clash_pipeline_tests.test_gates import _failed, _input


@pytest.fixture(scope="module")
def rules(fixtures_dir, tmp_path_factory):
    from clash_pipeline.memory.db import open_memory

    folder = fixtures_dir / "hyperliquid" / "universe"
    conn = open_memory(tmp_path_factory.mktemp("rules") / "memory.sqlite")
    write_universe(conn, [
        raw("perpDexs", folder / "perpDexs_2025-12-13.json", fetched_ms=1),
        raw("metaAndAssetCtxs", folder / "metaAndAssetCtxs_main_2025-08-22.json", fetched_ms=1),
        raw("metaAndAssetCtxs", folder / "metaAndAssetCtxs_dex-xyz_2026-02-06.json",
            {"type": "metaAndAssetCtxs", "dex": "xyz"}, fetched_ms=1),
        raw("spotMetaAndAssetCtxs", folder / "spotMetaAndAssetCtxs_2025-08-22.json", fetched_ms=1),
    ], load_taxonomy())
    found = load_asset_rules(conn)
    conn.close()
    return found


def _open(side: str, usd: float, leverage: float) -> Action:
    return Action(action=side, size_usd=usd, leverage=leverage, order_type="market", reason="test")


@pytest.mark.parametrize(("action", "gate", "why"), [
    (_open("open_short", 100, 1), "spot_long_only", "long-only"),
    (_open("open_long", 100, 3), "leverage_limits", "spot 1"),
    (_open("open_short", 100, 3), "spot_long_only", "long-only"),
])
def test_spot_is_long_only_at_leverage_1(rules, action, gate, why):
    report = run_gates(_input(rules["PURR/USDC"], coin="PURR/USDC", mid=0.2, action=action))
    assert gate in _failed(report) and why in _failed(report)[gate] and report.order is None


def test_a_spot_buy_at_leverage_1_passes(rules):
    report = run_gates(_input(rules["PURR/USDC"], coin="PURR/USDC", mid=0.2, action=_open("open_long", 100, 1)))
    assert report.passed and report.order.side == "buy" and report.order.margin_mode == "cross"


@pytest.mark.parametrize("coin", ["xyz:TSLA", "xyz:XYZ100"])  # strictIsolated, noCross
def test_an_isolated_only_asset_trades_isolated(rules, coin):
    assert rules[coin].only_isolated
    report = run_gates(_input(rules[coin], coin=coin, mid=400.0, action=_open("open_long", 500, 2)))
    assert report.passed and report.order.margin_mode == "isolated"
    assert "isolated margin only" in dict((g, d) for g, _, d in report.verdicts)["margin_mode"]
    main = run_gates(_input(rules["BTC"], action=_open("open_long", 500, 2)))
    assert main.order.margin_mode == "cross" and "margin_mode" not in [g for g, *_ in main.verdicts]


def test_the_leverage_cap_follows_the_margin_tier_of_the_notional(rules):
    bnb = rules["BNB"]  # margin table 51: 10x from 0, 5x from 3,000,000 USD
    assert bnb.margin_tiers == ((0.0, 10), (3_000_000.0, 5))
    wide = dict(controls=ExecutionControls(max_leverage=20, max_position_notional_usd=10_000_000,
                                           max_order_usd=10_000_000), coin="BNB", mid=800.0)
    bounds = GlobalBounds(max_position_notional_usd=10_000_000)
    small = run_gates(_input(bnb, action=_open("open_long", 1_000_000, 8), **wide), bounds)
    assert small.passed
    large = run_gates(_input(bnb, action=_open("open_long", 4_000_000, 8), **wide), bounds)
    assert set(_failed(large)) == {"leverage_limits"}
    assert "limit 5" in _failed(large)["leverage_limits"] and "3,000,000 USD" in _failed(large)["leverage_limits"]
    # an existing position counts: adding 1,000,000 to 2,500,000 crosses into the 5x tier
    adding = run_gates(_input(bnb, action=_open("open_long", 1_000_000, 8), position_size=Decimal(3125), **wide),
                       bounds)
    assert "leverage_limits" in _failed(adding)


def test_rules_round_trip_through_the_archived_gate_input(rules):
    from clash_pipeline.decisions.gates import gate_input_from_dict, gate_input_to_dict
    import orjson

    gi = _input(rules["xyz:TSLA"], coin="xyz:TSLA", mid=400.0)
    again = gate_input_from_dict(orjson.loads(orjson.dumps(gate_input_to_dict(gi), default=str)))
    assert again.rules == gi.rules and run_gates(again).verdicts == run_gates(gi).verdicts
