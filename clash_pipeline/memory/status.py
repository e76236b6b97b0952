"""What market memory holds: every table with its row count and time range."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

from clash_pipeline.memory.tables import MARKET_MEMORY_TABLES
from clash_pipeline.timeutil import iso


@dataclass(frozen=True)
class TableStatus:
    table: str
    rows: int
    first_ms: int | None
    last_ms: int | None

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "first": iso(self.first_ms), "last": iso(self.last_ms)}


def memory_status(conn: sqlite3.Connection) -> list[TableStatus]:
    """Row count and time range of every market-memory table, in schema order."""
    result = []
    for table in MARKET_MEMORY_TABLES:
        if table.time_column:
            rows, first, last = conn.execute(
                f"SELECT COUNT(*), MIN({table.time_column}), MAX({table.time_column}) FROM {table.name}"
            ).fetchone()
        else:
            (rows,), first, last = conn.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone(), None, None
        result.append(TableStatus(table.name, rows, first, last))
    return result


def format_status(statuses: list[TableStatus]) -> str:
    """A plain-text table for the terminal."""
    lines = [f"{'table':<24}{'rows':>10}  {'first (UTC)':<20} {'last (UTC)':<20}"]
    for s in statuses:
        lines.append(f"{s.table:<24}{s.rows:>10}  {iso(s.first_ms) or '-':<20} {iso(s.last_ms) or '-':<20}")
    return "\n".join(lines)
