"""No poison input: a clone whose stored graph holds an absurd number (put there behind validation's back) is
skipped with a clear reason and the other clones' runs are recorded; a run that fails while recording ends
`failed` with its error and the rest of its batch is recorded."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

from clash_pipeline.paper import broker as broker_module
from clash_pipeline.paper.positions import to_micro
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import trading_runtime


def _poison_clone(conn, value) -> int:
    """A third clone copied from clone 1 with `account_size_usd` = value, inserted directly (no validation)."""
    graph_json, layout_json, digest = conn.execute(
        "SELECT graph_json, layout_json, strategy_hash FROM graph_versions WHERE clone_id = 1").fetchone()
    graph = json.loads(graph_json)
    next(b for b in graph["blocks"] if b["kind"] == "trading_clone")["account_size_usd"] = value
    clone_id = conn.execute("INSERT INTO clones (name, control_mode, active_version, created_ms) VALUES "
                            "('poison', 'power', 1, 0)").lastrowid
    conn.execute("INSERT INTO graph_versions VALUES (?, 1, ?, ?, ?, 0)", (clone_id, json.dumps(graph), layout_json,
                                                                       digest))
    return clone_id


@pytest.mark.parametrize("value", [1e300, math.inf])
def test_a_poison_clone_does_not_stop_the_others(trading_home, value):
    runtime = trading_runtime(trading_home)
    poison = _poison_clone(runtime.conn, value)
    # a run of the poison clone left `running` by a crashed worker, past its lease
    runtime.conn.execute(
        "INSERT INTO decision_runs (clone_id, version, prompt_id, coin, tick_ms, context_label, status, engine, "
        "worker, claimed_ms) VALUES (?, 1, 'strategy', 'BTC', ?, 'live', 'running', 'rules', 'dead', 0)",
        (poison, NOW_MS - NOW_MS % 900_000 - 900_000))
    report = runtime.tick()
    assert poison in report.skipped and "account_size_usd" in report.skipped[poison]
    assert report.claimed == 8 and report.resumed == 1
    statuses = dict(runtime.conn.execute("SELECT clone_id, GROUP_CONCAT(DISTINCT status) FROM decision_runs "
                                         "GROUP BY clone_id").fetchall())
    assert statuses[poison] == "failed"
    assert "running" not in statuses[1] + statuses[2] and "failed" not in statuses[1] + statuses[2]
    (error,) = runtime.conn.execute("SELECT error FROM decision_runs WHERE clone_id = ?", (poison,)).fetchone()
    assert "GraphInvalid" in error and "account_size_usd" in error and "\n" not in error
    assert runtime.conn.execute("SELECT COUNT(*) FROM paper_accounts WHERE clone_id = ?", (poison,)).fetchone() == (0,)


def test_a_run_that_fails_while_recording_is_isolated(trading_home, monkeypatch):
    real = broker_module.Broker.account

    def account(self, clone_id, *args, **kwargs):
        if clone_id == 1:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return real(self, clone_id, *args, **kwargs)

    monkeypatch.setattr(broker_module.Broker, "account", account)
    runtime = trading_runtime(trading_home)
    report = runtime.tick()
    assert report.counts()["failed"] == 4 and sum(report.counts().values()) == 8
    rows = runtime.conn.execute("SELECT clone_id, status, error FROM decision_runs ORDER BY run_id").fetchall()
    assert all(s == "failed" and e.startswith("recording failed: OverflowError") for c, s, e in rows if c == 1)
    assert all(s in ("held", "ordered", "rejected") for c, s, _ in rows if c == 2)
    assert runtime.conn.execute("SELECT COUNT(*) FROM decision_gates g JOIN decision_runs r USING (run_id) "
                                "WHERE r.clone_id = 1").fetchone() == (0,)  # nothing half-written for the failed
    assert runtime.conn.execute("SELECT COUNT(*) FROM decision_gates g JOIN decision_runs r USING (run_id) "
                                "WHERE r.clone_id = 2").fetchone()[0] > 0


@pytest.mark.parametrize("usd", [Decimal("1e300"), Decimal("Infinity"), Decimal("NaN"), Decimal("-1e20")])
def test_to_micro_refuses_amounts_the_ledger_cannot_hold(usd):
    with pytest.raises(ValueError, match="out of the ledger's range"):
        to_micro(usd)
    assert to_micro(Decimal("9223372036854.775807")) == 2**63 - 1
