"""Model costs: token usage to USD through the price table, a per-clone daily budget enforced as the
`model_budget` gate (a clone that spent it holds, with the reason, and its model is not asked), totals in the
tick's report and in `clash accounts show`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clash_pipeline.decisions.costs import ModelPrice, PriceTable, model_costs
from clash_pipeline.decisions.gates import GlobalBounds
from clash_pipeline_tests.chat_server import ChatServer
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import trading_runtime
from clash_pipeline_tests.test_decisions_concurrency import _model_clones

CALL_MICRO = 321 * 10 + 45 * 30  # the chat server's usage at the fallback price (10 / 30 USD per M tokens)


def test_token_usage_is_priced_exactly_per_model():
    table = PriceTable({"house-model": {"input_per_mtok": "1.25", "output_per_mtok": "5"}})
    assert table.cost_micro("gpt-4o-mini", 1_000_000, 1_000_000) == 750_000  # 0.15 + 0.60 USD
    assert table.cost_micro("house-model", 1000, 100) == 1750
    assert table.cost_micro("unknown", 321, 45) == CALL_MICRO  # the dear fallback: budgets hold
    assert table.cost_micro("gpt-4o-mini", 1, 0) == 1  # rounded up to the micro-USD
    with pytest.raises(ValueError, match="input_per_mtok"):
        ModelPrice(Decimal(-1), Decimal(1))


def test_a_clone_that_spent_its_daily_model_budget_holds_without_asking_the_model(trading_home):
    chat = ChatServer()
    try:
        runtime = trading_runtime(trading_home, bounds=GlobalBounds(model_budget_usd_per_day=0.016),
                                  engine_settings={"openai": {"base_url": chat.base_url, "api_key": "sk-test"}})
        # 2 clones x 4 assets, each call 0.00456 USD: 3 calls (0.0137) are within 0.016, whatever the order in which
        # calls end, so every call of the first tick is made; 4 (0.0182) are not
        _model_clones(runtime.conn, 2, "valid")
        first = runtime.tick()
        asked = len(chat.requests)
        later = trading_runtime(trading_home, clock=lambda: NOW_MS + 15 * 60_000,
                                bounds=GlobalBounds(model_budget_usd_per_day=0.016),
                                engine_settings={"openai": {"base_url": chat.base_url, "api_key": "sk-test"}})
        second = later.tick()
    finally:
        chat.stop()
    assert asked == 8 and first.cost_micro == 8 * CALL_MICRO
    assert second.claimed == 8 and len(chat.requests) == asked  # spent 0.018 > 0.016: nobody asked the model
    assert second.counts()["held"] == 8 and second.cost_micro == 0
    conn = later.conn
    runs = ",".join(str(o.run_id) for o in second.outcomes)
    gates = conn.execute(f"SELECT passed, detail FROM decision_gates WHERE gate = 'model_budget' AND run_id IN ({runs})"
                         ).fetchall()
    assert len(gates) == 8 and all(p == 0 and "0.0182 of 0.02 USD" in d for p, d in gates)
    assert conn.execute("SELECT COUNT(*) FROM decision_gates WHERE gate = 'model_budget' AND passed = 1"
                        ).fetchone() == (8,)  # the first tick's calls were within the budget
    totals = model_costs(conn, later.prices, 1, "live")
    assert totals[1, "live"] == {"calls": 4, "tokens_in": 4 * 321, "tokens_out": 4 * 45, "cost_micro": 4 * CALL_MICRO}


def test_accounts_show_has_the_model_cost(trading_home, monkeypatch, capsys):
    import json

    from clash_pipeline.cli import main

    chat = ChatServer()
    try:
        runtime = trading_runtime(trading_home, engine_settings={"openai": {"base_url": chat.base_url,
                                                                            "api_key": "sk-test"}})
        _model_clones(runtime.conn, 2, "valid")
        runtime.tick()
    finally:
        chat.stop()
    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    assert main(["accounts", "show", "--clone-id", "1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown[0]["model_cost_usd"] == pytest.approx(4 * CALL_MICRO / 1e6)
    for position in shown[0]["positions"].values():
        assert len(position["entry"].replace(".", "").lstrip("0")) <= 6  # on the tick, not 28 digits


def test_processes_read_engine_limits_prices_and_budgets_from_engines_json(tmp_path):
    import json

    from clash_pipeline.decisions.service import engine_config

    assert engine_config(tmp_path) == {}
    (tmp_path / "engines.json").write_text(json.dumps({
        "engines": {"openai": {"max_in_flight": 8, "model_limits": {"gpt-4o": {"max_in_flight": 2}}}},
        "prices": {"house": {"input_per_mtok": 1, "output_per_mtok": 2}},
        "bounds": {"model_budget_usd_per_day": 1.5}}))
    options = engine_config(tmp_path)
    assert options["engine_settings"]["openai"]["max_in_flight"] == 8
    assert options["prices"].cost_micro("house", 10, 10) == 30 and options["bounds"].model_budget_usd_per_day == 1.5
    (tmp_path / "engines.json").write_text(json.dumps({"engines": {"openai": {"max_in_flight": 0}}}))
    with pytest.raises(ValueError, match="engines.json: model limit max_in_flight must be a positive integer"):
        engine_config(tmp_path)
    (tmp_path / "engines.json").write_text(json.dumps({"bugdet": 1}))
    with pytest.raises(ValueError, match="unknown keys \\['bugdet'\\]"):
        engine_config(tmp_path)
