"""Auditions: a paid clone runs a 24-hour synthetic audition on a fresh account through the paper-trading runtime;
the evaluation is deterministic and explained criterion by criterion. A passing clone enters the promotion queue.

Default criteria (configurable): return >= 0% (the profit target), max drawdown <= 10%, at least 3 trades, and
a reliability (share of decisions that were not failed or malformed) of at least 90%.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass

from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.arena import lifecycle
from clash_pipeline.memory.db import transaction
from clash_pipeline.paper.backtest import simulate
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.metrics import account_metrics
from clash_pipeline.timeutil import HOUR_MS


@dataclass(frozen=True)
class AuditionCriteria:
    profit_target_pct: float = 0.0
    max_drawdown_pct: float = 10.0
    min_trades: int = 3
    min_reliability: float = 0.9
    hours: int = 24
    cadence: str = "15m"


def evaluate(metrics: dict, criteria: AuditionCriteria) -> tuple[bool, list[dict]]:
    """Every criterion with its value, threshold and verdict; pass needs all of them."""
    reliability = metrics["reliability"] if metrics["reliability"] is not None else 0.0
    checks = [
        ("profit_target", metrics["return_pct"], f">= {criteria.profit_target_pct}%",
         metrics["return_pct"] >= criteria.profit_target_pct),
        ("max_drawdown", metrics["max_drawdown_pct"], f"<= {criteria.max_drawdown_pct}%",
         metrics["max_drawdown_pct"] <= criteria.max_drawdown_pct),
        ("min_trades", metrics["trades"], f">= {criteria.min_trades}", metrics["trades"] >= criteria.min_trades),
        ("min_reliability", reliability, f">= {criteria.min_reliability}", reliability >= criteria.min_reliability),
    ]
    rows = [{"criterion": name, "value": value, "threshold": threshold, "passed": ok}
            for name, value, threshold, ok in checks]
    return all(row["passed"] for row in rows), rows


def pay_fee(conn: sqlite3.Connection, clone_id: int, payment_ref: str, ts_ms: int) -> None:
    lifecycle.transition(conn, clone_id, "audition_fee_paid", f"audition fee paid ({payment_ref})", ts_ms)


def run_audition(conn: sqlite3.Connection, outbox: Outbox, clone_id: int, start_ms: int,
                 criteria: AuditionCriteria = AuditionCriteria(), slots: int = 4) -> dict:
    """Audition a clone whose fee is paid over [start_ms, start_ms + hours] of history, evaluate, and queue (and
    promote, if a slot is open) a passing clone."""
    end_ms = start_ms + criteria.hours * HOUR_MS
    with transaction(conn):
        lifecycle.transition(conn, clone_id, "auditioning", "audition started", start_ms, in_transaction=True)
        (audition_id,) = conn.execute(
            "INSERT INTO auditions (clone_id, start_ms, end_ms, status, criteria_json) VALUES (?, ?, ?, 'running', ?) "
            "RETURNING audition_id", (clone_id, start_ms, end_ms, json.dumps(asdict(criteria)))).fetchone()
        label = f"audition:{audition_id}"
        Broker(conn).account(clone_id, label, start_ms)  # the fresh account, at the standard starting equity
    simulate(conn, outbox, [clone_id], label, start_ms, end_ms, criteria.cadence)
    account = conn.execute("SELECT account_id FROM paper_accounts WHERE clone_id = ? AND context_label = ?",
                           (clone_id, label)).fetchone()[0]
    metrics = account_metrics(conn, account).as_dict()
    passed, rows = evaluate(metrics, criteria)
    with transaction(conn):
        conn.execute("UPDATE auditions SET status = ?, evaluation_json = ?, finished_ms = ? WHERE audition_id = ?",
                     ("passed" if passed else "failed", json.dumps({"metrics": metrics, "criteria": rows}), end_ms,
                      audition_id))
        failing = ", ".join(r["criterion"] for r in rows if not r["passed"])
        lifecycle.transition(conn, clone_id, "passed" if passed else "failed",
                             f"audition {audition_id}: " + ("every criterion met" if passed else f"failed {failing}"),
                             end_ms, in_transaction=True)
        if passed:
            lifecycle.transition(conn, clone_id, "queued", "entered the promotion queue", end_ms, in_transaction=True)
            conn.execute("INSERT INTO promotion_queue VALUES (?, ?)", (clone_id, end_ms))
    promote(conn, end_ms, slots)
    return {"audition_id": audition_id, "clone_id": clone_id, "passed": passed, "criteria": rows, "metrics": metrics}


def promote(conn: sqlite3.Connection, ts_ms: int, slots: int) -> list[int]:
    """Fill open arena slots from the queue: first passed, first promoted; ties by clone id."""
    promoted = []
    with transaction(conn):
        (occupied,) = conn.execute("SELECT COUNT(*) FROM clone_lifecycle WHERE state = 'in_arena'").fetchone()
        for (clone_id,) in conn.execute("SELECT clone_id FROM promotion_queue ORDER BY passed_ms, clone_id "
                                        "LIMIT ?", (max(slots - occupied, 0),)).fetchall():
            lifecycle.transition(conn, clone_id, "in_arena", "promoted: an arena slot was open", ts_ms,
                                 in_transaction=True)
            conn.execute("DELETE FROM promotion_queue WHERE clone_id = ?", (clone_id,))
            promoted.append(clone_id)
    return promoted
