"""The clone lifecycle: an explicit state machine; every transition is an event with its time and cause; an
illegal transition is refused with a clear error and changes nothing."""

from __future__ import annotations

import sqlite3

from clash_pipeline.memory.db import transaction

STATES = ("created", "audition_fee_paid", "auditioning", "passed", "failed", "queued", "in_arena", "retired")
TRANSITIONS = {
    "created": {"audition_fee_paid", "retired"},
    "audition_fee_paid": {"auditioning", "retired"},
    # resumed after its process died (auditioning again), or abandoned (the paid fee stands for a new audition)
    "auditioning": {"passed", "failed", "auditioning", "audition_fee_paid"},
    "passed": {"queued", "retired"},
    "failed": {"audition_fee_paid", "retired"},  # a failed clone may pay for another audition
    "queued": {"in_arena", "retired"},
    "in_arena": {"retired"},
    "retired": set(),
}


class IllegalTransition(ValueError):
    pass


def state(conn: sqlite3.Connection, clone_id: int) -> str:
    row = conn.execute("SELECT state FROM clone_lifecycle WHERE clone_id = ?", (clone_id,)).fetchone()
    if row is None:
        if not conn.execute("SELECT 1 FROM clones WHERE clone_id = ?", (clone_id,)).fetchone():
            raise KeyError(f"no clone {clone_id}")
        return "created"
    return row[0]


def transition(conn: sqlite3.Connection, clone_id: int, to_state: str, cause: str, ts_ms: int,
               in_transaction: bool = False) -> str:
    """Move a clone to `to_state`; IllegalTransition (and no change) if the machine does not allow it."""
    current = state(conn, clone_id)
    if to_state not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final)"
        raise IllegalTransition(f"clone {clone_id} cannot go from {current} to {to_state}; from {current} it may "
                                f"go to: {allowed}")

    def write() -> None:
        conn.execute("INSERT INTO clone_lifecycle VALUES (?, ?, ?) ON CONFLICT (clone_id) DO UPDATE SET "
                     "state = excluded.state, changed_ms = excluded.changed_ms", (clone_id, to_state, ts_ms))
        conn.execute("INSERT INTO lifecycle_events (clone_id, from_state, to_state, cause, ts_ms) VALUES "
                     "(?, ?, ?, ?, ?)", (clone_id, current, to_state, cause, ts_ms))
        if to_state == "retired":
            conn.execute("UPDATE clones SET status = 'retired' WHERE clone_id = ?", (clone_id,))

    if in_transaction:
        write()
    else:
        with transaction(conn):
            write()
    return to_state


def history(conn: sqlite3.Connection, clone_id: int) -> list[dict]:
    return [{"from": f, "to": t, "cause": c, "ts_ms": ts} for f, t, c, ts in conn.execute(
        "SELECT from_state, to_state, cause, ts_ms FROM lifecycle_events WHERE clone_id = ? ORDER BY event_id",
        (clone_id,))]
