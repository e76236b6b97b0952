"""Hydrate a market memory from the lake: the market history of a window (plus a lookback, for the reads that
reach back before its start) and the newest reference state (universe, catalogues, clones, strategies, kill
switches), each file verified against its manifest's sha256, written through market memory's upsert path in one
transaction. A backtest on the hydrated memory gives the same result hash as on the machine that ingested."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from clash_pipeline.archive.archive import Archive
from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.lake.schemas import BY_NAME, HYDRATED, Kind, LakeTable
from clash_pipeline.lake.store import Lake
from clash_pipeline.memory.db import open_memory, transaction
from clash_pipeline.memory.upsert import upsert
from clash_pipeline.timeutil import DAY_MS, days_between

DEFAULT_LOOKBACK_DAYS = 3


@dataclass
class Hydration:
    days: list[str]
    reference_day: str
    rows: dict[str, int] = field(default_factory=dict)
    missing_days: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"days": self.days, "reference_day": self.reference_day, "rows": self.rows,
                "total_rows": sum(self.rows.values()), "missing_days": self.missing_days}


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


def _day_range(first: str, last: str) -> list[str]:
    """ISO days from first to last, inclusive."""
    return days_between(first, (date.fromisoformat(last) + timedelta(days=1)).isoformat())


def hydrate(lake: Lake, conn: sqlite3.Connection, start_ms: int, end_ms: int,
            lookback_days: int = DEFAULT_LOOKBACK_DAYS, tables: tuple[LakeTable, ...] = HYDRATED,
            progress: Callable[[str], None] = lambda _: None) -> Hydration:
    """Copy the window's partitions (from `lookback_days` before `start_ms` to the day of `end_ms`) into `conn`.
    A day of the window itself (not of the lookback) missing from the lake is an error: the result would differ."""
    if lookback_days < 0 or end_ms < start_ms:
        raise ValueError("hydrate needs start <= end and a lookback of 0 days or more")
    days = lake.days()
    if not days:
        raise LookupError(f"the lake at {lake.describe()} has no partition (clash lake export --day D)")
    wanted = _day_range(_day(start_ms - lookback_days * DAY_MS), _day(end_ms))
    present = set(days)
    window = [d for d in wanted if d in present]
    missing = [d for d in _day_range(_day(start_ms), _day(end_ms)) if d not in present]
    if missing:
        raise LookupError(f"the lake at {lake.describe()} has no partition for {', '.join(missing)} "
                          f"(clash lake export --day {missing[0]})")
    result = Hydration(window, days[-1], missing_days=[d for d in wanted if d not in present])
    names = {t.name for t in tables}
    entries = [(BY_NAME[e["table"]], e) for day in window for e in lake.manifest(day)["files"]
               if e["table"] in names and BY_NAME[e["table"]].kind is not Kind.REFERENCE]
    entries += [(BY_NAME[e["table"]], e) for e in lake.manifest(days[-1])["files"]
                if e["table"] in names and BY_NAME[e["table"]].kind is Kind.REFERENCE]
    order = {t.name: i for i, t in enumerate(tables)}  # reference rows before the rows that refer to them
    entries.sort(key=lambda item: (order[item[0].name], item[1]["key"]))
    with transaction(conn):
        for table, entry in entries:
            data = pq.read_table(pa.BufferReader(lake.get_verified(entry["key"], entry["sha256"])))
            data = data.select(list(table.columns))
            rows = zip(*(column.to_pylist() for column in data.columns))
            upsert(conn, table.memory_table, rows)
            result.rows[table.name] = result.rows.get(table.name, 0) + data.num_rows
            progress(f"hydrated {entry['key']} ({data.num_rows} rows)")
    return result


def backtest_from_lake(lake: Lake, archive: Archive, workdir: Path, clone_id: int, start_ms: int, end_ms: int,
                       cadence: str = "15m", lookback_days: int = DEFAULT_LOOKBACK_DAYS,
                       progress: Callable[[str], None] = lambda _: None) -> dict:
    """A backtest on any machine: hydrate a fresh market memory in `workdir` from the lake, run the backtest core
    on it, and drain its decision payloads into `archive` (the folder may go away afterwards)."""
    from clash_pipeline.decisions.backtest import run_backtest
    from clash_pipeline.strategy.store import get_clone

    path = Path(workdir) / "market_memory.sqlite"
    if path.exists():
        raise ValueError(f"{path} exists: a lake backtest hydrates a fresh data folder")
    conn = open_memory(path)
    try:
        hydration = hydrate(lake, conn, start_ms, end_ms, lookback_days, progress=progress)
        get_clone(conn, clone_id)  # not in the lake's newest reference state: a LookupError naming it
        outbox = Outbox(Path(workdir) / "outbox", conn, archive)
        result = run_backtest(conn, outbox, clone_id, start_ms, end_ms, cadence, progress=progress)
        drained = outbox.drain()
        return {**result, "hydration": hydration.as_dict(), "payloads_archived": drained.uploaded,
                "payloads_pending": drained.pending}
    finally:
        conn.close()
