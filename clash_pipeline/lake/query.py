"""DuckDB over the lake: one view per table, named as in market memory (`hl_candles`, `decision_runs`, ...), over
the Parquet files the manifests list, scanned through pyarrow's filesystem (local folder or S3/R2) with
projection and filter pushdown. History tables cover the chosen days; reference tables are the newest partition's."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow.dataset as ds

from clash_pipeline.lake.schemas import TABLES, Kind
from clash_pipeline.lake.store import Lake


def lake_files(lake: Lake, start: str | None = None, end: str | None = None) -> dict[str, list[dict]]:
    """Each table's files: history tables over the days in [start, end] (inclusive; None: unbounded), reference
    tables from the newest partition in the lake."""
    days = lake.days()
    files: dict[str, list[dict]] = {t.name: [] for t in TABLES}
    kinds = {t.name: t.kind for t in TABLES}
    selected = [d for d in days if (start is None or d >= start) and (end is None or d <= end)]
    for day in selected:
        for entry in lake.manifest(day)["files"]:
            if kinds.get(entry["table"]) not in (None, Kind.REFERENCE):
                files[entry["table"]].append(entry)
    if days:
        for entry in lake.manifest(days[-1])["files"]:
            if kinds.get(entry["table"]) is Kind.REFERENCE:
                files[entry["table"]].append(entry)
    return files


def connect(lake: Lake, start: str | None = None, end: str | None = None,
            extra: dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake's views (and `extra` frames or Arrow tables registered by name)."""
    con = duckdb.connect()
    files = lake_files(lake, start, end)
    parquet = ds.ParquetFileFormat()
    for table in TABLES:
        # fragments sized from the manifests: no listing and no HEAD request per file
        fragments = [parquet.make_fragment(lake.path(f["key"]), filesystem=lake.filesystem, file_size=f["bytes"])
                     for f in files[table.name]]
        source = (ds.FileSystemDataset(fragments, table.schema, parquet, lake.filesystem) if fragments
                  else table.schema.empty_table())
        con.register(table.name, source)
    for name, frame in (extra or {}).items():
        con.register(name, frame)
    return con


def run_query(lake: Lake, sql: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """The query's result as a frame."""
    con = connect(lake, start, end)
    try:
        return con.sql(sql).df()
    finally:
        con.close()

