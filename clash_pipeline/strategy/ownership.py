"""Who owns a clone (the address that created it), changes to its public profile, and the owner's working draft
of its graph. Reads of a clone's strategy go through the owner check of the shell that serves them;
nothing here returns a graph to anyone but the caller who asks by clone id."""

from __future__ import annotations

import json
import sqlite3

from clash_pipeline.memory.db import transaction
from clash_pipeline.strategy import identity
from clash_pipeline.strategy.graph import StrategyGraph, TradingCloneBlock
from clash_pipeline.timeutil import now_ms


def set_owner(conn: sqlite3.Connection, clone_id: int, address: str, ts_ms: int | None = None) -> None:
    """Record the owner once; a clone never changes hands."""
    with transaction(conn):
        conn.execute("INSERT INTO clone_owners VALUES (?, ?, ?) ON CONFLICT (clone_id) DO NOTHING",
                     (clone_id, address, ts_ms or now_ms()))


def owner_of(conn: sqlite3.Connection, clone_id: int) -> str | None:
    """The owner's address; KeyError for an unknown clone, None for a clone created outside the API (CLI)."""
    row = conn.execute("SELECT o.owner_address FROM clones c LEFT JOIN clone_owners o USING (clone_id) "
                       "WHERE c.clone_id = ?", (clone_id,)).fetchone()
    if row is None:
        raise KeyError(f"no clone {clone_id}")
    return row[0]


def clones_of(conn: sqlite3.Connection, address: str, after: int = 0, limit: int = 50) -> list[int]:
    return [c for (c,) in conn.execute("SELECT clone_id FROM clone_owners WHERE owner_address = ? AND clone_id > ? "
                                       "ORDER BY clone_id LIMIT ?", (address, after, limit))]


def update_profile(conn: sqlite3.Connection, clone_id: int, *, name: str | None = None,
                   bio: str | None = None, avatar_url: str | None = None) -> None:
    """Change the public identity; the same rules as at creation (`identity`: IdentityInvalid names the field),
    a look-alike of another clone's name refused. A field given as None keeps its value."""
    row = conn.execute("SELECT name, avatar_url, bio FROM clones WHERE clone_id = ?", (clone_id,)).fetchone()
    if row is None:
        raise KeyError(f"no clone {clone_id}")
    public = identity.normalize(row[0] if name is None else name, row[1] if avatar_url is None else avatar_url,
                                row[2] if bio is None else bio)
    with transaction(conn):
        identity.refuse_lookalike(conn, public, clone_id)
        conn.execute("UPDATE clones SET name = ?, avatar_url = ?, bio = ?, name_skeleton = ?, name_fold_skeleton = ? "
                     "WHERE clone_id = ?", (public.name, public.avatar_url, public.bio, *public.skeletons, clone_id))


def save_draft(conn: sqlite3.Connection, clone_id: int, draft: dict, ts_ms: int | None = None) -> None:
    """Keep the owner's working copy as given (it may be invalid: validation is a separate step)."""
    with transaction(conn):
        conn.execute("INSERT INTO clone_drafts VALUES (?, ?, ?) ON CONFLICT (clone_id) DO UPDATE SET "
                     "graph_json = excluded.graph_json, updated_ms = excluded.updated_ms",
                     (clone_id, json.dumps(draft, sort_keys=True), ts_ms or now_ms()))


def get_draft(conn: sqlite3.Connection, clone_id: int) -> tuple[dict, int] | None:
    row = conn.execute("SELECT graph_json, updated_ms FROM clone_drafts WHERE clone_id = ?", (clone_id,)).fetchone()
    return (json.loads(row[0]), row[1]) if row else None


def with_run_state(graph: StrategyGraph, run_state: str) -> StrategyGraph:
    """The same graph with every Trading Clone Block set to `run_state` (running / paused): the runtime decides
    only for running clone blocks, so pausing and resuming is a new version."""
    blocks = [b.model_copy(update={"run_state": run_state}) if isinstance(b, TradingCloneBlock) else b
              for b in graph.blocks]
    return graph.model_copy(update={"blocks": blocks})


def run_state(graph: StrategyGraph) -> str:
    states = {b.run_state for b in graph.blocks if isinstance(b, TradingCloneBlock)}
    return "running" if "running" in states else (states.pop() if len(states) == 1 else "paused")
