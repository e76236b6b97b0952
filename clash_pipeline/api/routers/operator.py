"""Operator routes: kill switches (global, per clone) and the health of workers and sources."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from clash_pipeline.api import views
from clash_pipeline.api.deps import Ctx, Operator
from clash_pipeline.api.problems import Problem
from clash_pipeline.api.siwe import iso_ms
from clash_pipeline.decisions.runtime import DecisionRuntime
from clash_pipeline.memory.db import transaction
from clash_pipeline.memory.status import memory_status

SOURCE_PREFIXES = {"hl": "hyperliquid", "pm": "polymarket", "dl": "defillama"}
router = APIRouter(prefix="/api/v1/internal", tags=["operator"])


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engaged: bool
    reason: str | None = Field(None, max_length=280)


def _switches(ctx: Ctx) -> list[dict]:
    return [{"scope": s, "engaged": bool(e), "reason": r, "updatedAt": iso_ms(t)} for s, e, r, t in ctx.conn().execute(
        "SELECT scope, engaged, reason, updated_ms FROM kill_switches ORDER BY scope")]


def _set(ctx: Ctx, user, scope: str, body: SwitchIn) -> dict:
    reason = body.reason or f"{'engaged' if body.engaged else 'released'} by operator {user.address}"
    with transaction(ctx.conn()):
        ctx.conn().execute("INSERT INTO kill_switches VALUES (?, ?, ?, ?) ON CONFLICT (scope) DO UPDATE SET "
                           "engaged = excluded.engaged, reason = excluded.reason, updated_ms = excluded.updated_ms",
                           (scope, int(body.engaged), reason, ctx.clock()))
    return next(s for s in _switches(ctx) if s["scope"] == scope)


@router.get("/kill-switches", summary="Every kill switch (operator)")
def switches(user: Operator, ctx: Ctx) -> dict:
    return {"items": _switches(ctx)}


@router.put("/kill-switches/global", summary="Engage or release the global kill switch (operator)")
def set_global(body: SwitchIn, user: Operator, ctx: Ctx) -> dict:
    return _set(ctx, user, "global", body)


@router.put("/kill-switches/clones/{clone_id}", summary="Engage or release one clone's kill switch (operator)")
def set_clone(clone_id: int, body: SwitchIn, user: Operator, ctx: Ctx) -> dict:
    views.public_identity(ctx.conn(), clone_id)  # 404 for an unknown clone
    return _set(ctx, user, f"clone:{clone_id}", body)


@router.get("/health/workers", summary="Workers and sources: last pull per source, last tick, queue depth (operator)")
def workers(user: Operator, ctx: Ctx) -> dict:
    conn, now = ctx.conn(), ctx.clock()
    tables = memory_status(conn)
    newest: dict[str, int] = {}
    for status in tables:  # a source's newest stored row: what its last successful pull brought
        source = SOURCE_PREFIXES.get(status.table.split("_", 1)[0])
        if source and status.last_ms is not None:
            newest[source] = max(newest.get(source, 0), status.last_ms)
    last_tick = conn.execute("SELECT MAX(claimed_ms), MAX(finished_ms) FROM decision_runs WHERE context_label = "
                             "'live'").fetchone()
    (running,) = conn.execute("SELECT COUNT(*) FROM decision_runs WHERE status = 'running'").fetchone()
    (pending, oldest) = conn.execute("SELECT COUNT(*), MIN(created_ms) FROM archive_objects WHERE status = "
                                     "'archive_pending'").fetchone()
    engaged = [s for s in _switches(ctx) if s["engaged"]]
    try:  # the queue depth: (clone, asset) decisions due now and not yet taken (read only)
        due = len(DecisionRuntime(conn, ctx.outbox(), clock=ctx.clock).due())
    except Exception as error:  # a clone whose graph no longer compiles must not hide the rest of the health
        due = f"unknown: {type(error).__name__}"
    return {
        "now": iso_ms(now),
        "sources": [{"source": source, "lastSuccessfulPullAt": views.iso(newest.get(source)),
                     "ageS": None if source not in newest else round((now - newest[source]) / 1000)}
                    for source in SOURCE_PREFIXES.values()],
        "tables": [{"table": s.table, "rows": s.rows, "lastAt": views.iso(s.last_ms)} for s in tables],
        "decisions": {"lastTickAt": views.iso(last_tick[0]), "lastFinishedAt": views.iso(last_tick[1]),
                      "runningRuns": running, "dueNow": due},
        "archiveOutbox": {"pending": pending, "oldestPendingAt": views.iso(oldest)},
        "killSwitches": engaged,
    }
