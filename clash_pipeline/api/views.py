"""Shapes shared by routers: a clone as its owner sees it, and as the public sees it (identity and results only)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from clash_pipeline.api.problems import Problem
from clash_pipeline.api.siwe import iso_ms
from clash_pipeline.arena import lifecycle
from clash_pipeline.strategy import ownership, store
from clash_pipeline.timeutil import to_ms


def owner_view(conn: sqlite3.Connection, clone_id: int) -> dict:
    clone = store.get_clone(conn, clone_id)
    return {**public_identity(conn, clone_id), "controlMode": clone.control_mode, "activeVersion": clone.version,
            "runState": ownership.run_state(clone.graph), "strategyHash": clone.graph.strategy_hash()}


def public_identity(conn: sqlite3.Connection, clone_id: int) -> dict:
    row = conn.execute("SELECT clone_id, name, avatar_url, bio, status, creator, created_ms FROM clones "
                       "WHERE clone_id = ?", (clone_id,)).fetchone()
    if row is None:
        raise Problem(404, f"no clone {clone_id}", "path.clone_id")
    return {"cloneId": row[0], "key": store.partition_key(row[0]), "name": row[1], "avatarUrl": row[2],
            "description": row[3], "status": row[4], "creatorAddress": row[5], "createdAt": iso_ms(row[6]),
            "lifecycle": lifecycle.state(conn, clone_id)}


def as_of(value: str | None, now: int, field: str = "query.asOf") -> int:
    """Milliseconds or an ISO time (default now)."""
    if value is None or value == "":
        return now
    if value.isdigit():
        return int(value)
    try:
        return to_ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise Problem(422, f"not ms or an ISO time: {value[:40]!r}", field) from None


def iso(ms: int | None) -> str | None:
    return iso_ms(ms) if ms is not None else None
