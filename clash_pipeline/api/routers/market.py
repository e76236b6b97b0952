"""Market data: the category catalog (public), the asset universe and an asset's latest data (signed in), and a
clone's own packet for one of its assets (owner)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query

from clash_pipeline.api import pagination, views
from clash_pipeline.api.deps import Ctx, User, owned
from clash_pipeline.api.problems import Problem
from clash_pipeline.strategy import plan_cache, store
from clash_pipeline.strategy.graph import GraphInvalid
from clash_pipeline.strategy.modes import custom_graph
from clash_pipeline.strategy.packet import build_packet
from clash_pipeline.universe.counts import category_counts

router = APIRouter(prefix="/api/v1", tags=["market"])
LATEST_PRESETS = {"hyperliquid": "full", "polymarket": "prediction_markets", "defillama": "macro"}  # as the CLI


@router.get("/categories", summary="The category catalog with asset counts (public)")
def categories(ctx: Ctx) -> dict:
    return category_counts(ctx.conn())


@router.get("/assets", summary="The asset universe with categories (signed in)")
def assets(user: User, ctx: Ctx, cursor: str | None = None, category: str | None = None,
           limit: Annotated[int, Query(ge=1, le=pagination.MAX_LIMIT)] = pagination.DEFAULT_LIMIT) -> dict:
    rows = ctx.conn().execute(
        "SELECT a.coin, a.display_name, a.kind, a.dex, a.max_leverage, a.is_delisted, "
        "(SELECT json_group_array(json_object('category', c.category, 'subcategory', c.subcategory)) "
        " FROM asset_categories c WHERE c.coin = a.coin) FROM hl_assets a "
        "WHERE a.coin > ? AND (? IS NULL OR a.coin IN (SELECT coin FROM asset_categories WHERE category = ?)) "
        "ORDER BY a.coin LIMIT ?", (pagination.decode(cursor, ""), category, category, limit + 1)).fetchall()
    items = [{"coin": c, "displayName": n, "kind": k, "dex": d, "maxLeverage": lev, "delisted": bool(dl),
              "categories": json.loads(cats)} for c, n, k, d, lev, dl, cats in rows]
    return pagination.page(items, limit, lambda i: i["coin"])


@router.get("/assets/{symbol:path}/latest", summary="An asset's latest data from every source (signed in)")
def asset_latest(symbol: str, user: User, ctx: Ctx, asOf: str | None = None) -> dict:
    conn = ctx.conn()
    try:
        _, compiled = store.validate(conn, custom_graph([symbol], LATEST_PRESETS))
    except GraphInvalid as error:
        raise Problem(404, f"no asset {symbol!r}: {error.problems[0].message}", "path.symbol") from None
    return build_packet(conn, compiled.asset_plans()[0], views.as_of(asOf, ctx.clock()))


@router.get("/clones/{clone_id}/assets/{coin:path}/latest",
            summary="What one of my clone's assets receives: its plan's packet as of a time (owner)")
def clone_asset_latest(clone_id: int, coin: str, user: User, ctx: Ctx, asOf: str | None = None,
                       version: Annotated[int | None, Query(ge=1)] = None) -> dict:
    conn = ctx.conn()
    owned(ctx, user, clone_id)
    compiled, _ = plan_cache.clone_plans(conn, clone_id, version)
    plans = [p for p in compiled.asset_plans() if coin in (p.coin, p.symbol)]
    if not plans:
        raise Problem(404, f"clone {clone_id} does not trade {coin!r}", "path.coin")
    when = views.as_of(asOf, ctx.clock())
    return {"packets": [build_packet(conn, plan, when) for plan in plans]}
