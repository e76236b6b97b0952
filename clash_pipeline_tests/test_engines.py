"""Engines: the openai engine through the real `openai` client against a local Chat Completions server; the
deterministic rules engine; the registry."""

from __future__ import annotations

import pytest

from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.engines import EngineRequest, make_engine, register
from clash_pipeline.decisions.engines.basic import signals
from clash_pipeline.strategy.graph import ExecutionControls
from clash_pipeline_tests.chat_server import ChatServer

SECRET = "sk-test-never-printed"


@pytest.fixture(scope="module")
def chat():
    server = ChatServer(slow_s=1.5)
    yield server
    server.stop()


def _request(model: str | None = "valid", packet: dict | None = None) -> EngineRequest:
    packet = packet or {"channels": {}}
    controls = ExecutionControls()
    return EngineRequest(1, "strategy", "BTC", model, "Trade well.", packet, 10_000.0, controls)


@pytest.mark.parametrize(("model", "status", "error"), [
    ("valid", "ok", None),
    ("invalid", "malformed", "reply is not the action schema at action"),
    ("refuse", "refused", "the model refused"),
    ("empty", "empty", "empty reply"),
    ("fail", "error", "InternalServerError (HTTP 500)"),
    ("slow", "error", "timeout waiting for the model"),
])
def test_openai_engine_records_every_kind_of_reply(chat, model, status, error):
    engine = make_engine("openai", base_url=chat.base_url, api_key=SECRET, timeout_s=0.5, max_retries=1)
    proposal = engine.propose(_request(model))
    assert proposal.reply_status == status
    assert (proposal.action is not None) == (status == "ok")
    if error:
        assert error in proposal.error and SECRET not in proposal.error
    if status in ("ok", "malformed", "refused", "empty"):
        assert (proposal.tokens_in, proposal.tokens_out) == (321, 45)
    assert proposal.latency_ms > 0


def test_openai_engine_asks_for_the_action_schema(chat):
    make_engine("openai", base_url=chat.base_url, api_key=SECRET, timeout_s=2).propose(_request("valid"))
    sent = chat.requests[-1]
    assert sent["body"]["response_format"]["json_schema"]["schema"] == Action.model_json_schema()
    assert [m["role"] for m in sent["body"]["messages"]] == ["system", "user"]
    assert sent["authorization"] == f"Bearer {SECRET}"


def _packet(closes: list[float], imbalance: float, funding: float) -> dict:
    return {"channels": {
        "hyperliquid.candles": {"reads": {"candles": {"columns": ["open_ms", "close"],
                                                      "rows": [[i, c] for i, c in enumerate(closes)]}}},
        "hyperliquid.liquidity": {"reads": {"liquidity": {"columns": ["ts_ms", "imbalance"], "rows": [[0, imbalance]]}}},
        "hyperliquid.funding": {"reads": {"pressure": {"columns": ["ts_ms", "funding"], "rows": [[0, funding]]}}},
    }}


def test_rules_engine_is_deterministic_and_follows_its_signals():
    rules = make_engine("rules")
    up = _packet([100.0] * 12 + [101.0], imbalance=0.2, funding=0.0000125)
    assert signals(up)["momentum"] == pytest.approx(0.01)
    first, second = rules.propose(_request(packet=up)), rules.propose(_request(packet=up))
    assert first.action == second.action and first.action.action == "open_long"
    assert first.action.size_usd <= ExecutionControls().max_order_usd
    assert first.action.stop_loss < 101.0 < first.action.take_profit
    down = _packet([100.0] * 12 + [98.0], imbalance=-0.5, funding=0.0003)
    assert rules.propose(_request(packet=down)).action.action == "open_short"
    flat = _packet([100.0] * 13, imbalance=0.1, funding=0.0)
    assert rules.propose(_request(packet=flat)).action.action == "hold"
    assert rules.propose(_request(packet={"channels": {}})).action.reason == "no closed candles in the context"
    reply = rules.propose(_request(packet=up)).raw_reply  # its reply: the whole action, as the schema writes it
    assert Action.model_validate_json(reply) == first.action and '"limit_price":null' in reply
    with pytest.raises(ValueError, match="finite"):  # a price that is not finite never becomes an order
        rules.propose(_request(packet=_packet([100.0] * 12 + [float("inf")], imbalance=0.0, funding=0.0)))


def test_hold_engine_and_a_new_engine_registers_without_touching_the_worker():
    assert make_engine("hold").propose(_request()).action.action == "hold"

    @register("always-short")
    class AlwaysShort:
        name = "always-short"

        def __init__(self, **_):
            pass

        def propose(self, request):
            from clash_pipeline.decisions.engines import Proposal

            return Proposal(Action(action="open_short", size_usd=100), "ok")

    assert make_engine("always-short").propose(_request()).action.action == "open_short"
    with pytest.raises(ValueError, match="unknown engine 'nope'"):
        make_engine("nope")
