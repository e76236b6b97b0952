"""A backtest's read-ahead windows give every read the rows, order and newest stamp its own query gives."""

from __future__ import annotations

import dataclasses

import orjson

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clash_pipeline.memory.db import open_memory
from clash_pipeline.paper.market import last_price
from clash_pipeline.paper.market import price_reads
from clash_pipeline.strategy.plan import channel_reads
from clash_pipeline.strategy.reads import ReadAhead, SqlReader
from clash_pipeline.timeutil import DAY_MS, HOUR_MS

STEP = 15 * 60_000
T0 = 1_790_000_000_000 - 1_790_000_000_000 % DAY_MS
READS = [
    *channel_reads("hyperliquid", "candles", {"interval": "15m", "lookback": 8}, "BTC", "BTC"),
    *channel_reads("hyperliquid", "mids", {"lookback": 5}, "BTC", "BTC"),
    *channel_reads("hyperliquid", "book", {"levels": 2}, "BTC", "BTC"),
    *channel_reads("hyperliquid", "funding", {"window_hours": 3}, "BTC", "BTC"),
    *channel_reads("hyperliquid", "volatility", {"interval": "1h", "windows": [14, 90]}, "BTC", "BTC"),
    *channel_reads("defillama", "capital_base", {"days": 2}, "BTC", "BTC"),
]
READS.append(dataclasses.replace(READS[2], name="book, cut", limit=3))  # a limit that cuts a snapshot
READS += price_reads("BTC")  # the newest row alone (its mid; its 1m candle: none here)
stamps = st.builds(  # a grid of some spacing, thinned: sparse to dense
    lambda every, offset, keep: [T0 + m * 60_000 for m in range(offset, 2 * DAY_MS // 60_000, every)
                                 if m * 2_654_435_761 % 1000 < keep],
    st.sampled_from([3, 7, 15, 61, 240]), st.integers(0, 59), st.integers(0, 1000))


def _fill(conn, candles, mids, books, funding, vols, days) -> None:
    conn.executemany("INSERT INTO hl_candles VALUES ('BTC', '15m', ?, ?, 1, 2, 0.5, 1.5, 10, 3)",
                     [(t - t % STEP, t - t % STEP + STEP - 1) for t in dict.fromkeys(t - t % STEP for t in candles)])
    conn.executemany("INSERT INTO hl_mids VALUES ('BTC', ?, ?)", [(t, t % 97) for t in mids])
    conn.executemany("INSERT INTO hl_book_levels VALUES ('BTC', ?, ?, ?, 1, 1, 1)",
                     [(t, side, level) for t in books for side in ("bid", "ask") for level in range(3)])
    hours = dict.fromkeys(t - t % HOUR_MS for t in funding)
    conn.executemany("INSERT INTO hl_funding_history VALUES ('BTC', ?, ?, 0.0001, 0)", [(h, h + 7) for h in hours])
    conn.executemany("INSERT INTO hl_volatility VALUES ('BTC', '1h', ?, ?, 0.5, 1, 1)",
                     [(t, w) for i, t in enumerate(vols) for w in ((14, 30, 90) if i % 2 else (90,))])
    conn.executemany("INSERT INTO dl_tvl VALUES (?, ?, ?)",
                     [(s, d, 5) for d in dict.fromkeys(t - t % DAY_MS for t in days) for s in ("", "Bitcoin")])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(candles=stamps, mids=stamps, books=stamps, funding=stamps, vols=stamps, days=stamps,
       steps=st.lists(st.sampled_from([0, STEP, STEP, 4 * STEP, HOUR_MS + 1, -STEP]), min_size=1, max_size=60),
       span=st.sampled_from([STEP, HOUR_MS, DAY_MS]), grid=st.sampled_from([None, STEP]))
def test_read_ahead_serves_what_each_read_reads(tmp_path_factory, candles, mids, books, funding, vols, days, steps,
                                                span, grid):
    conn = open_memory(tmp_path_factory.mktemp("ahead") / "m.sqlite")
    _fill(conn, candles, mids, books, funding, vols, days)
    direct, ahead = SqlReader(conn), ReadAhead(conn, span, grid)  # on a grid: ticks on it, then (+1 ms) off it
    tick = T0 + DAY_MS // 2
    for step in steps:
        tick += step
        for read in READS:
            assert ahead.rows(read, tick) == direct.rows(read, tick), (read.label, tick - T0)
            rows, encoded = ahead.encoded(read, tick)  # each row's JSON, made once per window
            assert rows == direct.rows(read, tick) and encoded == [orjson.dumps(row) for row in rows]
            assert ahead.newest(read, tick) == direct.newest(read, tick), (read.label, tick - T0)
    conn.close()


# The last price as one query (how it was read before it went through the readers): the reference.
LAST_PRICE = (
    "SELECT price, known FROM (SELECT * FROM (SELECT mid AS price, ts_ms AS known FROM hl_mids WHERE coin = ? AND "
    "ts_ms <= ? ORDER BY ts_ms DESC LIMIT 1) UNION ALL SELECT * FROM (SELECT close, open_ms + 60000 FROM hl_candles "
    "WHERE coin = ? AND interval = '1m' AND open_ms <= ? ORDER BY open_ms DESC LIMIT 1)) ORDER BY known DESC LIMIT 1")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mids=stamps, minutes=stamps, steps=st.lists(st.sampled_from([0, 60_000, STEP, 7 * 60_000 + 1, -STEP]),
                                                   min_size=1, max_size=60))
