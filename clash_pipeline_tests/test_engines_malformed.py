"""The `openai` engine never raises into the worker: a 200 whose body is not JSON is a malformed reply, and the
gates reject it at schema_valid."""

from __future__ import annotations

import pytest

from clash_pipeline.decisions.engines import EngineRequest, make_engine
from clash_pipeline.decisions.gates import run_gates
from clash_pipeline.strategy.graph import ExecutionControls
from clash_pipeline_tests.chat_server import ChatServer
from clash_pipeline_tests.test_gates import _input

SECRET = "sk-test-never-printed"


@pytest.fixture(scope="module")
def chat():
    server = ChatServer()
    yield server
    server.stop()


@pytest.mark.parametrize("model", ["notjson", "notjson-html", "notcompletion"])
def test_a_non_json_200_is_a_malformed_reply_rejected_by_schema_valid(chat, model):
    engine = make_engine("openai", base_url=chat.base_url, api_key=SECRET, timeout_s=2, max_retries=0)
    request = EngineRequest(1, "strategy", "BTC", model, "Trade well.", {"channels": {}}, 10_000.0,
                            ExecutionControls())
    proposal = engine.propose(request)
    assert proposal.action is None and proposal.reply_status == "malformed"
    assert ("not JSON" if model.startswith("notjson") else "not a chat completion") in proposal.error
    assert SECRET not in proposal.error
    assert ("upstream proxy error" if model.startswith("notjson") else "not a completion") in proposal.raw_reply
    report = run_gates(_input(None, action=None, reply_status=proposal.reply_status, reply_error=proposal.error))
    assert [(g, ok) for g, ok, _ in report.verdicts] == [("schema_valid", False)]
    assert "reply malformed" in report.verdicts[0][2]
