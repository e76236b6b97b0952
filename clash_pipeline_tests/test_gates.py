"""Every safety gate has a case that makes it fail; together they list every failure; rounding is safe."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.gates import AssetRules, GateInput, GlobalBounds, run_gates
from clash_pipeline.sources.hyperliquid.client import parse
from clash_pipeline.strategy.graph import ExecutionControls
from clash_pipeline_tests.helpers import raw

NOW = 1_795_000_000_000


@pytest.fixture(scope="module")
def btc_rules(fixtures_dir) -> AssetRules:
    """BTC's exchange rules from the recorded `meta`: szDecimals 5, max leverage 50."""
    meta = parse(raw("meta", fixtures_dir / "hyperliquid" / "meta.json"))
    btc = next(a for a in meta.universe if a.name == "BTC")
    return AssetRules("perp", btc.szDecimals, btc.maxLeverage)


def _input(asset_rules: AssetRules, **changes) -> GateInput:
    base = GateInput(
        action=Action(action="open_long", size_usd=500, leverage=3, order_type="market", reason="test"),
        reply_status="ok", reply_error=None, coin="BTC", enabled=True,
        controls=ExecutionControls(max_leverage=5, max_position_notional_usd=2000, max_order_usd=1000,
                                   cooldown_s=300, max_orders_per_hour=4),
        rules=asset_rules, mid=30135.0, as_of_ms=NOW, newest_context_ms=NOW - 60_000, cadence_ms=900_000,
        equity_usd=10_000, position_size=Decimal(0), orders_last_hour=0, last_order_ms=None, kill_switch=None,
        drawdown_pct=0.0,
    )
    return dataclasses.replace(base, **changes)


def _failed(report) -> dict[str, str]:
    return {gate: detail for gate, passed, detail in report.verdicts if not passed}


def test_a_clean_order_passes_and_is_on_the_lot(btc_rules):
    report = run_gates(_input(btc_rules))
    assert report.passed and report.order.side == "buy" and report.order.size == Decimal("0.01659")
    assert "rounded down to the lot" in dict((g, d) for g, _, d in report.verdicts)["lot_and_tick"]


LIMIT = dict(order_type="limit")
CASES = [
    ("schema_valid", dict(action=None, reply_status="malformed", reply_error="reply is not the action schema")),
    ("schema_valid", dict(action=None, reply_status="refused", reply_error="the model refused")),
    ("asset_enabled", dict(enabled=False)),
    ("dry_run_only", {}, GlobalBounds(execution_mode="live")),
    ("context_fresh", dict(newest_context_ms=NOW - 3 * 900_000)),
    ("order_type_allowed", dict(controls=ExecutionControls(order_types=["limit"]))),
    ("price_available", dict(mid=None)),
    ("limit_price_band", dict(action=Action(action="open_long", size_usd=500, limit_price=25000.0, **LIMIT))),
    ("notional_limits", dict(action=Action(action="open_long", size_usd=1500))),
    ("notional_limits", dict(position_size=Decimal("0.06"))),
    ("leverage_limits", dict(action=Action(action="open_long", size_usd=500, leverage=8))),
    ("leverage_limits", dict(action=Action(action="open_long", size_usd=500, leverage=30), rules=AssetRules("perp", 5, 20),
                             controls=ExecutionControls(max_leverage=50, max_order_usd=1000)),
     GlobalBounds(max_leverage=50)),  # the exchange's cap binds
    ("lot_and_tick", dict(action=Action(action="open_long", size_usd=10.0),
                          controls=ExecutionControls(min_order_usd=10, max_order_usd=1000), mid=30135.0)),
    ("rate_limits", dict(orders_last_hour=4)),
    ("rate_limits", dict(last_order_ms=NOW - 120_000)),
    ("kill_switch", dict(kill_switch="global: incident")),
    ("drawdown_stop", dict(drawdown_pct=30.0)),
    ("position_exists", dict(action=Action(action="close"))),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_gate_can_fail(btc_rules, case):
    gate, changes, *bounds = case
    report = run_gates(_input(btc_rules, **changes), *bounds)
    assert gate in _failed(report), report.verdicts
    assert report.order is None


def test_every_failure_is_listed_together(btc_rules):
    report = run_gates(_input(btc_rules, enabled=False, kill_switch="clone:7: owner", orders_last_hour=9,
                              action=Action(action="open_long", size_usd=1500, leverage=9)))
    assert set(_failed(report)) == {"asset_enabled", "kill_switch", "rate_limits", "notional_limits", "leverage_limits"}


def test_a_hold_passes_with_no_order(btc_rules):
    report = run_gates(_input(btc_rules, action=Action(action="hold"), kill_switch="global: incident"))
    assert report.passed and report.order is None and [g for g, *_ in report.verdicts] == ["schema_valid"]


def test_limit_prices_round_to_the_safe_side(btc_rules):
    buy = run_gates(_input(btc_rules, action=Action(action="open_long", size_usd=500, limit_price=30123.45, **LIMIT)))
    sell = run_gates(_input(btc_rules, action=Action(action="open_short", size_usd=500, limit_price=30123.45, **LIMIT)))
    assert buy.order.price == Decimal("30123") and sell.order.price == Decimal("30124")
    assert "rounded down to the tick" in dict((g, d) for g, _, d in buy.verdicts)["lot_and_tick"]


def test_stops_and_targets_round_toward_the_entry(btc_rules):
    report = run_gates(_input(btc_rules, action=Action(action="open_long", size_usd=500, take_profit=33148.55,
                                                       stop_loss=28628.25)))
    assert report.order.take_profit == Decimal("33148") and report.order.stop_loss == Decimal("28629")


def test_closing_uses_the_position_and_is_reduce_only(btc_rules):
    report = run_gates(_input(btc_rules, action=Action(action="close"), position_size=Decimal("0.02")))
    assert report.passed and report.order.side == "sell" and report.order.reduce_only
    assert report.order.size == Decimal("0.02")
