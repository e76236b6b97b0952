"""Retirement, careers and the public views (race results, leaderboard, Hall of Fame).

Public views carry a clone's public identity (name, avatar, bio, creator) and results, never its graph or prompt.
"""

from __future__ import annotations

import json
import sqlite3

from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.arena import lifecycle
from clash_pipeline.memory.db import transaction

PUBLIC = "c.clone_id, c.name, c.avatar_url, c.bio, c.creator"


def career(conn: sqlite3.Connection, clone_id: int) -> dict:
    races, wins, average, best, worst = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(rank = 1), 0), AVG(return_pct), MAX(return_pct), MAX(max_drawdown_pct) "
        "FROM race_entrants WHERE clone_id = ? AND rank IS NOT NULL", (clone_id,)).fetchone()
    (tickets,) = conn.execute("SELECT COUNT(*) FROM tickets WHERE clone_id = ?", (clone_id,)).fetchone()
    earned = sum(int(line[2]) for (receipt,) in conn.execute("SELECT receipt_json FROM settlements")
                 for line in json.loads(receipt)["lines"]
                 if line[0] == "creator_payout" and line[3] == f"clone {clone_id}")  # to any of its payout addresses
    return {"clone_id": clone_id, "races": races, "wins": wins, "average_return_pct": average,
            "best_return_pct": best, "worst_drawdown_pct": worst, "tickets_drawn": tickets,
            "creator_earnings_wei": str(earned)}


def retire(conn: sqlite3.Connection, outbox: Outbox, clone_id: int, reason: str, now_ms: int) -> dict:
    """Retire a clone (by owner request or a rule), archive its career, and open its arena slot."""
    record = career(conn, clone_id)
    ref = outbox.enqueue("career", [f"clone={clone_id}"], json.dumps({**record, "reason": reason}).encode(),
                         at_ms=now_ms)
    with transaction(conn):
        lifecycle.transition(conn, clone_id, "retired", reason, now_ms, in_transaction=True)
        conn.execute("DELETE FROM promotion_queue WHERE clone_id = ?", (clone_id,))
        conn.execute("INSERT INTO careers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                     (clone_id, record["races"], record["wins"], record["average_return_pct"],
                      record["best_return_pct"], record["worst_drawdown_pct"], record["tickets_drawn"],
                      record["creator_earnings_wei"], now_ms, reason, ref.key))
    return record


def race_results(conn: sqlite3.Connection, race: str) -> list[dict]:
    rows = conn.execute(f"SELECT e.rank, {PUBLIC}, e.return_pct, e.max_drawdown_pct, e.trades, "
                        "(SELECT COUNT(*) FROM tickets t WHERE t.race_id = e.race_id AND t.clone_id = e.clone_id) "
                        "FROM race_entrants e JOIN clones c USING (clone_id) WHERE e.race_id = ? "
                        "ORDER BY e.rank IS NULL, e.rank, c.clone_id", (race,)).fetchall()
    keys = ("rank", "clone_id", "name", "avatar_url", "bio", "creator", "return_pct", "max_drawdown_pct", "trades",
            "tickets")
    return [dict(zip(keys, row)) for row in rows]


def leaderboard(conn: sqlite3.Connection) -> list[dict]:
    """Arena clones by wins, then average race return."""
    rows = conn.execute(f"SELECT {PUBLIC}, l.state FROM clones c JOIN clone_lifecycle l USING (clone_id) "
                        "WHERE l.state = 'in_arena' ORDER BY c.clone_id").fetchall()
    board = [{"clone_id": r[0], "name": r[1], "avatar_url": r[2], "bio": r[3], "creator": r[4],
              **{k: v for k, v in career(conn, r[0]).items() if k != "clone_id"}} for r in rows]
    return sorted(board, key=lambda b: (-b["wins"], -(b["average_return_pct"] or 0), b["clone_id"]))


def hall_of_fame(conn: sqlite3.Connection) -> list[dict]:
    """Retired careers by wins, then average return, then clone id."""
    rows = conn.execute(f"SELECT {PUBLIC}, k.races, k.wins, k.average_return_pct, k.best_return_pct, "
                        "k.worst_drawdown_pct, k.tickets_drawn, k.creator_earnings_wei, k.retired_ms, k.reason "
                        "FROM careers k JOIN clones c USING (clone_id) ORDER BY k.wins DESC, "
                        "k.average_return_pct DESC, c.clone_id").fetchall()
    keys = ("clone_id", "name", "avatar_url", "bio", "creator", "races", "wins", "average_return_pct",
            "best_return_pct", "worst_drawdown_pct", "tickets_drawn", "creator_earnings_wei", "retired_ms", "reason")
    return [dict(zip(keys, row)) for row in rows]
