"""The product loop: audition fees (payments with idempotency keys) and auditions, the arena, races, live
standings, tickets, settlement receipts, the leaderboard, the Hall of Fame, and public profiles. Public views carry
public identity and results only."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from clash_pipeline.api import pagination, views
from clash_pipeline.api.deps import ApiContext, Ctx, User, owned
from clash_pipeline.api.problems import Problem
from clash_pipeline.api.siwe import iso_ms
from clash_pipeline.arena import lifecycle
from clash_pipeline.arena import audition
from clash_pipeline.arena.audition import check_window, pay_fee, run_audition
from clash_pipeline.arena.careers import career, hall_of_fame, leaderboard, race_results
from clash_pipeline.arena.races import Arena
from clash_pipeline.arena.payments import PaymentConflict, payment_ref
from clash_pipeline.arena.settlement import TICKET_WEI
from clash_pipeline.memory.db import transaction
from clash_pipeline.paper.metrics import account_metrics
from clash_pipeline.strategy import store
from clash_pipeline.timeutil import HOUR_MS, day_start_ms

router = APIRouter(prefix="/api/v1", tags=["arena"])
IdempotencyKey = Annotated[str, Header(min_length=8, max_length=128, alias="Idempotency-Key",
                                       description="one key per payment: a retry with it returns the first answer")]
Limit = Annotated[int, Query(ge=1, le=pagination.MAX_LIMIT)]


class FeePaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paymentRef: str = Field(min_length=1, max_length=128, description="the payment's reference (e.g. a tx hash)")
    amountWei: str = Field(pattern=r"^[0-9]{1,40}$", description="must equal the quoted fee")


class AuditionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str | None = Field(None, description="ms or ISO; default: the last audition window before now")


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cloneId: int
    paymentRef: str = Field(min_length=1, max_length=128)
    raceId: str | None = Field(None, max_length=32, description="default: the race accumulating tickets now")


def _arena(ctx: ApiContext) -> Arena:
    return Arena(ctx.conn(), ctx.outbox(), ctx.api.arena)


def _replayed(ctx: ApiContext, payer: str, key: str, request_hash: str, response: Response) -> dict | None:
    row = ctx.conn().execute("SELECT request_sha256, response_json FROM api_payments WHERE payer = ? AND "
                             "idempotency_key = ?", (payer, key)).fetchone()
    if row is None:
        return None
    if row[0] != request_hash:
        raise Problem(422, "this Idempotency-Key was used with a different request", "header.Idempotency-Key")
    response.headers["Idempotent-Replayed"] = "true"
    return json.loads(row[1])


def _request_hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _ref(value: str) -> str:
    try:
        return payment_ref(value, "paymentRef")
    except ValueError as error:
        raise Problem(422, str(error), "body.paymentRef") from None


def _record(ctx: ApiContext, payer: str, key: str, kind: str, request_hash: str, clone_id: int, ref: str,
            amount_wei: int, answer: dict) -> None:
    with transaction(ctx.conn()):
        ctx.conn().execute(
            "INSERT INTO api_payments (payer, idempotency_key, kind, request_sha256, clone_id, payment_ref, amount_wei, "
            "response_json, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (payer, key, kind, request_hash, clone_id, ref, str(amount_wei), json.dumps(answer), ctx.clock()))


@router.get("/audition/fees", summary="The audition fee by control mode, in wei (public)")
def fees(ctx: Ctx) -> dict:
    return {"currency": "ETH", "feesWei": {mode: str(wei) for mode, wei in ctx.api.audition_fees_wei.items()}}


@router.post("/clones/{clone_id}/audition/payments", status_code=201,
             summary="Record the audition fee payment (once per Idempotency-Key)")
def pay_audition_fee(clone_id: int, body: FeePaymentIn, user: User, ctx: Ctx, response: Response,
                     idempotency_key: IdempotencyKey) -> dict:
    conn = ctx.conn()
    owned(ctx, user, clone_id)
    request_hash = _request_hash("audition_fee", clone_id, body.model_dump())
    if (previous := _replayed(ctx, user.address, idempotency_key, request_hash, response)) is not None:
        return previous
    ref = _ref(body.paymentRef)
    fee = ctx.api.audition_fees_wei[store.get_clone(conn, clone_id).control_mode]
    if int(body.amountWei) != fee:
        raise Problem(422, f"the audition fee is {fee} wei", "body.amountWei", quotedWei=str(fee))
    now = ctx.clock()
    pay_fee(conn, clone_id, ref, now)  # once per payment reference; a reference that paid for something else: 409
    answer = {"cloneId": clone_id, "paymentRef": ref, "amountWei": str(fee),
              "lifecycle": lifecycle.state(conn, clone_id), "paidAt": iso_ms(now)}
    _record(ctx, user.address, idempotency_key, "audition_fee", request_hash, clone_id, ref, fee, answer)
    return answer


@router.post("/clones/{clone_id}/audition", status_code=201,
             summary="Start the audition of a clone whose fee is paid (runs over stored history)")
def start_audition(clone_id: int, user: User, ctx: Ctx, body: AuditionIn = AuditionIn()) -> dict:
    owned(ctx, user, clone_id)
    criteria, now = ctx.api.audition, ctx.clock()
    start = views.as_of(body.start, now - now % HOUR_MS - criteria.hours * HOUR_MS, "body.start")
    check_window(start, criteria.hours, day_start_ms(ctx.settings.history_start), now)
    return run_audition(ctx.conn(), ctx.outbox(), clone_id, start, criteria, ctx.api.arena.slots)


@router.get("/clones/{clone_id}/audition", summary="Lifecycle state, its history, and every audition")
def audition_status(clone_id: int, user: User, ctx: Ctx) -> dict:
    conn = ctx.conn()
    owned(ctx, user, clone_id)
    rows = conn.execute("SELECT audition_id, start_ms, end_ms, status, evaluation_json FROM auditions "
                        "WHERE clone_id = ? ORDER BY audition_id DESC", (clone_id,)).fetchall()
    return {"cloneId": clone_id, "lifecycle": lifecycle.state(conn, clone_id),
            "history": lifecycle.history(conn, clone_id),
            "auditions": [{"auditionId": a, "start": iso_ms(s), "end": iso_ms(e), "status": st,
                           "evaluation": json.loads(ev) if ev else None} for a, s, e, st, ev in rows]}


@router.get("/arena", summary="Arena status: slots, the accumulating race, recent races (public)")
def arena_status(ctx: Ctx) -> dict:
    conn, arena = ctx.conn(), _arena(ctx)
    accumulating = arena.accumulating(ctx.clock())
    (occupied,) = conn.execute("SELECT COUNT(*) FROM clone_lifecycle WHERE state = 'in_arena'").fetchone()
    (queued,) = conn.execute("SELECT COUNT(*) FROM promotion_queue").fetchone()
    running = conn.execute("SELECT race_id FROM races WHERE status = 'running' ORDER BY start_ms DESC "
                           "LIMIT 1").fetchone()
    return {"slots": arena.config.slots, "occupied": occupied, "queued": queued,
            "accumulatingRace": accumulating, "runningRace": running[0] if running else None,
            "ticketWei": str(TICKET_WEI)}


def _public_clones(ctx: ApiContext, ids: list[int]) -> list[dict]:
    return [views.public_identity(ctx.conn(), c) for c in ids]


@router.get("/arena/queue", summary="The promotion queue: first passed, first promoted (public)")
def queue(ctx: Ctx) -> dict:
    return {"items": [{"position": i + 1, **views.public_identity(ctx.conn(), q["clone_id"]),
                       "passedAt": iso_ms(q["passed_ms"]), "waitingFor": q["waiting_for"]}
                      for i, q in enumerate(audition.queue(ctx.conn()))]}


def _race(ctx: ApiContext, race: str) -> dict:
    row = ctx.conn().execute("SELECT race_id, start_ms, end_ms, status, carry_in_wei FROM races WHERE race_id = ?",
                             (race,)).fetchone()
    if row is None:
        raise Problem(404, f"no race {race}", "path.race_id")
    (tickets,) = ctx.conn().execute("SELECT COUNT(*) FROM tickets WHERE race_id = ?", (race,)).fetchone()
    return {"raceId": row[0], "start": iso_ms(row[1]), "end": iso_ms(row[2]), "status": row[3],
            "carryInWei": row[4], "tickets": tickets, "salesWei": str(tickets * TICKET_WEI)}


@router.get("/arena/races", summary="Races, newest first (public)")
def races(ctx: Ctx, cursor: str | None = None, limit: Limit = 20) -> dict:
    before = pagination.decode(cursor, "9999")
    ids = [r for (r,) in ctx.conn().execute("SELECT race_id FROM races WHERE race_id < ? ORDER BY race_id DESC "
                                            "LIMIT ?", (before, limit + 1))]
    return pagination.page([_race(ctx, r) for r in ids], limit, lambda r: r["raceId"])


@router.get("/arena/races/accumulating", summary="The race accumulating tickets now (public)")
def accumulating(ctx: Ctx) -> dict:
    race_id = _arena(ctx).accumulating(ctx.clock())
    return {**_race(ctx, race_id), "standings": _standings(ctx, race_id)}


def _standings(ctx: ApiContext, race: str) -> list[dict]:
    """Accumulating: the arena's clones and their tickets so far. Running: each entrant's race account now, by
    return. Ended or settled: the final ranks."""
    conn = ctx.conn()
    status = _race(ctx, race)["status"]
    tickets = dict(conn.execute("SELECT clone_id, COUNT(*) FROM tickets WHERE race_id = ? GROUP BY clone_id",
                                (race,)).fetchall())
    if status in ("ended", "settled"):
        return [{**views.public_identity(conn, r["clone_id"]), "rank": r["rank"], "returnPct": r["return_pct"],
                 "maxDrawdownPct": r["max_drawdown_pct"], "trades": r["trades"], "tickets": r["tickets"]}
                for r in race_results(conn, race)]
    if status == "accumulating":
        ids = [c for (c,) in conn.execute("SELECT clone_id FROM clone_lifecycle WHERE state = 'in_arena' "
                                          "ORDER BY clone_id")]
        return [{**views.public_identity(conn, c), "rank": None, "returnPct": None, "maxDrawdownPct": None,
                 "trades": None, "tickets": tickets.get(c, 0)} for c in ids]
    rows = []
    for clone_id, account_id in conn.execute(
            "SELECT e.clone_id, a.account_id FROM race_entrants e JOIN paper_accounts a ON a.clone_id = e.clone_id "
            "AND a.context_label = 'race:' || e.race_id WHERE e.race_id = ? ORDER BY e.clone_id", (race,)).fetchall():
        m = account_metrics(conn, account_id)
        rows.append({**views.public_identity(conn, clone_id), "returnPct": m.return_pct,
                     "maxDrawdownPct": m.max_drawdown_pct, "trades": m.trades, "tickets": tickets.get(clone_id, 0),
                     "_equity": m.end_equity})
    rows.sort(key=lambda r: (-r["_equity"], r["maxDrawdownPct"], r["trades"], r["cloneId"]))  # the race's order
    return [{**{k: v for k, v in r.items() if k != "_equity"}, "rank": i + 1} for i, r in enumerate(rows)]


@router.get("/arena/races/{race_id}", summary="A race, its results and its settlement receipt (public)")
def race(race_id: str, ctx: Ctx) -> dict:
    stored = ctx.conn().execute("SELECT receipt_json FROM settlements WHERE race_id = ?", (race_id,)).fetchone()
    return {**_race(ctx, race_id), "standings": _standings(ctx, race_id),
            "settlement": json.loads(stored[0]) if stored else None}


@router.get("/arena/races/{race_id}/standings", summary="Live standings of a race (public)")
def standings(race_id: str, ctx: Ctx) -> dict:
    return {"raceId": race_id, "status": _race(ctx, race_id)["status"], "items": _standings(ctx, race_id)}


@router.get("/arena/races/{race_id}/settlement", summary="The settlement receipt of a settled race (public)")
def settlement(race_id: str, ctx: Ctx) -> dict:
    _race(ctx, race_id)
    stored = ctx.conn().execute("SELECT receipt_json FROM settlements WHERE race_id = ?", (race_id,)).fetchone()
    if stored is None:
        raise Problem(404, f"race {race_id} is not settled yet", "path.race_id")
    return json.loads(stored[0])


@router.post("/tickets", status_code=201, summary="Buy a ticket backing an arena clone (once per Idempotency-Key)")
def buy_ticket(body: TicketIn, user: User, ctx: Ctx, response: Response, idempotency_key: IdempotencyKey) -> dict:
    conn, arena, now = ctx.conn(), _arena(ctx), ctx.clock()
    race_id = body.raceId or arena.accumulating(now)
    request_hash = _request_hash("ticket", race_id, body.cloneId, body.paymentRef)
    if (previous := _replayed(ctx, user.address, idempotency_key, request_hash, response)) is not None:
        return previous
    ref = _ref(body.paymentRef)
    if not conn.execute("SELECT 1 FROM clones WHERE clone_id = ?", (body.cloneId,)).fetchone():
        raise Problem(404, f"no clone {body.cloneId}", "body.cloneId")
    try:
        ticket_id = arena.buy_ticket(race_id, body.cloneId, user.address, ref, now)
    except PaymentConflict:
        raise
    except ValueError as error:
        raise Problem(409, str(error), "body.raceId" if "race" in str(error) else "body.cloneId") from None
    answer = {"ticketId": ticket_id, "raceId": race_id, "cloneId": body.cloneId, "holder": user.address,
              "amountWei": str(TICKET_WEI), "paymentRef": ref, "boughtAt": iso_ms(now)}
    _record(ctx, user.address, idempotency_key, "ticket", request_hash, body.cloneId, ref, TICKET_WEI, answer)
    return answer


@router.get("/tickets/mine", summary="My tickets, newest first")
def my_tickets(user: User, ctx: Ctx, cursor: str | None = None, limit: Limit = pagination.DEFAULT_LIMIT) -> dict:
    rows = ctx.conn().execute(
        "SELECT t.ticket_id, t.race_id, t.clone_id, c.name, t.amount_wei, t.sold_ms, r.status FROM tickets t "
        "JOIN clones c USING (clone_id) JOIN races r USING (race_id) WHERE t.holder = ? AND t.ticket_id < ? "
        "ORDER BY t.ticket_id DESC LIMIT ?", (user.address, int(pagination.decode(cursor, 2**62)), limit + 1))
    items = [{"ticketId": t, "raceId": r, "cloneId": c, "cloneName": n, "amountWei": a, "boughtAt": iso_ms(s),
              "raceStatus": st} for t, r, c, n, a, s, st in rows]
    return pagination.page(items, limit, lambda i: i["ticketId"])


def _public_row(row: dict) -> dict:
    """Core public views use snake_case identity keys: the API's public shape."""
    rename = {"clone_id": "cloneId", "avatar_url": "avatarUrl", "bio": "description", "creator": "creatorAddress"}
    return {rename.get(k, k): v for k, v in row.items()}


