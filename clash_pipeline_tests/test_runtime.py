"""The decision runtime: one run per (clone, strategy, asset, tick), whatever the number of workers, and a
worker killed mid-tick leaves no duplicate and no lost run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from clash_pipeline.decisions import runtime as rt
from clash_pipeline.decisions.service import run_story
from clash_pipeline.memory.db import open_memory
from clash_pipeline.strategy import modes, store
from clash_pipeline_tests.chat_server import ChatServer
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS as COINS
from clash_pipeline_tests.helpers import trading_runtime


def _runs(conn) -> list[tuple]:
    return conn.execute("SELECT clone_id, prompt_id, coin, tick_ms, status FROM decision_runs ORDER BY 1, 3").fetchall()


def test_a_tick_runs_each_pair_once_and_records_everything(trading_home):
    runtime = trading_runtime(trading_home)
    report = runtime.tick()
    assert report.due == report.claimed == 8 and sum(report.counts().values()) == 8
    assert report.counts()["failed"] == 0
    assert runtime.tick().due == 0  # the same tick again: nothing due
    forced = runtime.tick([1], "BTC", force=True)
    assert forced.claimed == 1 and forced.outcomes[0].due.forced
    conn = runtime.conn
    assert len(_runs(conn)) == 9
    assert conn.execute("SELECT COUNT(*) FROM decision_runs WHERE payload_key IS NULL").fetchone() == (0,)
    ordered = conn.execute("SELECT run_id FROM decision_runs WHERE status = 'ordered'").fetchall()
    assert conn.execute("SELECT COUNT(*) FROM orders").fetchone() == (len(ordered),)
    assert conn.execute("SELECT COUNT(*) FROM execution_events WHERE kind = 'order_created'").fetchone() == \
        (len(ordered),)
    story = run_story(conn, runtime.outbox, 1)
    assert story["packet"]["asset"] == story["run"]["coin"] and story["prompt"][0]["role"] == "system"
    assert story["gates"] and story["run"]["archive_status"] == "archive_pending"


def test_an_engaged_kill_switch_rejects_orders(trading_home):
    runtime = trading_runtime(trading_home)
    runtime.conn.execute("INSERT INTO kill_switches VALUES ('global', 1, 'incident drill', 0)")
    report = runtime.tick()
    assert report.counts()["ordered"] == 0
    traded = [o for o in report.outcomes if o.proposal.action.trades]
    assert traded and all(o.status == "rejected" for o in traded)
    assert runtime.conn.execute("SELECT COUNT(*) FROM decision_gates WHERE gate = 'kill_switch' AND passed = 0"
                                ).fetchone() == (len(traded),)


def test_two_workers_on_one_tick_make_exactly_one_run_per_pair(trading_home):
    barrier = threading.Barrier(2)
    reports = {}

    def work(name: str) -> None:
        runtime = trading_runtime(trading_home, worker=name)
        due = runtime.due()
        barrier.wait()
        reports[name] = runtime.run(due)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert reports["w1"].due == reports["w2"].due == 8
    assert reports["w1"].claimed + reports["w2"].claimed == 8
    conn = open_memory(trading_home / "market_memory.sqlite")
    runs = _runs(conn)
    assert len(runs) == 8 and len({r[:4] for r in runs}) == 8
    assert {r[4] for r in runs} <= {"held", "rejected", "ordered"}


def test_a_worker_killed_mid_tick_leaves_no_duplicate_and_no_lost_run(trading_home):
    chat = ChatServer(slow_s=3.0)  # the 8 calls run at once: none has answered when the worker is killed
    conn = open_memory(trading_home / "market_memory.sqlite")
    graph = modes.custom_graph(COINS, {"hyperliquid": "price_action"}, "15m").model_dump(mode="json")
    prompt = next(b for b in graph["blocks"] if b["kind"] == "trading_prompt")
    prompt.update(engine="openai", model="slow")
    for clone_id in (1, 2):
        store.add_version(conn, clone_id, graph)
    env = {**os.environ, "CLASH_HOME": str(trading_home), "OPENAI_BASE_URL": chat.base_url, "OPENAI_API_KEY": "sk-test"}
    code = ("import sys; from clash_pipeline.decisions.runtime import DecisionRuntime; "
            "from clash_pipeline.decisions.service import runtime_for; from clash_pipeline.settings import load_settings; "
            f"r = runtime_for(load_settings(), clock=lambda: {NOW_MS}); r.run(r.due())")
    worker = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not chat.requests:
        time.sleep(0.05)
    time.sleep(1.0)  # a couple of engine calls in
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert conn.execute("SELECT COUNT(*) FROM decision_runs WHERE status = 'running'").fetchone()[0] == 8
    assert conn.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)  # nothing half-written

    chat.slow_s = 0.0
    later = trading_runtime(trading_home, clock=lambda: NOW_MS + rt.LEASE_MS + 1,
                     engine_settings={"openai": {"base_url": chat.base_url, "api_key": "sk-test"}})
    report = later.run([])  # nothing new is due at this clock's tick; the stale runs are taken over
    assert report.resumed == 8
    runs = _runs(conn)
    assert len(runs) == 8 and {r[4] for r in runs} <= {"held", "ordered", "rejected"}
    assert conn.execute("SELECT MIN(attempts) FROM decision_runs").fetchone() == (2,)
    assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM orders").fetchone()[0] == \
        conn.execute("SELECT COUNT(*) FROM decision_runs WHERE status = 'ordered'").fetchone()[0]
    chat.stop()


def test_the_worker_stops_gracefully_on_sigterm(trading_home):
    env = {**os.environ, "CLASH_HOME": str(trading_home)}
    worker = subprocess.Popen([sys.executable, "-m", "clash_pipeline.cli", "decisions", "worker", "--interval", "0.2"],
                              env=env, stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0 and "worker stopped after" in out and "pass: due" in out


def test_a_runs_gates_are_shown_in_the_order_they_are_evaluated(trading_home):
    """GATE_ORDER follows run_gates and the live adapter's gates (their sources, in order), and a run's story
    lists its verdicts in that order, not by name."""
    import re
    from pathlib import Path

    from clash_pipeline.decisions import gates as gates_module
    from clash_pipeline.live import execute

    checked = re.findall(r'report\.check\("(\w+)"', Path(gates_module.__file__).read_text())
    assert list(dict.fromkeys(checked)) == list(gates_module.GATE_ORDER[: len(set(checked))])
    live = set(re.findall(r'\("((?:live_\w+)|kill_switch_at_send)"', Path(execute.__file__).read_text()))
    assert live and live <= set(gates_module.GATE_ORDER[len(set(checked)):])
    runtime = trading_runtime(trading_home)
    traded = next(o for o in runtime.tick().outcomes if o.gates and len(o.gates.verdicts) > 3)
    story = run_story(runtime.conn, runtime.outbox, traded.run_id)
    assert [g["gate"] for g in story["gates"]] == [gate for gate, _, _ in traded.gates.verdicts]
