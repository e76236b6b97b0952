"""Write a parsed batch in one transaction and describe what was written; blocking checks run before the commit."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from clash_pipeline.memory.db import transaction
from clash_pipeline.memory.upsert import Table, upsert

PREVIEW_ROWS = 5


@dataclass(frozen=True)
class Load:
    """What one write put into one table: row count, time range, a few rows to look at."""

    table: str
    rows: int
    first_ms: int | None = None
    last_ms: int | None = None
    preview: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class BlockingCheck:
    """A check whose failure must keep a batch out: `violations` counts bad rows (memory/checks.py), run inside
    the write transaction, so it sees the batch before it commits."""

    name: str
    violations: Callable[[sqlite3.Connection], int]


class BlockingCheckFailed(RuntimeError):
    """A blocking check found violations in a batch: the transaction was rolled back, nothing was written."""

    def __init__(self, check: str, violations: int, tables: Sequence[str]) -> None:
        self.check, self.violations = check, violations
        super().__init__(f"blocking check {check} failed with {violations} violation(s); the write to "
                         f"{', '.join(tables)} was rolled back")


def describe(table: Table, rows: Sequence[Sequence[object]]) -> Load:
    times = []
    if table.time_column and rows:
        index = table.columns.index(table.time_column)
        times = [row[index] for row in rows]
    preview = [dict(zip(table.columns, row)) for row in rows[:PREVIEW_ROWS]]
    return Load(table.name, len(rows), min(times, default=None), max(times, default=None), preview)


def write_batch(
    conn: sqlite3.Connection,
    batch: Sequence[tuple[Table, Sequence[Sequence[object]]]],
    then: Sequence[tuple[str, tuple]] = (),
    checks: Sequence[BlockingCheck] = (),
) -> list[Load]:
    """Upsert every (table, rows) of a batch, then run `then` statements, in one transaction: all or none.
    A blocking check that finds violations before the commit rolls the whole batch back (BlockingCheckFailed)."""
    with transaction(conn):
        for table, rows in batch:
            upsert(conn, table, rows)
        for sql, params in then:
            conn.execute(sql, params)
        for check in checks:
            violations = check.violations(conn)
            if violations:
                raise BlockingCheckFailed(check.name, violations, [table.name for table, _ in batch])
    return [describe(table, rows) for table, rows in batch]