@router.get("/leaderboard", summary="Arena clones by wins, then average race return (public)")
def board(ctx: Ctx) -> dict:
    return {"items": [{"rank": i + 1, **_public_row(r)} for i, r in enumerate(leaderboard(ctx.conn()))]}


@router.get("/hall-of-fame", summary="Retired careers, best first (public)")
def fame(ctx: Ctx) -> dict:
    return {"items": [_public_row(r) for r in hall_of_fame(ctx.conn())]}


@router.get("/profiles", summary="Public profiles of every clone (public)")
def profiles(ctx: Ctx, cursor: str | None = None, limit: Limit = pagination.DEFAULT_LIMIT) -> dict:
    ids = [c for (c,) in ctx.conn().execute("SELECT clone_id FROM clones WHERE clone_id > ? ORDER BY clone_id "
                                            "LIMIT ?", (int(pagination.decode(cursor, 0)), limit + 1))]
    return pagination.page(_public_clones(ctx, ids), limit, lambda c: c["cloneId"])


@router.get("/profiles/{clone_id}", summary="A clone's public profile and career (public)")
def profile(clone_id: int, ctx: Ctx) -> dict:
    identity = views.public_identity(ctx.conn(), clone_id)
    return {**identity, "career": _public_row({k: v for k, v in career(ctx.conn(), clone_id).items()
                                               if k != "clone_id"})}
