"""Paper trading: the fill model, position arithmetic, the broker's ledger (funding, SL/TP, liquidation, the
drawdown stop, resting limits), reconciliation, reproducible backtests and decision replay."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from clash_pipeline.memory.db import open_memory, transaction
from clash_pipeline.decisions.backtest import run_backtest
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.fills import Fill, FillConfig, OrderSpec, Snapshot, fill_order, fill_resting
from clash_pipeline.paper.metrics import account_metrics, reconcile
from clash_pipeline.paper.positions import Position, apply_fill, funding_payment, liquidation_price
from clash_pipeline.decisions.replay import replay_run
from clash_pipeline.timeutil import HOUR_MS
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import trading_runtime

BOOK = Snapshot(bids=((D("99.9"), D("1")), (D("99.8"), D("2")), (D("94"), D("50"))),
                asks=((D("100.1"), D("1")), (D("100.2"), D("2")), (D("106"), D("50"))),
                mid=D("100"), last_spread=D("0.2"), kind="perp", sz_decimals=2)


def test_a_market_order_walks_the_book_and_explains_its_cost():
    fill = fill_order(OrderSpec("buy", D("2.5"), "market"), BOOK)
    assert fill.status == "filled" and fill.size == D("2.5")
    assert fill.price == (D("100.1") + D("1.5") * D("100.2")) / D("2.5")
    assert fill.fee == D("2.5") * fill.price * D("0.00045")
    assert fill.half_spread_cost == D("0.1") * D("2.5")  # best ask 100.1 vs mid 100
    assert fill.impact_cost == (fill.price - D("100.1")) * D("2.5")


def test_the_slippage_cap_leaves_the_rest_unfilled():
    fill = fill_order(OrderSpec("sell", D("10"), "market"), BOOK)  # 94 is 6% below mid: beyond the 5% cap
    assert fill.status == "partial" and fill.size == D("3") and fill.unfilled == D("7")
    assert "unfilled" in fill.notes[0]


def test_limit_orders_fill_up_to_the_limit_or_rest():
    taker = fill_order(OrderSpec("buy", D("5"), "limit", D("100.1")), BOOK)
    assert (taker.status, taker.size, taker.price) == ("partial", D("1"), D("100.1"))
    resting = fill_order(OrderSpec("buy", D("5"), "limit", D("99.5")), BOOK)
    assert resting.status == "resting" and resting.liquidity == "maker"
    later = fill_resting(OrderSpec("buy", D("5"), "limit", D("99.5")), D("99.4"), D("100.3"), "perp")
    assert (later.price, later.liquidity, later.fee) == (D("99.5"), "maker", D("5") * D("99.5") * D("0.00015"))
    assert fill_resting(OrderSpec("buy", D("5"), "limit", D("99.5")), D("99.6"), D("100.3"), "perp") is None


def test_without_a_book_mid_plus_half_spread_and_a_tick_and_without_a_price_a_rejection():
    no_book = Snapshot((), (), D("100"), D("0.2"), "perp", 2)
    fill = fill_order(OrderSpec("buy", D("1"), "market"), no_book)
    assert fill.source == "mid_fallback" and fill.price == D("100.11") and "no book" in fill.notes[0]
    assert fill_order(OrderSpec("buy", D("1"), "market"), Snapshot((), (), None, None, "perp", 2)).status == "rejected"
    spot = fill_order(OrderSpec("buy", D("1"), "market"), dataclasses.replace(BOOK, kind="spot"))
    assert spot.fee == spot.size * spot.price * FillConfig().spot_taker


def test_position_arithmetic_and_funding_sign():
    long, realized = apply_fill(Position("BTC"), "buy", D("2"), D("100"), D("5"))
    long, realized = apply_fill(long, "buy", D("2"), D("110"))
    assert (long.size, long.entry, realized) == (D("4"), D("105"), 0)
    reduced, realized = apply_fill(long, "sell", D("1"), D("120"))
    assert (reduced.size, reduced.entry, realized) == (D("3"), D("105"), D("15"))
    flipped, realized = apply_fill(reduced, "sell", D("5"), D("100"))
    assert (flipped.size, flipped.entry, realized) == (D("-2"), D("100"), D("-15"))
    assert funding_payment(long, D("100"), D("0.0001")) == D("-0.04")  # a long pays a positive rate
    assert funding_payment(flipped, D("100"), D("0.0001")) == D("0.02")
    assert liquidation_price(Position("X", D("1"), D("100"), D("10")), D("100"), D("10"), D(0), 10) < D("100")


def _broker_with_prices(home, prices: list[tuple[int, str, float]]):
    conn = open_memory(home / "market_memory.sqlite")
    conn.executemany("INSERT OR REPLACE INTO hl_mids VALUES (?, ?, ?)", [(c, t, p) for t, c, p in prices])
    return conn, Broker(conn)


def _open(broker, conn, coin: str, side: str, size: str, price: str, ts: int, leverage="10", sl=None, tp=None,
          starting=D(10_000)) -> int:
    with transaction(conn):
        account = broker.account(1, "test", ts, starting)
        fill = Fill("filled", D(size), D(price), "taker", D(size) * D(price) * D("0.00045"))
        broker.book_fill(account, "order", coin, side, fill, BOOK, ts, leverage=D(leverage),
                         stop_loss=None if sl is None else D(sl), take_profit=None if tp is None else D(tp))
    return account


def test_a_liquidation_happens_when_equity_falls_to_maintenance(trading_home):
    t = NOW_MS - NOW_MS % HOUR_MS + 5 * 60_000
    conn, broker = _broker_with_prices(trading_home, [(t, "ETH", 2000.0), (t + 60_000, "ETH", 1700.0)])
    account = _open(broker, conn, "ETH", "buy", "10", "2000", t, leverage="20", starting=D(1_500))
    assert broker.mark(t, [account])[0].closed == []
    result = broker.mark(t + 60_000, [account])[0]  # -3,000 on 1,500 of equity
    assert result.closed == ["ETH:liquidation"]
    stopped, reason = conn.execute("SELECT stopped, stop_reason FROM paper_accounts WHERE account_id = ?",
                                   (account,)).fetchone()
    assert stopped == 1 and reason.startswith("liquidated")
    assert conn.execute("SELECT COUNT(*) FROM ledger_events WHERE account_id = ? AND kind = 'liquidation'",
                        (account,)).fetchone() == (1,)
    assert broker.positions(account) == {}
    assert reconcile(conn, account)["balanced"]


def test_the_drawdown_stop_closes_everything_and_stops_trading(trading_home):
    t = NOW_MS - NOW_MS % HOUR_MS + 5 * 60_000
    conn, broker = _broker_with_prices(trading_home, [(t, "BTC", 100_000.0), (t + 60_000, "BTC", 70_000.0)])
    account = _open(broker, conn, "BTC", "buy", "0.1", "100000", t, leverage="2")
    broker.mark(t, [account])
    result = broker.mark(t + 60_000, [account])[0]  # -3,000 on 10,000: 30% down
    assert "BTC:drawdown_stop" in result.closed
    assert conn.execute("SELECT stopped, stop_reason FROM paper_accounts WHERE account_id = ?",
                        (account,)).fetchone()[1].startswith("drawdown")
    runtime_gate = conn.execute("SELECT drawdown_pct FROM equity_curve WHERE account_id = ? ORDER BY ts_ms DESC",
                                (account,)).fetchone()[0]
    assert runtime_gate >= 25
    assert reconcile(conn, account)["balanced"]


def test_stop_loss_and_take_profit_trigger_on_marks(trading_home):
    t = NOW_MS - NOW_MS % HOUR_MS + 5 * 60_000
    conn, broker = _broker_with_prices(trading_home, [(t, "SOL", 140.0), (t + 60_000, "SOL", 133.0),
                                              (t, "HYPE", 30.0), (t + 60_000, "HYPE", 36.0)])
    account = _open(broker, conn, "SOL", "buy", "5", "140", t, sl="134", tp="150")
    _open(broker, conn, "HYPE", "buy", "10", "30", t, sl="27", tp="35")
    result = broker.mark(t + 60_000, [account])[0]
    assert sorted(result.closed) == ["HYPE:take_profit", "SOL:stop_loss"]
    realized = dict(conn.execute("SELECT p.coin, p.realized_micro FROM paper_positions p WHERE account_id = ?",
                                 (account,)).fetchall())
    assert realized["SOL"] < 0 < realized["HYPE"]
    assert reconcile(conn, account)["balanced"]


def test_funding_accrues_hourly_once(trading_home):
    t = NOW_MS - NOW_MS % HOUR_MS - 5 * HOUR_MS
    conn, broker = _broker_with_prices(trading_home, [(t + i * HOUR_MS, "BTC", 90_000.0) for i in range(7)])
    conn.executemany("INSERT OR REPLACE INTO hl_funding_history VALUES ('BTC', ?, ?, ?, 0.0)",
                     [(t + i * HOUR_MS, t + i * HOUR_MS + 42, 0.0001) for i in range(1, 6)])
    account = _open(broker, conn, "BTC", "buy", "0.01", "90000", t + 60_000, leverage="2")
    for _ in range(2):
        broker.mark(t + 5 * HOUR_MS + 60_000, [account])
    payments = conn.execute("SELECT amount_micro FROM ledger_events WHERE account_id = ? AND kind = 'funding'",
                            (account,)).fetchall()
    assert payments == [(-90_000,)] * 5  # 0.01 x 90,000 x 0.0001 = 0.09 USDC each hour, paid by the long
    metrics = account_metrics(conn, account)
    assert metrics.funding_usd == pytest.approx(0.45) and metrics.trades == 1


def test_a_retried_fill_applies_nothing_twice(trading_home):
    t = NOW_MS
    conn, broker = _broker_with_prices(trading_home, [])
    account = _open(broker, conn, "ETH", "buy", "1", "3000", t)
    before = conn.execute("SELECT balance_micro FROM paper_accounts WHERE account_id = ?", (account,)).fetchone()
    _open(broker, conn, "ETH", "buy", "1", "3000", t)  # the same fill again (a retry)
    assert conn.execute("SELECT balance_micro FROM paper_accounts WHERE account_id = ?", (account,)).fetchone() == before
    assert conn.execute("SELECT COUNT(*) FROM paper_fills").fetchone() == (1,)
    assert broker.positions(account)["ETH"].size == D("1")


@pytest.mark.parametrize("cadence", ["15m", "1h"])
def test_a_simulation_read_ahead_trades_as_one_reading_each_tick_directly(trading_home, cadence):
    """Over stored history packets and prices come from read-ahead windows (on the cadence's grid): the equity
    curve and every fill are those of the same simulation reading each tick's rows with their own queries."""
    from clash_pipeline.decisions.backtest import _accounts, result_hash, simulate

    runtime = trading_runtime(trading_home)
    start = NOW_MS - NOW_MS % HOUR_MS - 6 * HOUR_MS
    hashes = []
    for label, stored in (("direct", False), ("ahead", True)):
        decisions, _ = simulate(runtime.conn, runtime.outbox, [1], label, start, start + 6 * HOUR_MS, cadence,
                                stored_history=stored)
        account = _accounts(runtime.conn, 1, label)[0]
        fills = runtime.conn.execute("SELECT COUNT(*) FROM paper_fills WHERE account_id = ?", (account,)).fetchone()
        hashes.append((decisions, fills, result_hash(runtime.conn, account)))
    assert hashes[0] == hashes[1] and hashes[0][0] > 0 and hashes[0][1] > (0,)


def test_a_backtest_run_twice_gives_identical_results_and_replay_matches(trading_home):
    runtime = trading_runtime(trading_home)
    start = NOW_MS - NOW_MS % HOUR_MS - 6 * HOUR_MS
    first = run_backtest(runtime.conn, runtime.outbox, 1, start, start + 6 * HOUR_MS, "15m")
    second = run_backtest(runtime.conn, runtime.outbox, 1, start, start + 6 * HOUR_MS, "15m")
    assert first["decisions"] == second["decisions"] > 0
    assert first["result_sha256"] == second["result_sha256"] and first["metrics"]["points"] == 25
    assert {k: v for k, v in first["metrics"].items() if k != "account_id"} == \
        {k: v for k, v in second["metrics"].items() if k != "account_id"}
    conn = runtime.conn
    ordered = [r for (r,) in conn.execute("SELECT run_id FROM decision_runs WHERE status = 'ordered'")]
    assert ordered and all(replay_run(conn, runtime.outbox, r)["matches"] for r in ordered)
    gates = next(c for c in replay_run(conn, runtime.outbox, ordered[0])["checks"] if c["check"] == "gates")
    assert list(gates["recorded"]) == list(gates["derived"])  # both in the order the gates are evaluated
    assert all(reconcile(conn, a)["balanced"] for (a,) in conn.execute("SELECT account_id FROM paper_accounts"))
    conn.execute("UPDATE orders SET size = '999' WHERE run_id = ?", (ordered[0],))  # a record that lies
    mismatch = replay_run(conn, runtime.outbox, ordered[0])
    assert not mismatch["matches"] and [c["check"] for c in mismatch["checks"] if not c["match"]] == ["order"]


def test_fills_booked_in_one_batch_move_positions_and_the_ledger_as_booked_one_by_one(trading_home):
    """Two accounts, fills that open, add to, reduce and flip one position within a batch, and a retry of the
    batch (nothing moves twice)."""
    from clash_pipeline.paper.broker import Booking

    conn = open_memory(trading_home / "market_memory.sqlite")
    broker, t = Broker(conn), NOW_MS

    def fill(size: str, price: str) -> Fill:
        return Fill("filled", D(size), D(price), "taker", D(size) * D(price) * D("0.00045"))

    plan = [(1, "ETH", "buy", "2", "2000"), (2, "ETH", "sell", "1", "2001"), (1, "ETH", "buy", "1", "2010"),
            (1, "BTC", "buy", "0.1", "60000"), (1, "ETH", "sell", "5", "1990"), (2, "ETH", "buy", "1", "1995")]

    def state(context: str) -> tuple:
        accounts = [a for (a,) in conn.execute("SELECT account_id FROM paper_accounts WHERE context_label = ? "
                                               "ORDER BY clone_id", (context,))]
        return tuple((conn.execute("SELECT balance_micro FROM paper_accounts WHERE account_id = ?", (a,)).fetchone(),
                      conn.execute("SELECT coin, size, entry_px, realized_micro FROM paper_positions WHERE "
                                   "account_id = ? ORDER BY coin", (a,)).fetchall(),
                      conn.execute("SELECT kind, amount_micro, detail FROM ledger_events WHERE account_id = ? "
                                   "ORDER BY event_id", (a,)).fetchall()) for a in accounts)

    def bookings(context: str) -> list[Booking]:
        with transaction(conn):
            ids = {clone: broker.account(clone, context, t) for clone in (1, 2)}
        return [Booking(ids[clone], "order", coin, side, fill(size, price), BOOK, t + i, leverage=D(5))
                for i, (clone, coin, side, size, price) in enumerate(plan)]

    for b in bookings("one-by-one"):
        with transaction(conn):
            broker.book_fills([b])
    batch = bookings("batch")
    with transaction(conn):
        broker.book_fills(batch)
    with transaction(conn):
        broker.book_fills(batch)  # a retry: every fill is booked already
    one, together = state("one-by-one"), state("batch")
    assert together == one
    eth = dict((coin, (size, realized)) for coin, size, _, realized in one[0][1])["ETH"]
    assert D(eth[0]) == D("-2") and eth[1] != 0  # flipped short, with the long's realized PnL
