"""One order lifecycle: the transition table, events written with their status, and the fixes made on the way
(resting fills write their event, a partial fill's rest is cancelled, marks touch live accounts only, one
drawdown stop, engines from the registry, prices shown on the tick, no paper -> decisions import)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.engines import Proposal, register
from clash_pipeline.decisions.gates import GlobalBounds
from clash_pipeline.orders import lifecycle
from clash_pipeline.orders.enums import EventKind, FillStatus, OrderStatus, OrderType, Side
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.positions import shown_price
from clash_pipeline.strategy import modes, store
from clash_pipeline.strategy.graph import GraphInvalid, parse_graph
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS as COINS
from clash_pipeline_tests.helpers import trading_runtime


def _run(conn, coin: str = "BTC") -> int:
    return conn.execute(
        "INSERT INTO decision_runs (clone_id, version, prompt_id, coin, tick_ms, status, engine, worker, claimed_ms) "
        "VALUES (1, 1, 'p', ?, ?, 'ordered', 'rules', 'w', 0) RETURNING run_id", (coin, NOW_MS)).fetchone()[0]


def _order(conn, order_type: OrderType = OrderType.MARKET) -> int:
    run_id = _run(conn)
    return lifecycle.create_order(conn, lifecycle.NewOrder(run_id, 1, "BTC", Side.BUY, Decimal("0.01"), order_type,
                                                           f"0x{run_id:032x}"), NOW_MS)


def test_each_transition_writes_its_status_and_event_and_illegal_ones_change_nothing(trading_home):
    conn = trading_runtime(trading_home).conn
    order_id = _order(conn)
    run_id = conn.execute("SELECT run_id FROM orders WHERE order_id = ?", (order_id,)).fetchone()[0]
    assert lifecycle.status(conn, order_id) == OrderStatus.OPEN
    assert lifecycle.create_order(conn, lifecycle.NewOrder(run_id, 1, "BTC", Side.BUY, Decimal("0.01"),
                                                           OrderType.MARKET, "0xother"), NOW_MS) == order_id
    assert lifecycle.transition(conn, order_id, EventKind.FILLED, "0.01 @ 97000", NOW_MS) == OrderStatus.FILLED
    assert [k for k, _ in lifecycle.events(conn, run_id)] == ["order_created", "order_filled"]
    with pytest.raises(lifecycle.IllegalTransition, match="is filled: order_expired is not allowed"):
        lifecycle.transition(conn, order_id, EventKind.EXPIRED, "late", NOW_MS)
    assert lifecycle.status(conn, order_id) == OrderStatus.FILLED and len(lifecycle.events(conn, run_id)) == 2


def test_the_unfilled_rest_of_a_partial_fill_is_cancelled_with_an_event(trading_home):
    conn = trading_runtime(trading_home).conn
    order_id = _order(conn)
    assert lifecycle.apply_fill(conn, order_id, FillStatus.PARTIAL, "0.004 @ 97000", Decimal("0.006"),
                                NOW_MS) == OrderStatus.PARTIALLY_FILLED
    run_id = conn.execute("SELECT run_id FROM orders WHERE order_id = ?", (order_id,)).fetchone()[0]
    kinds = dict(lifecycle.events(conn, run_id))
    assert list(kinds) == ["order_created", "order_partially_filled", "order_cancelled"]
    assert "0.006" in kinds["order_cancelled"] and "immediate-or-cancel" in kinds["order_cancelled"]


class _LimitBuy:
    name = "limit-buy-test"

    def __init__(self, **_: object) -> None:
        pass

    price = 0.0

    def propose(self, request) -> Proposal:
        action = Action(action="open_long", size_usd=200.0, leverage=1.0, order_type="limit",
                        limit_price=_LimitBuy.price, confidence=0.5, reason="a resting bid")
        return Proposal(action, "ok", action.model_dump_json())


def test_a_resting_limit_that_fills_on_a_mark_writes_its_event(trading_home):
    runtime = trading_runtime(trading_home)
    conn = runtime.conn
    (high,) = conn.execute("SELECT MAX(high) FROM hl_candles WHERE coin = 'BTC' AND interval = '1m' AND "
                             "open_ms >= ?", (NOW_MS - 6 * 3_600_000,)).fetchone()
    mid = conn.execute("SELECT close FROM hl_candles WHERE coin = 'BTC' AND interval = '1m' ORDER BY open_ms DESC "
                       "LIMIT 1").fetchone()[0]
    _LimitBuy.price = mid * 0.99  # below the market: not marketable, it rests
    register("limit-buy-test")(_LimitBuy)
    graph = modes.custom_graph(["BTC"], {"hyperliquid": "price_action"}, "15m").model_dump(mode="json")
    next(b for b in graph["blocks"] if b["kind"] == "trading_prompt")["engine"] = "limit-buy-test"
    store.add_version(conn, 1, graph)
    report = runtime.tick([1])
    assert report.counts()["ordered"] == 1, report.outcomes[0].gates.verdicts
    order_id, run_id = conn.execute("SELECT order_id, run_id FROM orders").fetchone()
    assert lifecycle.status(conn, order_id) == OrderStatus.OPEN
    assert [k for k, _ in lifecycle.events(conn, run_id)] == ["order_created", "order_resting"]
    # prices traded through the limit after the order was placed: the next mark fills it, with its event
    conn.execute("UPDATE orders SET created_ms = ?, price = ? WHERE order_id = ?",
                 (NOW_MS - 6 * 3_600_000, str(high), order_id))
    runtime.broker.mark(NOW_MS)
    assert lifecycle.status(conn, order_id) == OrderStatus.FILLED
    kinds = dict(lifecycle.events(conn, run_id))
    assert "order_filled" in kinds and "(maker)" in kinds["order_filled"]
    assert conn.execute("SELECT COUNT(*) FROM paper_fills WHERE order_id = ?", (order_id,)).fetchone() == (1,)


def test_marks_on_the_schedule_touch_live_accounts_only(trading_home):
    conn = trading_runtime(trading_home).conn
    broker = Broker(conn)
    accounts = {label: broker.account(1, label, NOW_MS) for label in ("live", "audition:1", "race:1", "backtest:1")}
    marked = {r.account_id for r in broker.mark(NOW_MS)}
    assert marked == {accounts["live"]}
    assert {a for (a,) in conn.execute("SELECT DISTINCT account_id FROM equity_curve")} == {accounts["live"]}


def test_one_drawdown_stop_for_the_gate_and_the_mark(trading_home):
    runtime = trading_runtime(trading_home, bounds=GlobalBounds(drawdown_stop_pct=10.0))
    assert runtime.broker.drawdown_stop_pct == Decimal(10) and runtime.bounds.drawdown_stop_pct == 10.0
    assert GlobalBounds().drawdown_stop_pct == float(Broker(runtime.conn).drawdown_stop_pct)


def test_the_engines_a_graph_may_name_are_the_registry(trading_home):
    graph = modes.custom_graph(COINS, {"hyperliquid": "price_action"}, "15m").model_dump(mode="json")
    prompt = next(b for b in graph["blocks"] if b["kind"] == "trading_prompt")
    prompt["engine"] = "nope"
    with pytest.raises(GraphInvalid, match="unknown engine 'nope'; registered: .*'rules'"):
        parse_graph(graph)

    @register("one-file-engine")
    class _New:
        def __init__(self, **_: object) -> None:
            pass

    prompt["engine"] = "one-file-engine"
    assert parse_graph(graph)  # a new engine needs no change to the graph's schema


def test_fill_prices_are_shown_on_the_tick(trading_home):
    assert shown_price(Decimal("97123.45678901234567890123")) == Decimal("97123")
    assert str(shown_price(Decimal("0.012345678912345"))) == "0.012346"
    runtime = trading_runtime(trading_home)
    runtime.tick()
    details = [d for (d,) in runtime.conn.execute("SELECT detail FROM execution_events WHERE kind = 'order_filled'")]
    assert details
    for detail in details:
        price = detail.split(" @ ")[1].split(" ")[0]
        assert len(price.replace(".", "").lstrip("0")) <= 6, detail


def test_paper_imports_nothing_of_decisions():
    paper = Path(__file__).parents[1] / "clash_pipeline" / "paper"
    offenders = [p.name for p in paper.glob("*.py") if "clash_pipeline.decisions" in p.read_text()]
    assert offenders == []


@pytest.mark.parametrize("fill_status", list(FillStatus))
def test_placing_a_filled_paper_order_writes_what_create_then_apply_fill_write(trading_home, fill_status):
    conn = trading_runtime(trading_home).conn
    stepwise = _order(conn)
    lifecycle.apply_fill(conn, stepwise, fill_status, "the fill", Decimal("0.004"), NOW_MS)
    run_id = _run(conn, "ETH")
    (at_once,) = lifecycle.place_many(conn, [(lifecycle.NewOrder(run_id, 1, "BTC", Side.BUY, Decimal("0.01"),
                                                                 OrderType.MARKET, "0xonce"),
                                               lifecycle.fill_events(fill_status, "the fill", Decimal("0.004")))],
                                      NOW_MS)
    assert lifecycle.status(conn, at_once) == lifecycle.status(conn, stepwise)
    runs = [conn.execute("SELECT run_id FROM orders WHERE order_id = ?", (o,)).fetchone()[0] for o in (stepwise, at_once)]
    assert lifecycle.events(conn, runs[1]) == lifecycle.events(conn, runs[0])
    assert lifecycle.place_many(conn, [(lifecycle.NewOrder(run_id, 1, "BTC", Side.BUY, Decimal("0.01"),
                                                           OrderType.MARKET, "0xagain"),
                                         lifecycle.fill_events(fill_status, "again", Decimal(0)))],
                                NOW_MS) == [at_once]  # a retry: the same order, nothing more
    assert lifecycle.events(conn, runs[1]) == lifecycle.events(conn, runs[0])
