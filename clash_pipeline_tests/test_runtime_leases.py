"""Leases that hold: a worker renews its leases while a slow model call runs, so nobody takes its runs over; a
worker that did lose a run (no heartbeat) never overwrites what the worker that took it over recorded."""

from __future__ import annotations

import threading
import time

import pytest

from clash_pipeline.decisions import engines
from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.engines import Proposal
from clash_pipeline.memory.db import open_memory
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import trading_runtime


class SlowEngine:
    """Counts calls per run key; sleeps in the thread named 'slow'; a long from 'B', a short from anyone else."""

    calls: list[tuple[int, str, str]] = []
    sleep_s = 0.4

    def __init__(self, **_: object) -> None:
        pass

    def propose(self, request) -> Proposal:
        who = threading.current_thread().name
        SlowEngine.calls.append((request.clone_id, request.coin, who))
        if who == "slow":
            time.sleep(SlowEngine.sleep_s)
        action = Action(action="open_long" if who == "B" else "open_short", size_usd=100.0, leverage=1.0,
                        order_type="market", confidence=0.6, reason=f"by {who}")
        return Proposal(action, "ok", action.model_dump_json())


@pytest.fixture
def slow_engine(monkeypatch):
    SlowEngine.calls = []
    monkeypatch.setitem(engines._REGISTRY, "rules", SlowEngine)  # the clones' prompt blocks use `rules`
    return SlowEngine


def _clock(started: float):
    return lambda: NOW_MS + int((time.monotonic() - started) * 1000)  # a real-time clock near NOW_MS


def _in_thread(name: str, target) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("report", target()), name=name)
    thread.start()
    return thread, result


def test_a_slow_worker_keeps_its_leases_and_each_run_calls_the_model_once(trading_home, slow_engine):
    started = time.monotonic()

    def slow_pass():
        a = trading_runtime(trading_home, clock=_clock(started), worker="A", lease_ms=600, heartbeat_s=0.05)
        return a.run(a.due([1]))  # 4 runs x 0.4 s, well past the lease

    thread, result = _in_thread("slow", slow_pass)
    b = trading_runtime(trading_home, clock=_clock(started), worker="B", lease_ms=600, heartbeat_s=0.05)
    while not slow_engine.calls:  # A has claimed its runs and is in its first model call
        time.sleep(0.01)
    takeovers = 0
    while thread.is_alive():
        takeovers += b.run(b.due([1])).resumed + b.run([]).claimed
        time.sleep(0.05)
    thread.join()
    assert takeovers == 0
    keys = [(clone, coin) for clone, coin, _ in slow_engine.calls]
    assert len(keys) == 4 and len(set(keys)) == 4  # one model call per run
    conn = open_memory(trading_home / "market_memory.sqlite")
    assert conn.execute("SELECT worker, attempts, status != 'running' FROM decision_runs GROUP BY 1, 2, 3"
                        ).fetchall() == [("A", 1, 1)]
    assert len(result["report"].outcomes) == 4 and not result["report"].lost


def test_a_worker_that_lost_its_runs_does_not_overwrite_them(trading_home, slow_engine):
    started = time.monotonic()

    def slow_pass():
        a = trading_runtime(trading_home, clock=_clock(started), worker="A", lease_ms=200, heartbeat_s=3600)  # no beat
        return a.run(a.due([1]))

    def take_over():
        return trading_runtime(trading_home, clock=_clock(started), worker="B", lease_ms=200).run([])

    thread, result = _in_thread("slow", slow_pass)
    time.sleep(0.45)  # A's leases have run out; A is still in its model calls
    b_thread, taken = _in_thread("B", take_over)
    b_thread.join()
    thread.join()
    assert taken["report"].resumed == 4 and len(taken["report"].outcomes) == 4
    assert sorted(result["report"].lost) == sorted(o.run_id for o in taken["report"].outcomes)
    assert result["report"].outcomes == []
    conn = open_memory(trading_home / "market_memory.sqlite")
    rows = conn.execute("SELECT r.worker, r.attempts, a.action, a.reason FROM decision_runs r JOIN decision_actions a "
                        "USING (run_id)").fetchall()
    assert len(rows) == 4 and set(rows) == {("B", 2, "open_long", "by B")}
    sides = conn.execute("SELECT o.side, a.action FROM orders o JOIN decision_actions a USING (run_id)").fetchall()
    assert all((side, action) == ("buy", "open_long") for side, action in sides)
    gates = conn.execute("SELECT COUNT(*) FROM decision_gates g JOIN decision_runs r USING (run_id)").fetchone()[0]
    assert gates == sum(len(o.gates.verdicts) for o in taken["report"].outcomes)
