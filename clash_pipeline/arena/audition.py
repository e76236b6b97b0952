"""Auditions: a paid clone runs a 24-hour synthetic audition on a fresh account through the paper-trading runtime;
the evaluation is deterministic and explained criterion by criterion. A passing clone enters the promotion queue.

Default criteria (configurable, each bounded): return >= 0% (the profit target), max drawdown <= 10%, at least 3
trades, and a reliability (share of decisions that were not failed or malformed) of at least 90%, over 24 hours
(1 to 168).

An audition runs forward: the clock's step (`advance_auditions`, the arena tick) decides and marks each of its ticks
as time passes them, priced at that tick, and gives the verdict when its hours end. Over stored history
(`run_audition` without `now_ms`) the whole window is decided at once through the same path.

An audition whose process died leaves the clone `auditioning`: `resume` runs the rest of its window up to now
(decisions already made are not made again) and evaluates it once over; `abandon` gives it up and the paid fee
stands for a new one.
A clone enters the arena only with a valid creator payout address; without one it waits in the queue.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import asdict, dataclass

from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.arena import lifecycle
from clash_pipeline.arena.addresses import payout_address_or_none
from clash_pipeline.arena.payments import PaymentConflict, describe, payment_ref, recorded_as
from clash_pipeline.memory.db import transaction
from clash_pipeline.decisions.backtest import simulate
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.metrics import account_metrics
from clash_pipeline.strategy.catalog import CADENCES
from clash_pipeline.timeutil import HOUR_MS, interval_ms, iso

MAX_HOURS = 168  # a week
NO_PAYOUT = "no valid creator payout address (set one: clash lifecycle set-payout CLONE --address 0x...)"


class AuditionError(ValueError):
    pass


def _number(name: str, value: object, low: float, high: float, whole: bool = False) -> None:
    kind = "a whole number" if whole else "a number"
    ok = isinstance(value, int) if whole else isinstance(value, int | float) and math.isfinite(value)
    if isinstance(value, bool) or not ok or not low <= value <= high:
        raise AuditionError(f"audition {name}: must be {kind} from {low:g} to {high:g}, not {value!r}")


@dataclass(frozen=True)
class AuditionCriteria:
    profit_target_pct: float = 0.0
    max_drawdown_pct: float = 10.0
    min_trades: int = 3
    min_reliability: float = 0.9
    hours: int = 24
    cadence: str = "15m"

    def __post_init__(self) -> None:
        _number("hours", self.hours, 1, MAX_HOURS, whole=True)
        _number("profit target %", self.profit_target_pct, -100, 1000)
        _number("max drawdown %", self.max_drawdown_pct, 0, 100)
        _number("min trades", self.min_trades, 0, 10_000, whole=True)
        _number("min reliability", self.min_reliability, 0, 1)
        if self.cadence not in CADENCES:
            raise AuditionError(f"audition cadence: must be one of {', '.join(CADENCES)}, not {self.cadence!r}")


def check_window(start_ms: int, hours: int, earliest_ms: int, now_ms: int) -> None:
    """An audition starts no earlier than `earliest_ms` and no later than `now_ms`; the part of its window that
    lies in stored history is decided at once, the rest tick by tick as the clock passes (`advance_auditions`)."""
    if start_ms < earliest_ms:
        raise AuditionError(f"audition start {iso(start_ms)} is before the history start {iso(earliest_ms)} "
                            "(CLASH_HISTORY_START)")
    if start_ms > now_ms:
        raise AuditionError(f"audition start {iso(start_ms)} is after now ({iso(now_ms)}): an audition starts at "
                            "or before now")


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


def pay_fee(conn: sqlite3.Connection, clone_id: int, ref: str, ts_ms: int) -> bool:
    """Record a clone's audition fee once per payment reference: True when recorded now, False when this
    payment was already recorded for this clone (nothing changes); PaymentConflict if it paid for something else."""
    ref = payment_ref(ref)
    with transaction(conn):
        recorded = recorded_as(conn, ref)
        if recorded == ("fee", (clone_id,)):
            return False
        if recorded:
            raise PaymentConflict(f"payment ref {ref!r} already recorded {describe(*recorded)}: not the audition "
                                  f"fee of clone {clone_id}; nothing recorded")
        lifecycle.transition(conn, clone_id, "audition_fee_paid", f"audition fee paid ({ref})", ts_ms,
                             in_transaction=True)
        conn.execute("INSERT INTO audition_fees VALUES (?, ?, ?)", (ref, clone_id, ts_ms))
    return True


def start_audition(conn: sqlite3.Connection, clone_id: int, start_ms: int,
                   criteria: AuditionCriteria = AuditionCriteria()) -> int:
    """Open the audition of a clone whose fee is paid, on a fresh account (context `audition:<id>`): its ticks are
    decided as the clock passes them (`advance_auditions`). Returns the audition id."""
    with transaction(conn):
        if (current := lifecycle.state(conn, clone_id)) != "audition_fee_paid":  # (auditioning again is a resume)
            hint = ("; a stranded one is resumed or abandoned by command" if current == "auditioning" else
                    ": an audition starts once its fee is paid")
            raise lifecycle.IllegalTransition(f"clone {clone_id} cannot start an audition: it is {current}{hint}")
        lifecycle.transition(conn, clone_id, "auditioning", "audition started", start_ms, in_transaction=True)
        (audition_id,) = conn.execute(
            "INSERT INTO auditions (clone_id, start_ms, end_ms, status, criteria_json) VALUES (?, ?, ?, 'running', ?) "
            "RETURNING audition_id", (clone_id, start_ms, start_ms + criteria.hours * HOUR_MS,
                                      json.dumps(asdict(criteria)))).fetchone()
        Broker(conn).account(clone_id, f"audition:{audition_id}", start_ms)  # a fresh account, standard equity
    return audition_id


def run_audition(conn: sqlite3.Connection, outbox: Outbox, clone_id: int, start_ms: int,
                 criteria: AuditionCriteria = AuditionCriteria(), slots: int = 4, now_ms: int | None = None) -> dict:
    """Audition a clone whose fee is paid from `start_ms`: decide its ticks up to `now_ms` (default: the whole
    window, over stored history) and, once its hours are over, evaluate it and queue (and promote, if a slot is
    open) a passing clone. An audition whose window goes past now goes on tick by tick with the clock."""
    audition_id = start_audition(conn, clone_id, start_ms, criteria)
    return advance(conn, outbox, audition_id, start_ms + criteria.hours * HOUR_MS if now_ms is None else now_ms,
                   slots)


def advance_auditions(conn: sqlite3.Connection, outbox: Outbox, now_ms: int, slots: int = 4) -> list[dict]:
    """The clock's step for auditions: every running audition decides and marks each of its ticks up to `now_ms`
    (priced at that tick) and gets its verdict once its hours are over."""
    running = [a for (a,) in conn.execute("SELECT audition_id FROM auditions WHERE status = 'running' AND start_ms <= ? "
                                          "ORDER BY audition_id", (now_ms,)).fetchall()]
    return [advance(conn, outbox, audition_id, now_ms, slots) for audition_id in running]


def stranded(conn: sqlite3.Connection, clone_id: int) -> tuple[int, int]:
    """The running audition (id, end) of an `auditioning` clone; AuditionError if there is none."""
    current = lifecycle.state(conn, clone_id)
    row = conn.execute("SELECT audition_id, end_ms FROM auditions WHERE clone_id = ? AND status = 'running' "
                       "ORDER BY audition_id DESC LIMIT 1", (clone_id,)).fetchone()
    if current != "auditioning" or row is None:
        raise AuditionError(f"clone {clone_id} has no audition to resume or abandon (it is {current})")
    return row


def resume(conn: sqlite3.Connection, outbox: Outbox, clone_id: int, now_ms: int, slots: int = 4) -> dict:
    """Run the rest of a stranded audition's window and evaluate it (only for an audition whose process died:
    the runtime skips the decisions it already made)."""
    audition_id, _ = stranded(conn, clone_id)
    lifecycle.transition(conn, clone_id, "auditioning", f"audition {audition_id} resumed", now_ms)
    return advance(conn, outbox, audition_id, now_ms, slots)


def abandon(conn: sqlite3.Connection, clone_id: int, reason: str, now_ms: int) -> dict:
    """Give up a stranded audition: it ends `abandoned`; the clone's paid fee stands for a new audition."""
    with transaction(conn):
        audition_id, _ = stranded(conn, clone_id)
        conn.execute("UPDATE auditions SET status = 'abandoned', evaluation_json = ?, finished_ms = ? WHERE "
                     "audition_id = ?", (json.dumps({"abandoned": reason}), now_ms, audition_id))
        lifecycle.transition(conn, clone_id, "audition_fee_paid", f"audition {audition_id} abandoned ({reason}): the "
                             "paid fee stands for a new audition", now_ms, in_transaction=True)
    return {"audition_id": audition_id, "clone_id": clone_id, "status": "abandoned", "reason": reason,
            "state": "audition_fee_paid"}


