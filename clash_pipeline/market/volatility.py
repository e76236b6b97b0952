"""Volatility profile from candles: realized volatility over several windows and ATR."""

from __future__ import annotations

import math
from collections.abc import Sequence

from clash_pipeline.timeutil import DAY_MS, HOUR_MS

WINDOWS = (14, 30, 90)

Bar = tuple[int, int, float, float, float, float]  # (open_ms, close_ms, open, high, low, close)


def volatility_rows(
    coin: str, interval: str, step_ms: int, bars: Sequence[Bar], since_ms: int, windows: Sequence[int] = WINDOWS
) -> list[tuple]:
    """Rows (coin, interval, ts_ms, window, realized_vol, atr, atr_pct) as of each hourly close >= since_ms.

    `bars` are consecutive candles in time order (with history before `since_ms` for the windows). Realized
    volatility is the sample stdev of log close-to-close returns, annualized by the interval; ATR is the mean
    true range. A profile is written only where the window has enough bars.
    """
    if not bars:
        return []
    per_year = 365 * DAY_MS / step_ms
    closes = [bar[5] for bar in bars]
    returns = [0.0] + [math.log(closes[i] / closes[i - 1]) for i in range(1, len(closes))]
    true_ranges = [bars[0][3] - bars[0][4]] + [
        max(bars[i][3], closes[i - 1]) - min(bars[i][4], closes[i - 1]) for i in range(1, len(bars))
    ]
    rows = []
    for i, bar in enumerate(bars):
        as_of = bar[1] + 1
        if as_of < since_ms or as_of % HOUR_MS:
            continue
        for window in windows:
            if i < window:
                continue
            sample = returns[i - window + 1 : i + 1]
            mean = sum(sample) / window
            variance = sum((r - mean) ** 2 for r in sample) / (window - 1)
            atr = sum(true_ranges[i - window + 1 : i + 1]) / window
            rows.append((coin, interval, as_of, window, math.sqrt(variance * per_year), atr, atr / closes[i] * 100))
    return rows
