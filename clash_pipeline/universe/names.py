"""Readable asset names: a spot pair is `HYPE/USDC` (its base and quote tokens from spot meta), a perp keeps its
API name (`BTC`, `xyz:TSLA`). The wire id (`@107`) stays the key in storage and sits beside the name in JSON."""

from __future__ import annotations

import sqlite3


def display_name(coin: str, kind: str | None = None, base: str | None = None, quote: str | None = None) -> str:
    """The name people read for one asset."""
    if kind == "spot" and base and quote:
        return f"{base}/{quote}"
    return coin


def display_names(conn: sqlite3.Connection) -> dict[str, str]:
    """coin -> display name for the whole universe in market memory."""
    return {coin: display_name(coin, kind, base, quote)
            for coin, kind, base, quote in conn.execute("SELECT coin, kind, base, quote FROM hl_assets")}


def labelled(coin: str, names: dict[str, str]) -> str:
    """`HYPE/USDC (@107)` for a spot pair, `BTC` for a perp: the name, and the wire id when it differs."""
    name = names.get(coin, coin)
    return name if name == coin else f"{name} ({coin})"
