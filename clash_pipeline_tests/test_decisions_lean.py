"""The lean decision path: backtests archive payloads per N ticks, packets and compiled plans are shared by
clones that read the same, and a recorded tick keeps no payload in memory."""

from __future__ import annotations

import orjson

from clash_pipeline.decisions import backtest, payloads
from clash_pipeline.decisions.replay import replay_run
from clash_pipeline.decisions.service import run_story
from clash_pipeline.memory.db import checkpoints_deferred, open_memory, transaction
from clash_pipeline.strategy import modes, store
from clash_pipeline.timeutil import HOUR_MS
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS as COINS
from clash_pipeline_tests.helpers import trading_runtime


def test_a_backtest_archives_its_payloads_once_per_n_ticks_and_every_run_replays(trading_home, monkeypatch):
    monkeypatch.setattr(backtest, "ARCHIVE_EVERY_TICKS", 8)
    runtime = trading_runtime(trading_home)
    start = NOW_MS - NOW_MS % HOUR_MS - 6 * HOUR_MS
    result = backtest.run_backtest(runtime.conn, runtime.outbox, 1, start, start + 6 * HOUR_MS, "15m")
    conn = runtime.conn
    runs = conn.execute("SELECT COUNT(*), COUNT(payload_key), COUNT(DISTINCT payload_key) FROM decision_runs "
                        "WHERE context_label = ?", (result["context"],)).fetchone()
    assert runs[0] == runs[1] == result["decisions"] > 0  # every run points at its payload
    assert runs[2] == -(-result["ticks"] // 8)  # one object per 8 ticks, not one per tick
    some = [r for (r,) in conn.execute("SELECT run_id FROM decision_runs WHERE context_label = ? LIMIT 5",
                                      (result["context"],))]
    assert all(replay_run(conn, runtime.outbox, r)["matches"] for r in some)


def test_clones_of_one_preset_share_compiled_plans_and_packets(trading_home):
    runtime = trading_runtime(trading_home)
    graph = modes.custom_graph(COINS, {"hyperliquid": "price_action"}, "15m")
    for name in ("three", "four"):
        store.create_clone(runtime.conn, name, graph, "custom")
    report = runtime.tick()
    assert runtime._plans(3, 1)[0] is runtime._plans(4, 1)[0]
    assert report.claimed == 16 and report.counts()["failed"] == 0
    assert all(o.payload == {} and o.snapshot is None for o in report.outcomes)  # recorded, then let go
    assert len(runtime._packets) == len(COINS)  # four clones, one read per asset
    (key,) = {k for (k,) in runtime.conn.execute("SELECT payload_key FROM decision_runs")}
    stored = orjson.loads(runtime.outbox.read(key))
    packets = [part for part in stored["shared"] if "channels" in part]
    assert len(packets) == len(COINS) and len(stored["runs"]) == 16  # each packet archived once
    for run_id in (r.run_id for r in report.outcomes):  # each run's context reads back as it was built
        run = run_story(runtime.conn, runtime.outbox, run_id)
        assert run["packet"]["prompt_id"] == "strategy" and run["packet"]["asset"] == run["run"]["coin"]
        assert list(run["packet"]) == ["asset", "name", "symbol", "prompt_id", "as_of_ms", "channels", "empty"]


def test_a_payload_object_stores_shared_parts_once_and_reads_back_each_run_exactly():
    packet = {"asset": "BTC", "name": "BTC", "symbol": "BTC", "prompt_id": "a", "as_of_ms": 1,
              "channels": {"hyperliquid.candles": {"reads": {"candles": {"columns": ["t"], "rows": [[1]]}}}},
              "empty": []}
    other = {**packet, "prompt_id": "b"}  # the same read, another prompt block: its own context
    bounds, controls = {"max_leverage": 5}, {"cooldown_s": 60}
    gate_inputs = [{"coin": coin, "controls": controls} for coin in ("BTC", "ETH", "SOL")]
    body = payloads.pack({7: {"context": packet, "bounds": bounds, "gate_input": gate_inputs[0], "reason": "x"},
                          8: {"context": packet, "bounds": bounds, "gate_input": gate_inputs[1]},
                          9: {"context": other, "bounds": bounds, "gate_input": gate_inputs[2]}})
    assert len(orjson.loads(body)["shared"]) == 3  # two contexts and the bounds, each once
    for run_id, context, gate_input in ((7, packet, gate_inputs[0]), (8, packet, gate_inputs[1]),
                                        (9, other, gate_inputs[2])):
        read = payloads.run_payload(body, run_id)
        assert orjson.dumps(read["context"]) == orjson.dumps(context) and read["bounds"] == bounds
        assert read["gate_input"] == gate_input
    assert payloads.run_payload(body, 7)["reason"] == "x" and payloads.run_payload(body, 10) is None
    assert payloads.run_payload(orjson.dumps({"7": {"reason": "older object"}}), 7) == {"reason": "older object"}
    assert payloads.run_payload(payloads.join({3: orjson.dumps({"reason": "r"})}), 3) == {"reason": "r"}


def test_a_forked_child_compresses_payloads_on_a_thread_of_its_own():
    import os

    from clash_pipeline.decisions import runtime as rt

    assert rt._COMPRESSOR.submit(lambda: "parent").result(timeout=5) == "parent"  # the parent's thread is up
    pid = os.fork()
    if pid == 0:  # the child: a compressor that answers (the parent's thread is not in this process)
        os._exit(0 if rt._COMPRESSOR.submit(lambda: "child").result(timeout=5) == "child" else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_simulation_defers_wal_checkpoints_and_restores_them_even_when_it_fails(trading_home):
    conn = open_memory(trading_home / "market_memory.sqlite")
    conn.execute("PRAGMA wal_autocheckpoint=777")
    inside = []
    try:
        with checkpoints_deferred(conn):
            inside.append(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
            with transaction(conn):
                conn.execute("INSERT INTO kill_switches VALUES ('clone:9', 0, 'drill', 0)")
            raise RuntimeError("the simulation stopped")
    except RuntimeError:
        pass
    assert inside == [0] and conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (777,)
    assert conn.execute("SELECT COUNT(*) FROM kill_switches WHERE scope = 'clone:9'").fetchone() == (1,)
