"""What paper trading reads from market memory as of a time: the last price, the book snapshot, the oracle."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from functools import lru_cache

from clash_pipeline.market.exchange_rules import dec
from clash_pipeline.paper.fills import Snapshot
from clash_pipeline.strategy.plan import Read
from clash_pipeline.strategy.reads import SqlReader

BOOK_MAX_AGE_MS = 10 * 60_000


@lru_cache(maxsize=4096)
def price_reads(coin: str) -> tuple[Read, Read]:
    """What the last price of a coin reads: its newest mid, and its last closed 1m candle (known once closed)."""
    coin_is = ("coin = ?", (coin,))
    return (Read("price", "mid", "hl_mids", ("ts_ms", "mid"), (coin_is,), "ts_ms", 1),
            Read("price", "candle", "hl_candles", ("open_ms", "close"), (coin_is, ("interval = ?", ("1m",))),
                 "open_ms", 1, known_after_ms=60_000))


def last_price(source: sqlite3.Connection | SqlReader, coin: str, as_of_ms: int) -> Decimal | None:
    """The last price known at `as_of_ms`: the newer of the newest mid and the last closed 1m candle's close (the
    mid when both are as new), read through `source` (a backtest's read-ahead serves it from its windows)."""
    reader = source if isinstance(source, SqlReader) else SqlReader(source)
    mid_read, candle_read = price_reads(coin)
    mid, candle = reader.rows(mid_read, as_of_ms), reader.rows(candle_read, as_of_ms)
    known = [(mid[0][0], 1, mid[0][1])] if mid else []
    known += [(candle[0][0] + 60_000, 0, candle[0][1])] if candle else []
    return dec(max(known)[2]) if known else None


def snapshot(conn: sqlite3.Connection, coin: str, as_of_ms: int, reader: SqlReader | None = None) -> Snapshot | None:
    """The book the decision could read (the latest within 10 minutes of `as_of`), the last price (through
    `reader` if given) and the last known spread; None for an asset not in the universe."""
    asset = conn.execute("SELECT kind, sz_decimals FROM hl_assets WHERE coin = ?", (coin,)).fetchone()
    if asset is None:
        return None
    levels = conn.execute(
        "SELECT side, px, sz FROM hl_book_levels WHERE coin = ? AND ts_ms = (SELECT MAX(ts_ms) FROM hl_book_levels "
        "WHERE coin = ? AND ts_ms <= ? AND ts_ms > ?) ORDER BY side, level",
        (coin, coin, as_of_ms, as_of_ms - BOOK_MAX_AGE_MS)).fetchall()
    spread = conn.execute("SELECT best_ask - best_bid, ts_ms FROM hl_liquidity WHERE coin = ? AND ts_ms <= ? "
                          "ORDER BY ts_ms DESC LIMIT 1", (coin, as_of_ms)).fetchone()
    bids = tuple((dec(px), dec(sz)) for side, px, sz in levels if side == "bid")
    asks = tuple((dec(px), dec(sz)) for side, px, sz in levels if side == "ask")
    mid = (bids[0][0] + asks[0][0]) / 2 if bids and asks else last_price(reader or conn, coin, as_of_ms)
    return Snapshot(bids, asks, mid, dec(spread[0]) if spread else None, asset[0], asset[1], as_of_ms)


def oracle_price(conn: sqlite3.Connection, coin: str, hour_ms: int, reader: SqlReader | None = None) -> Decimal | None:
    """The oracle price at a funding hour (the context's, within two hours), else the last price."""
    row = conn.execute("SELECT oracle_px FROM hl_asset_ctxs WHERE coin = ? AND ts_ms <= ? AND ts_ms > ? "
                       "AND oracle_px IS NOT NULL ORDER BY ts_ms DESC LIMIT 1",
                       (coin, hour_ms, hour_ms - 2 * 3_600_000)).fetchone()
    return dec(row[0]) if row else last_price(reader or conn, coin, hour_ms)