def test_the_last_price_is_the_newer_of_mid_and_closed_candle_direct_or_read_ahead(tmp_path_factory, mids, minutes,
                                                                                   steps):
    conn = open_memory(tmp_path_factory.mktemp("price") / "m.sqlite")
    conn.executemany("INSERT INTO hl_mids VALUES ('BTC', ?, ?)", [(t, 1 + t % 89) for t in mids])
    conn.executemany("INSERT INTO hl_candles VALUES ('BTC', '1m', ?, ?, 1, 2, 0.5, ?, 10, 3)",
                     [(t, t + 59_999, 100 + t % 83) for t in dict.fromkeys(t - t % 60_000 for t in minutes)])
    ahead, on_grid, tick = ReadAhead(conn, HOUR_MS), ReadAhead(conn, HOUR_MS, STEP), T0 + DAY_MS // 2
    for step in steps:
        tick += step
        row = conn.execute(LAST_PRICE, ("BTC", tick, "BTC", tick - 60_000)).fetchone()
        mid = conn.execute("SELECT MAX(ts_ms) FROM hl_mids WHERE ts_ms <= ?", (tick,)).fetchone()[0]
        candle = conn.execute("SELECT MAX(open_ms) + 60000 FROM hl_candles WHERE open_ms <= ?", (tick - 60_000,)
                              ).fetchone()[0]
        found = last_price(conn, "BTC", tick)
        assert (found is None) == (row is None)
        if row is not None and mid != candle:  # (a mid and a candle as new: the query's pick is not defined)
            assert float(found) == row[0], tick - T0
        assert last_price(ahead, "BTC", tick) == last_price(on_grid, "BTC", tick) == last_price(conn, "BTC", tick), \
            tick - T0
    conn.close()


def test_on_a_grid_the_last_price_keeps_only_the_rows_it_gives_at_the_grid_times(tmp_path):
    conn = open_memory(tmp_path / "m.sqlite")
    start = T0 + DAY_MS // 2
    conn.executemany("INSERT INTO hl_candles VALUES ('BTC', '1m', ?, ?, 1, 2, 0.5, ?, 10, 3)",
                     [(t, t + 59_999, 100 + m % 83) for m in range(-60, 2 * 24 * 60) for t in (start + m * 60_000,)])
    ahead, direct = ReadAhead(conn, DAY_MS, STEP), SqlReader(conn)
    candle = price_reads("BTC")[1]
    queries = []
    conn.set_trace_callback(queries.append)
    served = [ahead.rows(candle, start + k * STEP) for k in range(96)]
    conn.set_trace_callback(None)
    assert served == [direct.rows(candle, start + k * STEP) for k in range(96)]
    assert len(queries) == 2 and len(ahead._windows[candle].rows) == 96  # its two reads; a row per grid time after
    assert ahead.rows(candle, start + 7 * 60_000) == direct.rows(candle, start + 7 * 60_000)  # between: direct
