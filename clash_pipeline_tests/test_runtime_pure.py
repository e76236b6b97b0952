"""Pure engines (hold, rules) are decided before they are claimed: a run's one write is the INSERT of the finished
run, under an id reserved from the table's sequence, and a key another worker recorded first stays as it wrote it."""

from __future__ import annotations

from clash_pipeline.memory.db import open_memory, reserve_ids
from clash_pipeline_tests.helpers import trading_runtime


def _statements(conn) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    return seen


def test_a_pure_run_is_written_once_finished_never_as_running(trading_home):
    runtime = trading_runtime(trading_home)
    seen = _statements(runtime.conn)
    report = runtime.tick()
    assert report.claimed == len(report.outcomes) == 8 and not report.lost
    inserts = [s for s in seen if s.startswith("INSERT INTO decision_runs")]
    updates = [s for s in seen if s.startswith("UPDATE decision_runs") and "WHERE run_id" in s]
    assert len(inserts) == 8 and all("'running'" not in s for s in inserts) and updates == []
    rows = runtime.conn.execute("SELECT status, attempts, finished_ms IS NOT NULL FROM decision_runs").fetchall()
    assert len(rows) == 8 and all(status != "running" and attempts == 1 and done for status, attempts, done in rows)
    assert sorted(o.run_id for o in report.outcomes) == [r for (r,) in runtime.conn.execute(
        "SELECT run_id FROM decision_runs ORDER BY run_id")]


def test_a_worker_that_decided_runs_another_recorded_first_writes_nothing_of_them(trading_home):
    late, first = trading_runtime(trading_home, worker="late"), trading_runtime(trading_home, worker="first")
    due = late.due()  # both see the same 8 runs due
    recorded = first.run(first.due())
    assert recorded.claimed == 8
    conn = open_memory(trading_home / "market_memory.sqlite")
    before = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("decision_runs", "decision_actions", "decision_gates", "orders", "execution_events",
                        "paper_fills", "ledger_events", "archive_objects")}
    report = late.run(due)  # it decides all 8, and every INSERT finds its key taken
    assert report.claimed == 0 and report.outcomes == [] and len(report.lost) == 8
    after = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in before}
    assert after["archive_objects"] == before["archive_objects"] + 1  # its payload object, pointed at by no run
    assert {t: n for t, n in after.items() if t != "archive_objects"} == \
        {t: n for t, n in before.items() if t != "archive_objects"}
    assert conn.execute("SELECT DISTINCT worker FROM decision_runs").fetchall() == [("first",)]


def test_reserved_run_ids_are_never_handed_to_a_claim(trading_home):
    runtime = trading_runtime(trading_home)
    first = reserve_ids(runtime.conn, "decision_runs", "run_id", 5)
    again = reserve_ids(runtime.conn, "decision_runs", "run_id", 3)
    assert list(first) == [1, 2, 3, 4, 5] and list(again) == [6, 7, 8]
    claimed = runtime.claim(runtime.due()[:2])  # a model-backed run's claim: the table picks its id
    assert [c.run_id for c in claimed] == [9, 10]
