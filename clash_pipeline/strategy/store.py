"""Clones in SQLite: a public identity, and a private strategy as immutable, numbered graph versions with one
active. A graph is validated (structure and asset resolution) before anything is stored."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from clash_pipeline.memory.db import transaction
from clash_pipeline.strategy import identity
from clash_pipeline.strategy.graph import GraphInvalid, Problem, StrategyGraph, parse_graph
from clash_pipeline.strategy.plan import CompiledGraph, compile_graph
from clash_pipeline.strategy.selection import Universe
from clash_pipeline.timeutil import now_ms

CONTROL_MODES = ("basic", "custom", "power")


@dataclass(frozen=True)
class PublicIdentity:
    clone_id: int
    name: str
    avatar_url: str | None
    bio: str | None
    status: str

    @property
    def key(self) -> str:
        return partition_key(self.clone_id)


def partition_key(clone_id: int) -> str:
    """A stable, sortable Dagster partition key: c000042."""
    return f"c{clone_id:06d}"


def clone_id_of(key: str) -> int:
    if not (key.startswith("c") and key[1:].isdigit()):
        raise ValueError(f"not a clone key: {key!r} (expected like c000042)")
    return int(key[1:])


@dataclass(frozen=True)
class Clone:
    identity: PublicIdentity
    control_mode: str
    version: int
    graph: StrategyGraph


def _graph_row(graph: StrategyGraph) -> tuple[str, str, str]:
    strategy = json.loads(graph.canonical_json())
    return json.dumps(strategy, sort_keys=True), graph.layout.model_dump_json(), graph.strategy_hash()


def validate(conn: sqlite3.Connection, graph: StrategyGraph | dict) -> tuple[StrategyGraph, CompiledGraph]:
    """Parse (if needed) and compile against the current universe; GraphInvalid lists every problem."""
    graph = graph if isinstance(graph, StrategyGraph) else parse_graph(graph)
    return graph, compile_graph(graph, Universe.load(conn))


def create_clone(conn: sqlite3.Connection, name: str, graph: StrategyGraph | dict, control_mode: str,
                 avatar_url: str | None = None, bio: str | None = None) -> Clone:
    if control_mode not in CONTROL_MODES:
        raise GraphInvalid([Problem("-", "control_mode", f"must be one of {list(CONTROL_MODES)}")])
    public = identity.normalize(name, avatar_url, bio)  # IdentityInvalid names the field
    graph, _ = validate(conn, graph)
    stamp = now_ms()
    with transaction(conn):
        identity.refuse_lookalike(conn, public)
        cursor = conn.execute("INSERT INTO clones (name, avatar_url, bio, control_mode, active_version, created_ms, "
                              "name_skeleton, name_fold_skeleton) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                              (public.name, public.avatar_url, public.bio, control_mode, stamp, *public.skeletons))
        clone_id = cursor.lastrowid
        conn.execute("INSERT INTO graph_versions VALUES (?, 1, ?, ?, ?, ?)", (clone_id, *_graph_row(graph), stamp))
    return get_clone(conn, clone_id)


def add_version(conn: sqlite3.Connection, clone_id: int, graph: StrategyGraph | dict) -> Clone:
    """Store a new immutable version and make it active (opening a Basic or Custom clone as Power User edits it
    this way)."""
    graph, _ = validate(conn, graph)
    with transaction(conn):
        (version,) = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM graph_versions WHERE clone_id = ?",
                                  (clone_id,)).fetchone()
        conn.execute("INSERT INTO graph_versions VALUES (?, ?, ?, ?, ?, ?)",
                     (clone_id, version, *_graph_row(graph), now_ms()))
        conn.execute("UPDATE clones SET active_version = ? WHERE clone_id = ?", (version, clone_id))
    return get_clone(conn, clone_id)


def get_clone(conn: sqlite3.Connection, clone_id: int, version: int | None = None) -> Clone:
    row = conn.execute("SELECT clone_id, name, avatar_url, bio, status, control_mode, active_version FROM clones "
                       "WHERE clone_id = ?", (clone_id,)).fetchone()
    if row is None:
        raise KeyError(f"no clone {clone_id}")
    version = version or row[6]
    stored = conn.execute("SELECT graph_json, layout_json FROM graph_versions WHERE clone_id = ? AND version = ?",
                          (clone_id, version)).fetchone()
    if stored is None:
        raise KeyError(f"clone {clone_id} has no version {version}")
    graph = parse_graph({**json.loads(stored[0]), "layout": json.loads(stored[1])})
    return Clone(PublicIdentity(*row[:5]), row[5], version, graph)


def list_public(conn: sqlite3.Connection, status: str | None = None) -> list[PublicIdentity]:
    """Public identities only: never a graph or a prompt."""
    rows = conn.execute("SELECT clone_id, name, avatar_url, bio, status FROM clones "
                        "WHERE (? IS NULL OR status = ?) ORDER BY clone_id", (status, status)).fetchall()
    return [PublicIdentity(*row) for row in rows]
