"""Contracts of Hyperliquid `info` responses beyond their models' per-field ranges (see models.py).

- candleSnapshot: every row's `s` and `i` are the requested coin and interval; low <= open, close <= high (so
  high >= low) and close time after open time; one row per open time (an exact repeat is tolerated).
- fundingHistory: every row's `coin` is the requested coin; one row per hour.
- l2Book: `coin` is the requested coin; best bid < best ask (not crossed or locked); one level per price a side.
- meta, metaAndAssetCtxs: asset names unique in the universe; margin table ids unique.
- spotMeta, spotMetaAndAssetCtxs: pair names and indexes unique, token indexes unique, one context per pair.
- predictedFundings, perpDexs, perpCategories, perpConciseAnnotations: one entry per coin (or dex).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from clash_pipeline.sources.contracts import identity, no_conflicting_duplicates, no_duplicates
from clash_pipeline.sources.errors import Violation
from clash_pipeline.sources.hyperliquid.models import L2Book, MetaAndAssetCtxs, PerpMeta, SpotMeta, SpotMetaAndAssetCtxs
from clash_pipeline.timeutil import HOUR_MS


def candles(rows: list[dict], request: dict) -> None:
    """The hot path: one loop over the rows; a second look only to name what failed. Without a coin or interval
    in the request, every row must agree with the first."""
    if not rows:
        return
    req = request.get("req") or {}
    coin, interval = req.get("coin") or rows[0]["s"], req.get("interval") or rows[0]["i"]
    times = set()
    for c in rows:
        low, high = c["l"], c["h"]
        if c["s"] != coin or c["i"] != interval or not (low <= c["o"] <= high and low <= c["c"] <= high) \
                or c["T"] <= c["t"]:
            _name_bad_candle(rows, coin, interval)
        times.add(c["t"])
    if len(times) != len(rows):
        no_conflicting_duplicates(rows, itemgetter("t"), "t", "open time")


def _name_bad_candle(rows: list[dict], coin: str, interval: str) -> None:
    identity(rows, "s", coin, "coin")
    identity(rows, "i", interval, "interval")
    index, row = next((i, r) for i, r in enumerate(rows)
                      if not (r["l"] <= r["o"] <= r["h"] and r["l"] <= r["c"] <= r["h"] and r["T"] > r["t"]))
    if row["T"] <= row["t"]:
        raise Violation(f"{index}.T", f"close time {row['T']} not after open time {row['t']}")
    raise Violation(f"{index}.h", f"not low <= open, close <= high (o={row['o']} h={row['h']} l={row['l']} c={row['c']})")


def funding_history(rows: list[dict], request: dict) -> None:
    identity(rows, "coin", request.get("coin"), "coin")
    no_conflicting_duplicates(rows, lambda r: r["time"] - r["time"] % HOUR_MS, "time", "funding hour")


def l2_book(book: L2Book, request: dict) -> None:
    coin = request.get("coin")
    if coin is not None and book.coin != coin:
        raise Violation("coin", f"{book.coin!r} but the request asked for coin {coin!r}")
    for side, levels in enumerate(book.levels):
        no_duplicates(levels, lambda level: level["px"], "px", "price level", f"levels.{side}.")
    bids, asks = book.levels
    if bids and asks:
        best_bid, best_ask = max(level["px"] for level in bids), min(level["px"] for level in asks)
        if best_bid >= best_ask:
            raise Violation("levels", f"crossed book: best bid {best_bid} >= best ask {best_ask}")


def _perp_meta(meta: PerpMeta, prefix: str = "") -> None:
    no_duplicates(meta.universe, lambda asset: asset.name, "name", "asset", f"{prefix}universe.")
    no_duplicates(meta.marginTables, lambda table: table[0], "0", "margin table id", f"{prefix}marginTables.")


def _spot_meta(meta: SpotMeta, prefix: str = "") -> None:
    no_duplicates(meta.universe, lambda pair: pair.name, "name", "pair", f"{prefix}universe.")
    no_duplicates(meta.universe, lambda pair: pair.index, "index", "pair index", f"{prefix}universe.")
    no_duplicates(meta.tokens, lambda token: token.index, "index", "token index", f"{prefix}tokens.")


def meta(value: PerpMeta, request: dict) -> None:
    _perp_meta(value)


def meta_and_ctxs(value: MetaAndAssetCtxs, request: dict) -> None:
    _perp_meta(value.meta, "meta.")


def spot_meta(value: SpotMeta, request: dict) -> None:
    _spot_meta(value)


def spot_meta_and_ctxs(value: SpotMetaAndAssetCtxs, request: dict) -> None:
    _spot_meta(value.meta, "meta.")
    no_duplicates(value.ctxs, lambda ctx: ctx.coin, "coin", "context coin", "ctxs.")


def one_per_coin(rows: list[Any], request: dict) -> None:
    no_duplicates(rows, lambda row: row[0], "0", "coin")


def perp_dexs(dexes: list[Any], request: dict) -> None:
    no_duplicates(dexes, lambda dex: None if dex is None else dex.name, "name", "dex")


CONTRACTS = {
    "candleSnapshot": candles,
    "fundingHistory": funding_history,
    "l2Book": l2_book,
    "meta": meta,
    "metaAndAssetCtxs": meta_and_ctxs,
    "spotMeta": spot_meta,
    "spotMetaAndAssetCtxs": spot_meta_and_ctxs,
    "predictedFundings": one_per_coin,
    "perpDexs": perp_dexs,
    "perpCategories": one_per_coin,
    "perpConciseAnnotations": one_per_coin,
}
