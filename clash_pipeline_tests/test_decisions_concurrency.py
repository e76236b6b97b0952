"""Concurrent engines: a tick's model calls run at once, bounded per model; a 429 pauses the model for its
Retry-After; recording stays in one thread and exactly once."""

from __future__ import annotations

import threading

import pytest

from clash_pipeline.decisions.engines import EngineRequest, make_engine
from clash_pipeline.decisions.limits import ModelGate, ModelLimits, retry_after_s
from clash_pipeline.strategy import modes, store
from clash_pipeline.strategy.graph import ExecutionControls
from clash_pipeline_tests.chat_server import ChatServer
from clash_pipeline_tests.conftest import TRADING_COINS as COINS
from clash_pipeline_tests.helpers import trading_runtime


def _model_clones(conn, count: int, model: str) -> None:
    graph = modes.custom_graph(COINS, {"hyperliquid": "price_action"}, "15m").model_dump(mode="json")
    next(b for b in graph["blocks"] if b["kind"] == "trading_prompt").update(engine="openai", model=model)
    for clone_id in (1, 2):
        store.add_version(conn, clone_id, graph)
    for i in range(count - 2):
        store.create_clone(conn, f"model-{i}", graph, "custom")


def test_model_calls_of_a_tick_run_concurrently_within_the_model_bound(trading_home):
    chat = ChatServer(delay_s=0.5)  # long enough for 6 calls to be in flight on a busy machine
    try:
        runtime = trading_runtime(trading_home, engine_settings={
            "openai": {"base_url": chat.base_url, "api_key": "sk-test", "max_in_flight": 6}})
        _model_clones(runtime.conn, 4, "valid")  # 4 clones x 4 assets = 16 calls of 500 ms
        report = runtime.tick()
    finally:
        chat.stop()
    assert report.claimed == 16 and report.counts()["failed"] == 0
    assert chat.max_in_flight == report.max_in_flight == 6  # concurrent, and never above the bound
    conn = runtime.conn
    assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM decision_runs WHERE status != 'running'"
                        ).fetchone() == (16, 16)
    assert conn.execute("SELECT COUNT(*) FROM decision_runs WHERE tokens_in = 321").fetchone() == (16,)


def test_a_429_pauses_the_model_for_its_retry_after_and_is_retried(trading_home):
    chat = ChatServer()
    slept: list[float] = []
    try:
        engine = make_engine("openai", base_url=chat.base_url, api_key="sk-test", sleep=slept.append)
        request = EngineRequest(1, "p", "BTC", "ratelimit", "trade", {"channels": {}}, 10_000.0, ExecutionControls())
        proposal = engine.propose(request)
    finally:
        chat.stop()
    assert proposal.reply_status == "ok" and proposal.action.action == "open_long"
    assert slept == [0.2] and len(chat.requests) == 2
    assert engine.gate("ratelimit")._paused_until > 0


def test_requests_and_tokens_per_minute_hold_calls_back():
    now = [0.0]
    gate = ModelGate(ModelLimits(max_in_flight=2, requests_per_minute=2, tokens_per_minute=500), clock=lambda: now[0])
    assert gate._wait_s(now[0]) == 0
    with gate.slot() as spend:
        spend(300)
    with gate.slot() as spend:
        spend(300)
    assert gate._wait_s(now[0]) == pytest.approx(60.0)  # two starts in the window, 600 tokens > 500
    now[0] = 61.0
    assert gate._wait_s(now[0]) == 0
    gate.pause(5.0)
    assert gate._wait_s(now[0]) == pytest.approx(5.0)


def test_the_in_flight_bound_blocks_the_next_call_until_one_ends():
    gate = ModelGate(ModelLimits(max_in_flight=1))
    entered = threading.Event()
    with gate.slot():
        worker = threading.Thread(target=lambda: gate.slot().__enter__() and entered.set())
        worker.start()
        assert not entered.wait(0.2)
    worker.join(2)
    assert gate.max_in_flight_seen == 1 and gate.calls == 2


def test_retry_after_reads_seconds_milliseconds_and_refuses_bad_limits():
    assert retry_after_s({"retry-after": "1.5"}, 9) == 1.5
    assert retry_after_s({"retry-after-ms": "250"}, 9) == 0.25
    assert retry_after_s({"retry-after": "soon"}, 9) == 9
    assert retry_after_s(None, 3) == 3
    with pytest.raises(ValueError, match="max_in_flight"):
        ModelLimits(max_in_flight=0)
