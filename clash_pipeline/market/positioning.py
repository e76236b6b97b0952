"""Positioning pressure: open interest and its change, 24h notional volume, mark/oracle premium."""

from __future__ import annotations


def positioning_row(
    coin: str, ts_ms: int, open_interest: float, mark_px: float, oracle_px: float, day_ntl_vlm: float,
    previous: tuple[int, float] | None,
) -> tuple:
    """(coin, ts_ms, oi, oi_usd, oi_change_pct, oi_change_window_ms, day_ntl_vlm, mark_oracle_premium_bps).

    `previous` is the (ts_ms, open_interest) of the last earlier snapshot, if any. OI in USD uses the oracle
    price.
    """
    change = window = None
    if previous is not None and previous[1] > 0:
        change = (open_interest - previous[1]) / previous[1] * 100
        window = ts_ms - previous[0]
    premium_bps = (mark_px - oracle_px) / oracle_px * 10_000 if oracle_px else 0.0
    return (coin, ts_ms, open_interest, open_interest * oracle_px, change, window, day_ntl_vlm, premium_bps)
