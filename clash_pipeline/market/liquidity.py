"""Liquidity profile of one L2 book snapshot."""

from __future__ import annotations

from collections.abc import Sequence

DEPTH_BANDS_BPS = (10, 50, 100)
EDGE_BPS = 1e-9

Level = tuple[float, float]  # (px, sz)


def liquidity_profile(bids: Sequence[Level], asks: Sequence[Level]) -> tuple[float, ...] | None:
    """(best_bid, best_ask, mid, spread_bps, bid/ask USD depth within 10/50/100 bps of mid, imbalance).

    Best levels are taken by value, not by position. Imbalance is (bid - ask) / (bid + ask) of the depth
    within 100 bps. None when a side is empty, a best price is not positive, or the book is crossed (the
    contract refuses such books; this stays safe without it).
    """
    if not bids or not asks:
        return None
    best_bid = max(px for px, _ in bids)
    best_ask = min(px for px, _ in asks)
    if best_bid <= 0 or best_ask <= 0 or best_bid > best_ask:
        return None
    mid = (best_bid + best_ask) / 2
    depths: list[float] = []
    for band in DEPTH_BANDS_BPS:
        limit = band + EDGE_BPS  # a level exactly on the band's edge is inside it
        depths.append(sum(px * sz for px, sz in bids if (mid - px) / mid * 10_000 <= limit))
        depths.append(sum(px * sz for px, sz in asks if (px - mid) / mid * 10_000 <= limit))
    bid_wide, ask_wide = depths[-2], depths[-1]
    total = bid_wide + ask_wide
    imbalance = (bid_wide - ask_wide) / total if total else 0.0
    return (best_bid, best_ask, mid, (best_ask - best_bid) / mid * 10_000, *depths, imbalance)
