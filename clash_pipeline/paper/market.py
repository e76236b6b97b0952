"""What paper trading reads from market memory as of a time: the last price, the book snapshot, the oracle."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from clash_pipeline.market.exchange_rules import dec
from clash_pipeline.paper.fills import Snapshot

BOOK_MAX_AGE_MS = 10 * 60_000
# The last price known at a time: the newest of the mids and the last closed 1m candle's close.
LAST_PRICE = (
    "SELECT price, known FROM (SELECT * FROM (SELECT mid AS price, ts_ms AS known FROM hl_mids WHERE coin = ? AND "
    "ts_ms <= ? ORDER BY ts_ms DESC LIMIT 1) UNION ALL SELECT * FROM (SELECT close, open_ms + 60000 FROM hl_candles "
    "WHERE coin = ? AND interval = '1m' AND open_ms <= ? ORDER BY open_ms DESC LIMIT 1)) "
    "ORDER BY known DESC LIMIT 1"
)


def last_price_params(coin: str, as_of_ms: int) -> tuple:
    """Parameters of LAST_PRICE: a 1m candle is known once it has closed."""
    return coin, as_of_ms, coin, as_of_ms - 60_000


def last_price(conn: sqlite3.Connection, coin: str, as_of_ms: int) -> Decimal | None:
    row = conn.execute(LAST_PRICE, last_price_params(coin, as_of_ms)).fetchone()
    return dec(row[0]) if row else None


def snapshot(conn: sqlite3.Connection, coin: str, as_of_ms: int) -> Snapshot | None:
    """The book the decision could read (the latest within 10 minutes of `as_of`), the last price and the last
    known spread; None for an asset not in the universe."""
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
    mid = (bids[0][0] + asks[0][0]) / 2 if bids and asks else last_price(conn, coin, as_of_ms)
    return Snapshot(bids, asks, mid, dec(spread[0]) if spread else None, asset[0], asset[1], as_of_ms)


def oracle_price(conn: sqlite3.Connection, coin: str, hour_ms: int) -> Decimal | None:
    """The oracle price at a funding hour (the context's, within two hours), else the last price."""
    row = conn.execute("SELECT oracle_px FROM hl_asset_ctxs WHERE coin = ? AND ts_ms <= ? AND ts_ms > ? "
                       "AND oracle_px IS NOT NULL ORDER BY ts_ms DESC LIMIT 1",
                       (coin, hour_ms, hour_ms - 2 * 3_600_000)).fetchone()
    return dec(row[0]) if row else last_price(conn, coin, hour_ms)
