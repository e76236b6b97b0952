"""Failed pipeline runs in market memory (table `run_failures`): recorded once per run, newest first."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job_name: str
    failed_ms: int
    partition_key: str | None
    failed_steps: str
    error: str


def record_run_failure(conn: sqlite3.Connection, failure: RunFailure) -> bool:
    """Record a failed run; a run already recorded changes nothing. True when it was new."""
    cursor = conn.execute(
        "INSERT INTO run_failures (run_id, job_name, failed_ms, partition_key, failed_steps, error) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
        (failure.run_id, failure.job_name, failure.failed_ms, failure.partition_key, failure.failed_steps,
         failure.error.splitlines()[0][:500] if failure.error else ""))
    return cursor.rowcount == 1


def recent_run_failures(conn: sqlite3.Connection, limit: int = 20) -> list[RunFailure]:
    """The newest failed runs."""
    rows = conn.execute("SELECT run_id, job_name, failed_ms, partition_key, failed_steps, error FROM run_failures "
                        "ORDER BY failed_ms DESC LIMIT ?", (limit,)).fetchall()
    return [RunFailure(*row) for row in rows]