def advance(conn: sqlite3.Connection, outbox: Outbox, audition_id: int, now_ms: int, slots: int = 4) -> dict:
    """Decide and mark an audition's ticks from its last marked one up to `now_ms` (decisions already made are not
    made again); once its hours are over, evaluate it (the verdict), queue a passing clone and promote."""
    clone_id, start_ms, end_ms, stored = conn.execute(
        "SELECT clone_id, start_ms, end_ms, criteria_json FROM auditions WHERE audition_id = ?",
        (audition_id,)).fetchone()
    criteria, label = AuditionCriteria(**json.loads(stored)), f"audition:{audition_id}"
    account = conn.execute("SELECT account_id FROM paper_accounts WHERE clone_id = ? AND context_label = ?",
                           (clone_id, label)).fetchone()[0]
    (marked,) = conn.execute("SELECT MAX(ts_ms) FROM equity_curve WHERE account_id = ?", (account,)).fetchone()
    # It goes on after its last marked tick (ticks before it were decided and marked).
    simulate(conn, outbox, [clone_id], label, start_ms if marked is None else marked + 1, min(now_ms, end_ms),
             criteria.cadence)
    metrics = account_metrics(conn, account).as_dict()
    if now_ms < end_ms:
        (ticks,) = conn.execute("SELECT COUNT(*) FROM equity_curve WHERE account_id = ?", (account,)).fetchone()
        return {"audition_id": audition_id, "clone_id": clone_id, "status": "running", "ticks": ticks,
                "ticks_total": criteria.hours * HOUR_MS // interval_ms(criteria.cadence) + 1, "metrics": metrics}
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
    return {"audition_id": audition_id, "clone_id": clone_id, "status": "passed" if passed else "failed",
            "passed": passed, "criteria": rows, "metrics": metrics}


def promote(conn: sqlite3.Connection, ts_ms: int, slots: int) -> list[int]:
    """Fill open arena slots from the queue: first passed, first promoted; ties by clone id. A clone without a
    valid creator payout address is passed over (it waits; the clones behind it are not held back)."""
    promoted = []
    with transaction(conn):
        (occupied,) = conn.execute("SELECT COUNT(*) FROM clone_lifecycle WHERE state = 'in_arena'").fetchone()
        for clone_id, creator in conn.execute("SELECT q.clone_id, c.creator FROM promotion_queue q JOIN clones c "
                                              "USING (clone_id) ORDER BY q.passed_ms, q.clone_id").fetchall():
            if len(promoted) >= slots - occupied:
                break
            if payout_address_or_none(creator) is None:
                continue
            lifecycle.transition(conn, clone_id, "in_arena", "promoted: an arena slot was open", ts_ms,
                                 in_transaction=True)
            conn.execute("DELETE FROM promotion_queue WHERE clone_id = ?", (clone_id,))
            promoted.append(clone_id)
    return promoted


def queue(conn: sqlite3.Connection) -> list[dict]:
    """The promotion queue in order, each clone with what it waits for."""
    rows = conn.execute("SELECT q.clone_id, c.name, q.passed_ms, c.creator FROM promotion_queue q JOIN clones c "
                        "USING (clone_id) ORDER BY q.passed_ms, q.clone_id").fetchall()
    return [{"clone_id": c, "name": n, "passed_ms": p, "payout_address": payout_address_or_none(a),
             "waiting_for": "an open arena slot" if payout_address_or_none(a) else NO_PAYOUT} for c, n, p, a in rows]
