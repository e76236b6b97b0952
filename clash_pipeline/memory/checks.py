"""Data-quality queries behind the asset checks."""

from __future__ import annotations

import sqlite3

from clash_pipeline.memory.upsert import Table
from clash_pipeline.timeutil import INTERVAL_MS, iso, now_ms


def count_rows(conn: sqlite3.Connection, table: Table, start_ms: int, end_ms: int) -> int:
    """Rows of a table stamped in [start_ms, end_ms)."""
    return conn.execute(
        f"SELECT COUNT(*) FROM {table.name} WHERE {table.time_column} >= ? AND {table.time_column} < ?",
        (start_ms, end_ms),
    ).fetchone()[0]


def latest_age_ms(conn: sqlite3.Connection, table: Table) -> int | None:
    """How old the newest row of a table is, or None when it is empty."""
    (latest,) = conn.execute(f"SELECT MAX({table.time_column}) FROM {table.name}").fetchone()
    return None if latest is None else now_ms() - latest


def duplicate_keys(conn: sqlite3.Connection, table: Table, start_ms: int, end_ms: int) -> int:
    """Natural keys stored more than once in [start_ms, end_ms) (the primary key should make this 0)."""
    keys = ", ".join(table.key)
    return conn.execute(
        f"SELECT COUNT(*) FROM (SELECT {keys} FROM {table.name} WHERE {table.time_column} >= ? AND "
        f"{table.time_column} < ? GROUP BY {keys} HAVING COUNT(*) > 1)",
        (start_ms, end_ms),
    ).fetchone()[0]


def candle_ohlc_violations(conn: sqlite3.Connection, start_ms: int, end_ms: int) -> int:
    """Candles where low > open/close, open/close > high, or volume < 0."""
    return conn.execute(
        "SELECT COUNT(*) FROM hl_candles WHERE open_ms >= ? AND open_ms < ? AND NOT ("
        "low <= open AND low <= close AND open <= high AND close <= high AND low <= high AND volume >= 0)",
        (start_ms, end_ms),
    ).fetchone()[0]


def candle_gaps(conn: sqlite3.Connection, start_ms: int, end_ms: int) -> list[dict]:
    """Missing candles in [start_ms, end_ms) for every (coin, interval) stored there: the first open must be the
    window's first aligned open, consecutive opens one interval apart, the last within one interval of the end."""
    gaps = []
    series = conn.execute(
        "SELECT coin, interval, MIN(open_ms), MAX(open_ms), COUNT(*) FROM hl_candles "
        "WHERE open_ms >= ? AND open_ms < ? GROUP BY coin, interval",
        (start_ms, end_ms),
    ).fetchall()
    for coin, interval, first, last, count in series:
        step = INTERVAL_MS[interval]
        expected_first = -(-start_ms // step) * step
        expected_last = (min(end_ms, now_ms()) - 1) // step * step
        missing = (last - first) // step + 1 - count
        if first != expected_first or last < expected_last - step or missing:
            gaps.append({"coin": coin, "interval": interval, "first": iso(first), "last": iso(last),
                         "missing_inside": missing})
    return gaps


def binary_prices_out_of_range(conn: sqlite3.Connection) -> int:
    """Outcome prices outside [0, 1] among two-outcome Polymarket markets."""
    return conn.execute(
        "SELECT COUNT(*) FROM pm_markets, json_each(pm_markets.outcome_prices) AS price "
        "WHERE json_array_length(pm_markets.outcomes) = 2 "
        "AND (CAST(price.value AS REAL) < 0 OR CAST(price.value AS REAL) > 1)"
    ).fetchone()[0]


def negative_values(conn: sqlite3.Connection, table: Table, column: str, start_ms: int, end_ms: int) -> int:
    return conn.execute(
        f"SELECT COUNT(*) FROM {table.name} WHERE {column} < 0 AND {table.time_column} >= ? "
        f"AND {table.time_column} < ?", (start_ms, end_ms),
    ).fetchone()[0]
