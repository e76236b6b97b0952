"""The one idempotent write path into market memory."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Table:
    """A market-memory table as the writers see it: its columns and natural key."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    time_column: str | None = None

    @cached_property
    def upsert_sql(self) -> str:
        cols = ", ".join(self.columns)
        marks = ", ".join("?" for _ in self.columns)
        updates = [c for c in self.columns if c not in self.key]
        conflict = f"ON CONFLICT ({', '.join(self.key)}) DO "
        conflict += (
            "UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates) if updates else "NOTHING"
        )
        return f"INSERT INTO {self.name} ({cols}) VALUES ({marks}) {conflict}"


def upsert(conn: sqlite3.Connection, table: Table, rows: Iterable[Sequence[object]]) -> int:
    """Insert or replace rows by natural key; the caller owns the transaction. Returns rows written."""
    cursor = conn.executemany(table.upsert_sql, rows)
    return cursor.rowcount
