"""Derived measures: liquidity, volatility, funding pressure, positioning."""

from __future__ import annotations

import math

import pytest

from clash_pipeline.market.funding import funding_pressure_row, rolling_sum
from clash_pipeline.market.liquidity import liquidity_profile
from clash_pipeline.market.positioning import positioning_row
from clash_pipeline.market.volatility import volatility_rows
from clash_pipeline.timeutil import DAY_MS, HOUR_MS, MINUTE_MS


def test_liquidity_bands_and_imbalance_in_any_level_order():
    bids = [(99.0, 1.0), (99.95, 2.0), (99.5, 1.0)]  # ascending or not, best is by value
    asks = [(100.05, 1.0), (101.5, 5.0), (100.5, 3.0)]
    best_bid, best_ask, mid, spread, b10, a10, b50, a50, b100, a100, imbalance = liquidity_profile(bids, asks)
    assert (best_bid, best_ask, mid) == (99.95, 100.05, 100.0)
    assert spread == pytest.approx(10.0)
    assert (b10, a10) == (pytest.approx(199.9), pytest.approx(100.05))
    assert (b50, a50) == (pytest.approx(199.9 + 99.5), pytest.approx(100.05 + 301.5))
    assert (b100, a100) == (pytest.approx(199.9 + 99.5 + 99.0), pytest.approx(100.05 + 301.5))
    assert imbalance == pytest.approx((398.4 - 401.55) / (398.4 + 401.55))
    assert liquidity_profile(bids, []) is None


def test_volatility_of_a_known_series():
    closes = [100 * math.exp(0.01 * (-1) ** i) for i in range(120)]  # returns alternate +-0.02
    bars = [(i * MINUTE_MS, (i + 1) * MINUTE_MS - 1, c, c * 1.001, c * 0.999, c) for i, c in enumerate(closes)]
    rows = volatility_rows("X", "1m", MINUTE_MS, bars, since_ms=0, windows=(30,))
    assert [r[2] for r in rows] == [HOUR_MS, 2 * HOUR_MS]  # hourly closes only
    per_year = 365 * 24 * 60
    expected_std = math.sqrt(sum((0.02 * (-1) ** k) ** 2 for k in range(30)) / 29)  # mean is 0 over 30 returns
    assert rows[0][4] == pytest.approx(expected_std * math.sqrt(per_year), rel=1e-6)
    assert rows[0][5] > 0 and rows[0][6] == pytest.approx(rows[0][5] / closes[59] * 100)


def test_funding_sums_need_the_history_to_reach_back():
    history = [(h * HOUR_MS, 0.0001) for h in range(48)]
    as_of = 47 * HOUR_MS
    assert rolling_sum(history, as_of, DAY_MS) == pytest.approx(24 * 0.0001)
    assert rolling_sum(history, as_of, 7 * DAY_MS) is None
    row = funding_pressure_row("BTC", as_of, 0.0000125, 0.0001, 0.00002, history)
    assert row[5] == pytest.approx(0.0024) and row[7] == pytest.approx(0.0000125 * 24 * 365 * 100)


def test_positioning_change_against_the_previous_snapshot():
    row = positioning_row("ETH", 2_000, 110.0, 101.0, 100.0, 5e6, previous=(1_000, 100.0))
    assert row[2:] == (110.0, 11_000.0, pytest.approx(10.0), 1_000, 5e6, pytest.approx(100.0))
    assert positioning_row("ETH", 2_000, 110.0, 101.0, 100.0, 5e6, previous=None)[4] is None
