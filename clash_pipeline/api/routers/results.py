"""A clone's results, for its owner: decision runs (filtered, paginated) and one run's story, run-once, paper
accounts with positions, equity curve, metrics and model cost, and backtests."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from clash_pipeline.api import pagination, views
from clash_pipeline.api.deps import Ctx, User, owned
from clash_pipeline.api.problems import Problem
from clash_pipeline.api.siwe import iso_ms
from clash_pipeline.decisions.runtime import DecisionRuntime
from clash_pipeline.decisions.service import run_story
from clash_pipeline.decisions.backtest import run_backtest
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.metrics import account_metrics, reconcile
from clash_pipeline.timeutil import DAY_MS

router = APIRouter(prefix="/api/v1/clones/{clone_id}", tags=["results"])
Verdict = Literal["running", "held", "rejected", "ordered", "failed"]
Limit = Annotated[int, Query(ge=1, le=pagination.MAX_LIMIT)]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: str | None = Field(None, max_length=64)
    force: bool = False


class BacktestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str
    end: str
    cadence: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "15m"


def _run_row(row: tuple) -> dict:
    run_id, coin, tick, status, engine, model, finished, reply, error, action = row
    return {"runId": run_id, "asset": coin, "tickAt": iso_ms(tick), "tickMs": tick, "verdict": status,
            "engine": engine, "model": model, "finishedAt": views.iso(finished), "replyStatus": reply,
            "error": error, "action": action}


@router.post("/decisions/run", summary="Decide what is due now for this clone (force: run even if this tick ran)")
def run_once(clone_id: int, user: User, ctx: Ctx, body: RunIn = RunIn()) -> dict:
    owned(ctx, user, clone_id)
    report = DecisionRuntime(ctx.conn(), ctx.outbox(), clock=ctx.clock, worker="api").tick(
        [clone_id], body.asset, body.force)
    return {"due": report.due, "claimed": report.claimed, "counts": report.counts(),
            "runs": [{"runId": o.run_id, "asset": o.due.coin, "verdict": o.status, "error": o.error}
                     for o in report.outcomes]}


@router.get("/runs", summary="Decision runs, newest first; filter by asset, time and verdict")
def runs(clone_id: int, user: User, ctx: Ctx, asset: str | None = None, since: str | None = None,
         until: str | None = None, verdict: Verdict | None = None, cursor: str | None = None,
         limit: Limit = pagination.DEFAULT_LIMIT) -> dict:
    owned(ctx, user, clone_id)
    now = ctx.clock()
    start = views.as_of(since, 0, "query.since")
    end = views.as_of(until, now, "query.until") if until else None
    before = int(pagination.decode(cursor, 2**62))
    rows = ctx.conn().execute(
        "SELECT r.run_id, r.coin, r.tick_ms, r.status, r.engine, r.model, r.finished_ms, r.reply_status, r.error, "
        "a.action FROM decision_runs r LEFT JOIN decision_actions a USING (run_id) WHERE r.clone_id = ? "
        "AND r.run_id < ? AND (? IS NULL OR r.coin = ?) AND r.tick_ms >= ? AND (? IS NULL OR r.tick_ms <= ?) "
        "AND (? IS NULL OR r.status = ?) ORDER BY r.run_id DESC LIMIT ?",
        (clone_id, before, asset, asset, start, end, end, verdict, verdict, limit + 1)).fetchall()
    return pagination.page([_run_row(r) for r in rows], limit, lambda r: r["runId"])


@router.get("/runs/{run_id}", summary="One run's story: packet, prompt, reply, gates, order, fill, events")
def story(clone_id: int, run_id: int, user: User, ctx: Ctx) -> dict:
    owned(ctx, user, clone_id)
    conn = ctx.conn()
    row = conn.execute("SELECT clone_id FROM decision_runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None or row[0] != clone_id:
        raise Problem(404, f"clone {clone_id} has no run {run_id}", "path.run_id")
    result = run_story(conn, ctx.outbox(), run_id)
    order = result["order"]
    result["fills"] = [dict(zip(("fill_id", "cause", "coin", "side", "size", "price", "fee_micro", "source", "ts_ms"),
                                f)) for f in conn.execute(
        "SELECT fill_id, cause, coin, side, size, price, fee_micro, source, ts_ms FROM paper_fills "
        "WHERE order_id = ?", (order["order_id"],))] if order else []
    return result


def _accounts(ctx: Ctx, clone_id: int) -> list[tuple[int, str, int, str | None]]:
    return ctx.conn().execute("SELECT account_id, context_label, stopped, stop_reason FROM paper_accounts "
                              "WHERE clone_id = ? ORDER BY account_id", (clone_id,)).fetchall()


@router.get("/accounts", summary="Paper accounts with metrics, positions and the ledger check")
def accounts(clone_id: int, user: User, ctx: Ctx) -> dict:
    owned(ctx, user, clone_id)
    conn, broker = ctx.conn(), Broker(ctx.conn())
    items = []
    for account_id, context, stopped, reason in _accounts(ctx, clone_id):
        positions = [{"asset": coin, "size": str(p.size), "entryPrice": str(p.entry),
                      "stopLoss": None if p.stop_loss is None else str(p.stop_loss),
                      "takeProfit": None if p.take_profit is None else str(p.take_profit)}
                     for coin, p in broker.positions(account_id).items()]
        items.append({"accountId": account_id, "context": context, "stopped": bool(stopped), "stopReason": reason,
                      "metrics": account_metrics(conn, account_id).as_dict(),
                      "reconciliation": reconcile(conn, account_id), "positions": positions})
    return {"items": items}


@router.get("/accounts/{account_id}/equity", summary="An account's equity curve, oldest first (cursor pages)")
def equity(clone_id: int, account_id: int, user: User, ctx: Ctx, cursor: str | None = None,
           limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> dict:
    owned(ctx, user, clone_id)
    if account_id not in [a for a, *_ in _accounts(ctx, clone_id)]:
        raise Problem(404, f"clone {clone_id} has no account {account_id}", "path.account_id")
    rows = ctx.conn().execute(
        "SELECT ts_ms, equity_micro, balance_micro, unrealized_micro, drawdown_pct, exposure_usd FROM equity_curve "
        "WHERE account_id = ? AND ts_ms > ? ORDER BY ts_ms LIMIT ?",
        (account_id, int(pagination.decode(cursor, -1)), limit + 1)).fetchall()
    items = [{"at": iso_ms(t), "ts_ms": t, "equityMicro": e, "balanceMicro": b, "unrealizedMicro": u,
              "drawdownPct": d, "exposureUsd": x} for t, e, b, u, d, x in rows]
    return pagination.page(items, limit, lambda i: i["ts_ms"])


@router.get("/costs", summary="Model cost: runs, tokens and latency by engine and model")
def costs(clone_id: int, user: User, ctx: Ctx) -> dict:
    owned(ctx, user, clone_id)
    rows = ctx.conn().execute(
        "SELECT engine, COALESCE(model, ''), COUNT(*), COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0), "
        "AVG(latency_ms) FROM decision_runs WHERE clone_id = ? GROUP BY engine, model ORDER BY engine, model",
        (clone_id,)).fetchall()
    return {"items": [{"engine": e, "model": m or None, "runs": n, "tokensIn": i, "tokensOut": o,
                       "averageLatencyMs": None if lat is None else round(lat, 1)} for e, m, n, i, o, lat in rows]}


def _backtest(row: tuple) -> dict:
    backtest_id, start, end, cadence, metrics, digest, created = row
    return {"backtestId": backtest_id, "start": iso_ms(start), "end": iso_ms(end), "cadence": cadence,
            "metrics": json.loads(metrics) if metrics else None, "resultSha256": digest,
            "createdAt": iso_ms(created)}


BACKTEST_COLUMNS = "backtest_id, start_ms, end_ms, cadence, metrics_json, result_sha256, created_ms"


@router.post("/backtests", status_code=201, summary="Run a backtest over stored history (bounded in length)")
def launch_backtest(clone_id: int, body: BacktestIn, user: User, ctx: Ctx) -> dict:
    owned(ctx, user, clone_id)
    start, end = views.as_of(body.start, 0, "body.start"), views.as_of(body.end, 0, "body.end")
    if end <= start:
        raise Problem(422, "end must be after start", "body.end")
    if end - start > ctx.api.max_backtest_days * DAY_MS:
        raise Problem(422, f"at most {ctx.api.max_backtest_days} days", "body.end")
    result = run_backtest(ctx.conn(), ctx.outbox(), clone_id, start, end, body.cadence)
    return backtest(clone_id, result["backtest_id"], user, ctx)


@router.get("/backtests", summary="This clone's backtests, newest first")
def backtests(clone_id: int, user: User, ctx: Ctx) -> dict:
    owned(ctx, user, clone_id)
    rows = ctx.conn().execute(f"SELECT {BACKTEST_COLUMNS} FROM backtests WHERE clone_id = ? ORDER BY backtest_id DESC",
                              (clone_id,)).fetchall()
    return {"items": [_backtest(r) for r in rows]}


@router.get("/backtests/{backtest_id}", summary="One backtest with its metrics")
def backtest(clone_id: int, backtest_id: int, user: User, ctx: Ctx) -> dict:
    owned(ctx, user, clone_id)
    row = ctx.conn().execute(f"SELECT {BACKTEST_COLUMNS} FROM backtests WHERE clone_id = ? AND backtest_id = ?",
                             (clone_id, backtest_id)).fetchone()
    if row is None:
        raise Problem(404, f"clone {clone_id} has no backtest {backtest_id}", "path.backtest_id")
    return _backtest(row)
