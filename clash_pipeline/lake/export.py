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
    """The table's rows of `day` (reference tables: all of them), sorted by key, per split value.

    A table whose key leads with columns before its time column (`coin, interval, open_ms`) is read as one primary
    key range per distinct leading value: found by seeks, read in key order, with no sort and no scan of other days."""
    columns, order = ", ".join(table.columns), ", ".join(table.key)
    if table.kind is Kind.REFERENCE:
        rows = conn.execute(f"SELECT {columns} FROM {table.name} ORDER BY {order}").fetchall()
    else:
        start = day_start_ms(day)
        window = f"{table.time_column} >= ? AND {table.time_column} < ?"
        leading = _leading_key(table)
        if leading:
            sql = (f"SELECT {columns} FROM {table.name} WHERE {' AND '.join(f'{c} = ?' for c in leading)} AND "
                   f"{window} ORDER BY {order}")
            rows = [row for prefix in _distinct_prefixes(conn, table.name, leading)
                    for row in conn.execute(sql, (*prefix, start, start + DAY_MS))]
        else:
            rows = conn.execute(f"SELECT {columns} FROM {table.name} WHERE {window} ORDER BY {order}",
                                (start, start + DAY_MS)).fetchall()
    if table.split_by is None:
        return {None: rows}
    at, splits = table.columns.index(table.split_by), {}
    for row in rows:
        splits.setdefault(row[at], []).append(row)
    return dict(sorted(splits.items()))


def _leading_key(table: LakeTable) -> tuple[str, ...]:
    """The key columns before the time column (none when the time column is not in the key)."""
    if table.time_column not in table.key:
        return ()
    return table.key[:table.key.index(table.time_column)]


def _distinct_prefixes(conn: sqlite3.Connection, name: str, columns: tuple[str, ...]) -> list[tuple]:
    """Distinct values of the key's leading columns in key order, by one index seek each (a loose index scan)."""
    prefixes: list[tuple] = [()]
    for depth, column in enumerate(columns):
        fixed = "".join(f"{c} = ? AND " for c in columns[:depth])
        first = f"SELECT MIN({column}) FROM {name}" + (f" WHERE {fixed[:-5]}" if fixed else "")
        after = f"SELECT MIN({column}) FROM {name} WHERE {fixed}{column} > ?"
        found = []
        for prefix in prefixes:
            (value,) = conn.execute(first, prefix).fetchone()
            while value is not None:
                found.append((*prefix, value))
                (value,) = conn.execute(after, (*prefix, value)).fetchone()
        prefixes = found
    return prefixes


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
