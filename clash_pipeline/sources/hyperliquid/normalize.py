"""Turn parsed Hyperliquid responses into market-memory rows (see sql/ for the tables)."""

from __future__ import annotations

from collections.abc import Iterable

from clash_pipeline.sources.hyperliquid.models import (
    Candle,
    FundingRow,
    L2Book,
    MetaAndAssetCtxs,
    PerpMeta,
    SpotMetaAndAssetCtxs,
)
from clash_pipeline.timeutil import HOUR_MS

SPOT_ASSET_OFFSET = 10_000
BUILDER_DEX_OFFSET = 100_000


def candle_rows(candles: Iterable[Candle], start_ms: int = 0, end_ms: int = 2**62) -> list[tuple]:
    """Rows of the candles opening in [start_ms, end_ms), in one pass."""
    return [(c["s"], c["i"], c["t"], c["T"], c["o"], c["h"], c["l"], c["c"], c["v"], c["n"]) for c in candles
            if start_ms <= c["t"] < end_ms]


def funding_rows(rows: Iterable[FundingRow]) -> list[tuple]:
    """Keyed on the hour: the API stamps funding a few milliseconds past it."""
    return [(r["coin"], r["time"] - r["time"] % HOUR_MS, r["time"], r["fundingRate"], r["premium"]) for r in rows]


def perp_asset_rows(meta: PerpMeta, dex: str, dex_index: int, updated_ms: int, collateral: str | None) -> list[tuple]:
    """Asset rows for one perp dex. The asset id is the index in the universe (builder dexes: offset by dex)."""
    offset = 0 if not dex else BUILDER_DEX_OFFSET + dex_index * 10_000
    rows = []
    for index, asset in enumerate(meta.universe):
        isolated = asset.onlyIsolated or asset.marginMode in ("strictIsolated", "noCross")
        rows.append((
            asset.name, "perp", dex, offset + index, asset.name, None, collateral, asset.szDecimals,
            asset.maxLeverage, asset.marginTableId, int(isolated), int(asset.isDelisted), updated_ms,
        ))
    return rows


def margin_tier_rows(meta: PerpMeta, dex: str) -> list[tuple]:
    """Margin tiers. Table ids below 50 that the API leaves out are one tier at that leverage."""
    rows = [
        (dex, table_id, tier.lowerBound, tier.maxLeverage, table.description)
        for table_id, table in meta.marginTables
        for tier in table.marginTiers
    ]
    listed = {table_id for table_id, _ in meta.marginTables}
    implied = {a.marginTableId for a in meta.universe if a.marginTableId is not None and a.marginTableId < 50}
    rows += [(dex, table_id, 0.0, table_id, f"implied single tier {table_id}x") for table_id in sorted(implied - listed)]
    return rows


def spot_asset_rows(spot: SpotMetaAndAssetCtxs, updated_ms: int) -> list[tuple]:
    """Spot pairs by their API name (`@index` or `PURR/USDC`); lot size is the base token's szDecimals."""
    tokens = {token.index: token for token in spot.meta.tokens}
    rows = []
    for pair in spot.meta.universe:
        base, quote = tokens.get(pair.tokens[0]), tokens.get(pair.tokens[1])
        if base is None or quote is None:
            continue
        rows.append((
            pair.name, "spot", "", SPOT_ASSET_OFFSET + pair.index, f"{base.name}/{quote.name}", base.name, quote.name,
            base.szDecimals, None, None, 0, 0, updated_ms,
        ))
    return rows


def perp_ctx_rows(snapshot: MetaAndAssetCtxs, ts_ms: int) -> list[tuple]:
    """Context rows joined to metadata by name (ctxs[i] belongs to universe[i] of the same response)."""
    rows = []
    for asset, ctx in zip(snapshot.meta.universe, snapshot.ctxs, strict=True):
        impact = ctx.impactPxs or (None, None)
        rows.append((
            asset.name, ts_ms, ctx.markPx, ctx.oraclePx, ctx.midPx, ctx.prevDayPx, ctx.funding, ctx.premium,
            ctx.openInterest, ctx.dayNtlVlm, ctx.dayBaseVlm, impact[0], impact[1], None,
        ))
    return rows


def spot_ctx_rows(spot: SpotMetaAndAssetCtxs, ts_ms: int) -> list[tuple]:
    """Spot context rows, joined to pairs on `ctx.coin == pair.name`, never by position."""
    pairs = {pair.name for pair in spot.meta.universe}
    return [
        (ctx.coin, ts_ms, ctx.markPx, None, ctx.midPx, ctx.prevDayPx, None, None, None, ctx.dayNtlVlm,
         ctx.dayBaseVlm, None, None, ctx.circulatingSupply)
        for ctx in spot.ctxs
        if ctx.coin in pairs
    ]


def book_level_rows(book: L2Book) -> list[tuple]:
    """Levels in best-first order per side (bids by price descending, asks ascending), whatever the input order."""
    bids = sorted(book.levels[0], key=lambda level: -level["px"])
    asks = sorted(book.levels[1], key=lambda level: level["px"])
    return [
        (book.coin, book.time, side, i, level["px"], level["sz"], level["n"])
        for side, levels in (("bid", bids), ("ask", asks))
        for i, level in enumerate(levels)
    ]
