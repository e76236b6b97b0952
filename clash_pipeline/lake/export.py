"""Export one UTC day of market memory into the lake: a Parquet file per table (candles: per interval), zstd, an
explicit schema, rows sorted by the natural key and no timestamps in the file, so that re-exporting an unchanged
day writes the same bytes; then the day's manifest (rows, time range, schema version, sha256 per file), last, so
that a reader never sees a manifest naming files that are not there yet."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clash_pipeline.lake.schemas import SCHEMA_VERSION, TABLES, Kind, LakeTable
from clash_pipeline.lake.store import Lake, manifest_key, part_key
from clash_pipeline.timeutil import DAY_MS, day_start_ms

ZSTD_LEVEL = 3
ROW_GROUP_ROWS = 128 * 1024


@dataclass(frozen=True)
class LakeFile:
    table: str
    key: str
    rows: int
    bytes: int
    sha256: str
    min_ms: int | None
    max_ms: int | None
    split: str | None = None


def rows_to_arrow(table: LakeTable, rows: list[tuple]) -> pa.Table:
    """Rows as read from SQLite (in schema column order) as an Arrow table of the table's schema."""
    columns = list(zip(*rows)) if rows else [() for _ in table.columns]
    arrays = [pa.array(values, type=field.type) for values, field in zip(columns, table.schema)]
    return pa.Table.from_arrays(arrays, schema=table.schema)


def parquet_bytes(table: LakeTable, data: pa.Table) -> bytes:
    """Deterministic Parquet: fixed writer options and schema metadata (table and schema version), no clocks."""
    return _write(data.replace_schema_metadata({"clash.table": table.name,
                                                "clash.schema_version": str(SCHEMA_VERSION)}))


def frame_parquet(frame: pd.DataFrame) -> bytes:
    """A frame (analytics) as Parquet with the same fixed writer options."""
    return _write(pa.Table.from_pandas(frame, preserve_index=False))


def _write(data: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(data, sink, compression="zstd", compression_level=ZSTD_LEVEL, row_group_size=ROW_GROUP_ROWS,
                   use_dictionary=True, write_statistics=True, version="2.6")
    return sink.getvalue().to_pybytes()


def read_rows(conn: sqlite3.Connection, table: LakeTable, day: str) -> dict[str | None, list[tuple]]:
    """The table's rows of `day` (reference tables: all of them), sorted by key, per split value."""
    columns, order = ", ".join(table.columns), ", ".join(table.key)
    where, params = "", ()
    if table.kind is not Kind.REFERENCE:
        start = day_start_ms(day)
        where, params = f" WHERE {table.time_column} >= ? AND {table.time_column} < ?", (start, start + DAY_MS)
    if table.split_by is None:
        return {None: conn.execute(f"SELECT {columns} FROM {table.name}{where} ORDER BY {order}", params).fetchall()}
    values = [v for (v,) in conn.execute(f"SELECT DISTINCT {table.split_by} FROM {table.name}{where} ORDER BY 1",
                                         params)]
    extra = f"{' AND' if where else ' WHERE'} {table.split_by} = ?"
    return {v: conn.execute(f"SELECT {columns} FROM {table.name}{where}{extra} ORDER BY {order}",
                            (*params, v)).fetchall() for v in values}


def export_day(conn: sqlite3.Connection, lake: Lake, day: str, tables: tuple[LakeTable, ...] = TABLES,
               progress: Callable[[str], None] = lambda _: None) -> dict:
    """Write `day`'s partition of every table with rows, then its manifest; returns the manifest."""
    files: list[LakeFile] = []
    for table in tables:
        for split, rows in read_rows(conn, table, day).items():
            if not rows:
                continue
            data = rows_to_arrow(table, rows)
            body = parquet_bytes(table, data)
            key = part_key(table.name, day, f"{table.split_by}={split}" if split is not None else None)
            digest = lake.put(key, body)
            times = _time_range(table, data)
            files.append(LakeFile(table.name, key, len(rows), len(body), digest, *times, split))
            progress(f"lake {day}: {key} ({len(rows)} rows, {len(body)} bytes)")
    manifest = {"day": day, "schema_version": SCHEMA_VERSION, "rows": sum(f.rows for f in files),
                "bytes": sum(f.bytes for f in files), "files": [asdict(f) for f in files]}
    lake.put(manifest_key(day), json.dumps(manifest, sort_keys=True, indent=1).encode(), "application/json")
    return manifest


def _time_range(table: LakeTable, data: pa.Table) -> tuple[int | None, int | None]:
    if table.time_column is None:
        return None, None
    bounds = pc.min_max(data.column(table.time_column))
    return bounds["min"].as_py(), bounds["max"].as_py()
