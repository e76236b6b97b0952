"""Funding pressure: current and predicted funding with rolling sums of the funding history."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from clash_pipeline.timeutil import DAY_MS

HOURS_PER_YEAR = 24 * 365


def rolling_sum(history: Sequence[tuple[int, float]], as_of_ms: int, span_ms: int) -> float | None:
    """Sum of hourly rates with hour in (as_of - span, as_of]; None when the history does not reach back."""
    hours = [hour for hour, _ in history]
    if not hours or hours[0] > as_of_ms - span_ms + DAY_MS // 24:
        return None
    lo, hi = bisect_right(hours, as_of_ms - span_ms), bisect_right(hours, as_of_ms)
    return sum(rate for _, rate in history[lo:hi])


def funding_pressure_row(
    coin: str, ts_ms: int, funding: float, premium: float | None, predicted: float | None,
    history: Sequence[tuple[int, float]],
) -> tuple:
    """(coin, ts_ms, funding, predicted_funding, premium, sum_24h, sum_7d, annualized_pct)."""
    return (
        coin, ts_ms, funding, predicted, premium,
        rolling_sum(history, ts_ms, DAY_MS), rolling_sum(history, ts_ms, 7 * DAY_MS),
        funding * HOURS_PER_YEAR * 100,
    )
