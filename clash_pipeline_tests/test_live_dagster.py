"""Dagster's live tick: off (and says which setting) by default; with an approved clone on the loopback exchange,
one materialization decides, sends, reconciles, and its blocking check passes."""

from __future__ import annotations

import dagster as dg

from clash_pipeline import timeutil
from clash_pipeline.defs.live import live_cadence_sensor, live_decision_tick, live_positions_match
from clash_pipeline.defs.resources import default_resources
from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import load_settings
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.live_helpers import connect_and_approve, fake_exchange, live_env, master_key, owner_of, venue


def test_the_live_tick_is_off_by_default_and_trades_an_approved_clone(trading_home, monkeypatch):
    monkeypatch.delenv("CLASH_LIVE_TRADING", raising=False)
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)
    resources = default_resources(load_settings({"CLASH_HOME": str(trading_home)}))
    with dg.instance_for_test() as instance:
        off = dg.materialize([live_decision_tick], instance=instance, resources=resources)
        metadata = off.asset_materializations_for_node("live_decision_tick")[0].metadata
        assert "CLASH_LIVE_TRADING=testnet" in metadata["live_trading"].value
        conn = open_memory(trading_home / "market_memory.sqlite")
        with fake_exchange(conn) as fake:
            env = live_env(fake.url, master_key())
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            connect_and_approve(conn, 1, owner_of(conn, 1, fake), venue(env))
            context = dg.build_sensor_context(instance=instance, resources={k: resources[k] for k in
                                                                             ("market_memory", "archive")})
            assert isinstance(live_cadence_sensor(context), dg.RunRequest)
            result = dg.materialize([live_decision_tick, live_positions_match], instance=instance,
                                    resources=resources)
        assert result.success
        metadata = result.asset_materializations_for_node("live_decision_tick")[0].metadata
        assert metadata["ordered"].value == 4 and metadata["live_orders"].value == {"filled": 4}
        assert metadata["reconciled"].value == 1 and metadata["reconciliation_failed"].value == 0
        assert [c.passed for c in result.get_asset_check_evaluations()] == [True]
        assert len(fake.applied_orders) == 4
