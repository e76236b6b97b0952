"""Clones and their graphs, for their owner: create (Basic, Custom, Power), list, read with layout (ETag), drafts,
validate, publish as a new immutable version, preview, pause, resume, retire, and the public profile."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from clash_pipeline.api import pagination, views
from clash_pipeline.api.deps import Ctx, User, owned
from clash_pipeline.api.problems import Problem
from clash_pipeline.api.siwe import iso_ms
from clash_pipeline.arena.addresses import checksum_address
from clash_pipeline.arena.audition import promote
from clash_pipeline.arena.careers import retire
from clash_pipeline.arena.payouts import set_payout_address
from clash_pipeline.strategy import modes, ownership, plan_cache, store
from clash_pipeline.strategy.graph import GraphInvalid
from clash_pipeline.strategy.packet import build_packet

router = APIRouter(prefix="/api/v1", tags=["clones"])
Engine = Literal["hold", "rules", "openai"]
Risk = Literal["low", "medium", "high"]
TEXT_BOUND = 2_000  # bounds the input; the identity rules (32-character names, 280-character bios) are the core's


class BasicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    risk: Risk = "medium"
    category: str = Field("Crypto", max_length=64)
    subcategory: str | None = Field("Layer 1", max_length=64)
    cadence: str = "15m"
    engine: Engine = "rules"


class CustomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assets: list[str] = Field(min_length=1, max_length=200)
    presets: dict[str, str] = {"hyperliquid": "price_action", "defillama": "macro"}
    cadence: str = "15m"
    risk: Risk = "medium"
    engine: Engine = "rules"


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=TEXT_BOUND)
    description: str | None = Field(None, max_length=TEXT_BOUND)
    avatarUrl: str | None = Field(None, max_length=2048)
    creatorAddress: str | None = Field(None, max_length=42)


class CreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=TEXT_BOUND)
    mode: Literal["basic", "custom", "power"]
    description: str | None = Field(None, max_length=TEXT_BOUND)
    avatarUrl: str | None = Field(None, max_length=2048)
    creatorAddress: str | None = Field(None, max_length=42)
    basic: BasicIn | None = None
    custom: CustomIn | None = None
    graph: dict[str, Any] | None = None


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Literal["draft", "version"] = "draft"
    version: int | None = Field(None, ge=1)
    asOf: str | None = None
    maxAssets: int = Field(20, ge=1, le=200)


def _graph_of(body: CreateIn):
    if body.mode == "basic":
        b = body.basic or BasicIn()
        try:
            return modes.basic_graph(b.risk, b.category, b.subcategory, b.cadence, b.engine)
        except ValueError as error:
            raise Problem(422, str(error), "body.basic") from None
    if body.mode == "custom":
        if body.custom is None:
            raise Problem(422, "mode custom needs custom.assets", "body.custom")
        c = body.custom
        return modes.custom_graph(c.assets, c.presets, c.cadence, c.risk, c.engine)
    if body.graph is None:
        raise Problem(422, "mode power needs a graph", "body.graph")
    return body.graph


@router.post("/clones", status_code=201, summary="Create a clone in Basic, Custom or Power mode")
def create(body: CreateIn, user: User, ctx: Ctx) -> dict:
    conn = ctx.conn()
    creator = checksum_address(body.creatorAddress or user.address, "payout address")  # checked before any write
    clone = store.create_clone(conn, body.name, _graph_of(body), body.mode, body.avatarUrl, body.description)
    clone_id = clone.identity.clone_id
    ownership.set_owner(conn, clone_id, user.address, ctx.clock())
    set_payout_address(conn, clone_id, creator)
    return views.owner_view(conn, clone_id)


@router.get("/clones", summary="My clones")
def mine(user: User, ctx: Ctx, cursor: str | None = None,
         limit: Annotated[int, Query(ge=1, le=pagination.MAX_LIMIT)] = pagination.DEFAULT_LIMIT) -> dict:
    conn = ctx.conn()
    ids = ownership.clones_of(conn, user.address, int(pagination.decode(cursor, 0)), limit + 1)
    return pagination.page([views.owner_view(conn, c) for c in ids], limit, lambda v: v["cloneId"])


@router.get("/clones/{clone_id}", summary="One of my clones")
def one(clone_id: int, user: User, ctx: Ctx) -> dict:
    return views.owner_view(ctx.conn(), owned(ctx, user, clone_id))


@router.get("/clones/{clone_id}/versions", summary="Every stored version (newest first)")
def versions(clone_id: int, user: User, ctx: Ctx) -> dict:
    rows = ctx.conn().execute("SELECT version, strategy_hash, created_ms FROM graph_versions WHERE clone_id = ? "
                              "ORDER BY version DESC", (owned(ctx, user, clone_id),)).fetchall()
    return {"items": [{"version": v, "strategyHash": h, "createdAt": iso_ms(t)} for v, h, t in rows]}


@router.get("/clones/{clone_id}/graph", summary="A version's graph with its layout (ETag; If-None-Match gives 304)")
def graph(clone_id: int, user: User, ctx: Ctx, response: Response, version: Annotated[int | None, Query(ge=1)] = None,
          if_none_match: Annotated[str | None, Header()] = None) -> Any:
    owned(ctx, user, clone_id)
    try:
        clone = store.get_clone(ctx.conn(), clone_id, version)
    except KeyError as error:
        raise Problem(404, str(error.args[0]), "query.version") from None
    etag = f'"c{clone_id}-v{clone.version}-{clone.graph.strategy_hash()[:16]}"'
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return {"cloneId": clone_id, "version": clone.version, "controlMode": clone.control_mode,
            "graph": clone.graph.model_dump(mode="json")}


@router.put("/clones/{clone_id}/draft", summary="Save the working draft (blocks, edges, layout); not validated")
def save_draft(clone_id: int, user: User, ctx: Ctx, draft: Annotated[dict[str, Any], Body()]) -> dict:
    ownership.save_draft(ctx.conn(), owned(ctx, user, clone_id), draft, ctx.clock())
    return {"cloneId": clone_id, "savedAt": iso_ms(ctx.clock())}


def _draft(ctx: Ctx, clone_id: int) -> dict:
    found = ownership.get_draft(ctx.conn(), clone_id)
    if found is None:
        raise Problem(404, f"clone {clone_id} has no draft: PUT one first", "path.clone_id")
    return found[0]


@router.get("/clones/{clone_id}/draft", summary="The working draft")
def get_draft(clone_id: int, user: User, ctx: Ctx) -> dict:
    return {"cloneId": clone_id, "graph": _draft(ctx, owned(ctx, user, clone_id))}


def _validation(ctx: Ctx, graph: dict) -> dict:
    try:
        _, compiled = store.validate(ctx.conn(), graph)
    except GraphInvalid as error:
        return {"valid": False, "problems": [{"blockId": p.block_id, "field": p.field, "message": p.message}
                                             for p in error.problems]}
    return {"valid": True, "problems": [], "summary": compiled.summary()}


@router.post("/clones/{clone_id}/draft/validate", summary="Every problem of the draft, by block id and field")
def validate_draft(clone_id: int, user: User, ctx: Ctx) -> dict:
    return _validation(ctx, _draft(ctx, owned(ctx, user, clone_id)))


@router.post("/graphs/validate", summary="Validate a graph given in the body (nothing is stored)")
def validate_graph(user: User, ctx: Ctx, graph: Annotated[dict[str, Any], Body()]) -> dict:
    return _validation(ctx, graph)


@router.post("/clones/{clone_id}/draft/publish", status_code=201,
             summary="Store the draft as a new immutable version and make it active")
def publish(clone_id: int, user: User, ctx: Ctx) -> dict:
    store.add_version(ctx.conn(), owned(ctx, user, clone_id), _draft(ctx, clone_id))
    return views.owner_view(ctx.conn(), clone_id)


@router.post("/clones/{clone_id}/preview", summary="Compiled read plans and effective context packets as of a time")
def preview(clone_id: int, user: User, ctx: Ctx, body: PreviewIn = PreviewIn()) -> dict:
    conn = ctx.conn()
    owned(ctx, user, clone_id)
    if body.source == "draft":
        _, compiled = store.validate(conn, _draft(ctx, clone_id))
    else:
        try:
            compiled, _ = plan_cache.clone_plans(conn, clone_id, body.version)
        except KeyError as error:
            raise Problem(404, str(error.args[0]), "body.version") from None
    when = views.as_of(body.asOf, ctx.clock(), "body.asOf")
    plans = compiled.asset_plans()
    return {"asOf": iso_ms(when), "plan": compiled.as_dict(), "assets": len(plans),
            "packets": [build_packet(conn, plan, when) for plan in plans[: body.maxAssets]]}


def _new_run_state(ctx: Ctx, clone_id: int, state: str) -> dict:
    conn = ctx.conn()
    clone = store.get_clone(conn, clone_id)
    if clone.identity.status == "retired":
        raise Problem(409, f"clone {clone_id} is retired")
    if ownership.run_state(clone.graph) != state:
        store.add_version(conn, clone_id, ownership.with_run_state(clone.graph, state))
    return views.owner_view(conn, clone_id)


@router.post("/clones/{clone_id}/pause", summary="Pause: a new version whose Trading Clone Block is paused")
def pause(clone_id: int, user: User, ctx: Ctx) -> dict:
    return _new_run_state(ctx, owned(ctx, user, clone_id), "paused")


@router.post("/clones/{clone_id}/resume", summary="Resume: a new version whose Trading Clone Block runs")
def resume(clone_id: int, user: User, ctx: Ctx) -> dict:
    return _new_run_state(ctx, owned(ctx, user, clone_id), "running")


@router.post("/clones/{clone_id}/retire", summary="Retire (final): the career is archived, the arena slot opens")
def retire_clone(clone_id: int, user: User, ctx: Ctx) -> dict:
    retire(ctx.conn(), ctx.outbox(), owned(ctx, user, clone_id), "owner request", ctx.clock())
    return views.owner_view(ctx.conn(), clone_id)


@router.patch("/clones/{clone_id}/profile", summary="Set the public profile and the creator payout address")
def profile(clone_id: int, body: ProfileIn, user: User, ctx: Ctx) -> dict:
    conn = ctx.conn()
    owned(ctx, user, clone_id)
    creator = None if body.creatorAddress is None else checksum_address(body.creatorAddress, "payout address")
    ownership.update_profile(conn, clone_id, name=body.name, bio=body.description, avatar_url=body.avatarUrl)
    if creator:
        set_payout_address(conn, clone_id, creator)
        promote(conn, ctx.clock(), ctx.api.arena.slots)  # a passed clone waiting for a payout address may enter
    return views.owner_view(conn, clone_id)
