"""Compiled plans reused across runtimes, sensor evaluations and processes.

A clone version's plans come from the process LRU, else from its `clone_read_plans` row, else are compiled (and
the row written back, so the next process reuses them). A plan is reused only when it was compiled
- from the same stored graph: the sha256 of `graph_json`, the canonical strategy (every block field and edge, the
  layout aside), which is everything compilation reads from the graph;
- against the same universe: `universe_digest`, every field of the `Universe` compilation reads;
- by the same compiler: `COMPILER_SHA256`, the source of the modules compilation runs and of this stored form (a
  changed default, rule or format is never served an old plan; a change anywhere in them costs one recompile).

The row's `plan_json` is `pack`ed: each distinct read once, as its JSON text, which loading shares by (one `Read`
per distinct read in a process, whatever the number of clones holding it), asset plans by read index; the three
digests sit beside it. Loading `CompiledGraph.as_dict()` back would cost more than compiling.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import orjson

from clash_pipeline import timeutil
from clash_pipeline.memory.db import transaction
from clash_pipeline.strategy import catalog, graph, plan, selection
from clash_pipeline.strategy.graph import ExecutionControls, parse_graph
from clash_pipeline.strategy.plan import AssetPlan, CompiledGraph, PromptPlan, Read, compile_graph
from clash_pipeline.strategy.selection import Resolution, Universe
from clash_pipeline.timeutil import now_ms
from clash_pipeline.universe import vocabulary

log = logging.getLogger("clash_pipeline")
SHARED_PLANS = 4096  # distinct (graph, universe) pairs kept by a process
SHARED_READS = 100_000  # distinct reads kept by a process (then started over)
COMPILER_SHA256 = hashlib.sha256(b"".join(Path(source).read_bytes() for source in (
    catalog.__file__, graph.__file__, plan.__file__, selection.__file__, timeutil.__file__, vocabulary.__file__,
    __file__))).hexdigest()

Plans = tuple[CompiledGraph, dict]  # the compiled graph, and the graph's blocks by id
_SHARED: OrderedDict[tuple[str, str], Plans] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_READS: dict[str, Read] = {}  # a read's stored text -> the one Read of the process


def universe_digest(universe: Universe) -> str:
    """What compiling depends on in the universe, hashed: plans compiled against another universe are not reused."""
    return hashlib.sha256(repr((sorted(universe.kinds.items()), sorted(universe.names.items()),
                                sorted(universe.bases.items()), sorted(universe.delisted),
                                sorted((c, sorted(v)) for c, v in universe.categories.items()),
                                sorted(universe.shown.items()))).encode()).hexdigest()


def _shared_plans(key: tuple[str, str], value: Plans | None = None) -> Plans | None:
    """The process-wide LRU of plans by (graph hash, universe digest): get (value None) or put."""
    with _SHARED_LOCK:
        if value is None:
            found = _SHARED.get(key)
            if found is not None:
                _SHARED.move_to_end(key)
            return found
        _SHARED[key] = value
        while len(_SHARED) > SHARED_PLANS:
            _SHARED.popitem(last=False)
        return value


def clone_plans(conn: sqlite3.Connection, clone_id: int, version: int | None = None, universe: Universe | None = None,
                digest: str | None = None, *, refresh: bool = False) -> Plans:
    """A clone version's (the active one by default) plans and blocks against `universe` (loaded when not given;
    `digest` is its `universe_digest`). `refresh`: the clone_read_plans row is rewritten unless it was just read.
    KeyError for an unknown clone or version; GraphInvalid for a graph that no longer parses or resolves."""
    row = conn.execute(
        "SELECT version, graph_json FROM graph_versions WHERE clone_id = ? AND version = "
        "COALESCE(?, (SELECT active_version FROM clones WHERE clone_id = ?))", (clone_id, version, clone_id)).fetchone()
    if row is None:
        raise KeyError(f"no clone {clone_id}" if version is None else f"clone {clone_id} has no version {version}")
    version, graph_json = row
    universe = Universe.load(conn) if universe is None else universe
    key = (hashlib.sha256(graph_json.encode()).hexdigest(), digest or universe_digest(universe))
    found = _shared_plans(key)
    if found is not None:
        if refresh:
            _save(conn, clone_id, version, found[0], key)
        return found
    parsed = parse_graph(json.loads(graph_json))  # read and validated as get_clone does (layout is never compiled)
    compiled = _stored_plan(conn, clone_id, version, key)
    if compiled is None:
        compiled = compile_graph(parsed, universe)
        _save(conn, clone_id, version, compiled, key)
    return _shared_plans(key, (compiled, {b.id: b for b in parsed.blocks}))


def _stored_plan(conn: sqlite3.Connection, clone_id: int, version: int, key: tuple[str, str]) -> CompiledGraph | None:
    """The clone version's clone_read_plans plan if it was compiled from the same graph, against the same universe
    and by this compiler; None if not, or if the row does not read back (an old or damaged row)."""
    row = conn.execute("SELECT plan_json FROM clone_read_plans WHERE clone_id = ? AND version = ?",
                       (clone_id, version)).fetchone()
    if row is None:
        return None
    try:
        data = orjson.loads(row[0])
        if any(data.get(name) != digest for name, digest in _digests(key).items()):
            return None
        return unpack(data)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):  # JSON, pydantic errors are ValueErrors
        log.warning("clone %s version %s: its stored read plan does not read back; compiling", clone_id, version)
        return None


def _digests(key: tuple[str, str]) -> dict[str, str]:
    """What a stored plan carries beside its plans, and must match to be reused."""
    return {"graph_sha256": key[0], "universe_sha256": key[1], "compiler_sha256": COMPILER_SHA256}


def _save(conn: sqlite3.Connection, clone_id: int, version: int, compiled: CompiledGraph,
          key: tuple[str, str]) -> None:
    """Upsert the clone version's clone_read_plans row, in the caller's transaction if one is open; a database
    that refuses the write (read-only, busy) only costs the next process a compile."""
    plan_json = orjson.dumps({**pack(compiled), **_digests(key)}).decode()
    upsert = ("INSERT INTO clone_read_plans VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (clone_id, version) DO UPDATE SET "
              "strategy_hash = excluded.strategy_hash, plan_json = excluded.plan_json, "
              "enabled_assets = excluded.enabled_assets, compiled_ms = excluded.compiled_ms")
    values = (clone_id, version, compiled.strategy_hash, plan_json, len({a.coin for a in compiled.asset_plans()}),
              now_ms())
    try:
        if conn.in_transaction:
            conn.execute(upsert, values)
        else:
            with transaction(conn):
                conn.execute(upsert, values)
    except sqlite3.Error as error:
        log.warning("clone %s version %s: read plan not stored (%s)", clone_id, version, error)


def pack(compiled: CompiledGraph) -> dict:
    """The stored form of a compiled graph (JSON-ready): its distinct reads as JSON texts, asset plans by index."""
    texts: dict[str, int] = {}

    def index(read: Read) -> int:
        fields = {f.name: getattr(read, f.name) for f in dataclasses.fields(read)}  # not its cached properties
        return texts.setdefault(orjson.dumps(fields).decode(), len(texts))

    prompts = [{"prompt_id": p.prompt_id, "engine": p.engine, "model": p.model, "cadence": p.cadence,
                "controls": p.controls.model_dump(),
                "assets": [{"coin": a.coin, "symbol": a.symbol, "name": a.name, "reads": [index(r) for r in a.reads],
                            "skipped": a.skipped} for a in p.assets]} for p in compiled.prompts]
    return {"strategy_hash": compiled.strategy_hash, "reads": list(texts), "prompts": prompts,
            "resolutions": {block: {"enabled": r.enabled, "reasons": r.reasons}
                            for block, r in compiled.resolutions.items()}}


def unpack(data: dict) -> CompiledGraph:
    """The compiled graph of its `pack`ed form (JSON-loaded): lossless; KeyError, IndexError, TypeError or
    ValueError on a document of another shape."""
    reads = [_read(text) for text in data["reads"]]
    prompts = tuple(PromptPlan(
        p["prompt_id"], p["engine"], p["model"], p["cadence"], ExecutionControls.model_validate(p["controls"]),
        tuple(AssetPlan(p["prompt_id"], a["coin"], a["symbol"], tuple(reads[i] for i in a["reads"]), a["name"],
                        tuple((channel, why) for channel, why in a["skipped"])) for a in p["assets"]))
        for p in data["prompts"])
    return CompiledGraph(data["strategy_hash"], prompts, {block: Resolution(r["enabled"], r["reasons"])
                                                          for block, r in data["resolutions"].items()})


def _read(text: str) -> Read:
    """The Read of a stored read text, shared by every plan of the process that holds the same read."""
    read = _READS.get(text)
    if read is None:
        fields = orjson.loads(text)
        read = Read(**{**fields, "columns": tuple(fields["columns"]), "tiebreak": tuple(fields["tiebreak"]),
                       "filters": tuple((fragment, tuple(params)) for fragment, params in fields["filters"])})
        if len(_READS) >= SHARED_READS:
            _READS.clear()
        _READS[text] = read
    return read
