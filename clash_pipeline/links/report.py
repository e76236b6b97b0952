"""What context rows reach one asset, and why: the answer behind `clash asset links SYMBOL`."""

from __future__ import annotations

import sqlite3

from clash_pipeline.links.defillama import base_symbols
from clash_pipeline.timeutil import iso

GLOBAL_TABLES = ("dl_tvl", "dl_stablecoin_supply", "dl_flows", "dl_throughput", "dl_throughput_summary")


def asset_links(conn: sqlite3.Connection, symbol: str) -> dict:
    """`symbol` is a coin of the universe (ETH, xyz:TSLA, @107) or a token symbol (USDC); links are by symbol."""
    asset = conn.execute("SELECT coin, kind, base, quote, display_name FROM hl_assets WHERE coin = ? OR "
                         "display_name = ? ORDER BY kind LIMIT 1", (symbol, symbol)).fetchone()
    symbols = base_symbols([asset[:4]]) if asset else {symbol}
    marks = ",".join("?" * len(symbols))
    links = conn.execute(f"SELECT symbol, subject_kind, subject, reason FROM dl_asset_links WHERE symbol IN ({marks}) "
                         "ORDER BY subject_kind, subject", sorted(symbols)).fetchall()
    global_rows = []
    for table in GLOBAL_TABLES:
        time_column = "ts_ms" if table == "dl_throughput_summary" else "date_ms"
        rows, latest = conn.execute(f"SELECT COUNT(*), MAX({time_column}) FROM {table} WHERE subject = ''").fetchone()
        global_rows.append({"table": table, "rows": rows, "latest": iso(latest)})
    horizons = conn.execute(
        f"SELECT h.horizon, m.question, m.end_ms FROM pm_asset_horizons h JOIN pm_markets m USING (market_id) "
        f"WHERE h.symbol IN ({marks}) AND h.ts_ms = (SELECT MAX(ts_ms) FROM pm_asset_horizons WHERE symbol IN ({marks})) "
        "ORDER BY h.horizon, h.rank", [*sorted(symbols), *sorted(symbols)]).fetchall()
    (linked,) = conn.execute(f"SELECT COUNT(*) FROM pm_asset_links WHERE symbol IN ({marks})", sorted(symbols)).fetchone()
    rules = conn.execute(f"SELECT symbol, rule, COUNT(*) FROM pm_asset_links WHERE symbol IN ({marks}) GROUP BY 1, 2 "
                         "ORDER BY 3 DESC, 1, 2", sorted(symbols)).fetchall()
    return {
        "symbol": symbol,
        "asset": None if asset is None else {"coin": asset[0], "kind": asset[1], "name": asset[4]},
        "defillama_links": [{"symbol": s, "subject_kind": k, "subject": subj, "reason": r} for s, k, subj, r in links],
        "defillama_global": global_rows,
        "polymarket_horizons": [{"horizon": h, "question": q, "end": iso(e)} for h, q, e in horizons],
        "polymarket_linked_markets": linked,
        "polymarket_rules": [{"symbol": s, "rule": r, "markets": n} for s, r, n in rules],
    }
