"""Asset metadata from what a write did: row counts, time ranges, previews, numbers the UI plots.

A range run (one run over many days) records ONE materialization that Dagster copies to every day it covers: its
metadata is the range's, and its keys say so (`range/row_count`); each day's own figures are an
`AssetObservation` of that day (`day_observations`)."""


import sqlite3
from collections.abc import Sequence

import dagster as dg

from clash_pipeline.ingest.load import Load
from clash_pipeline.memory.upsert import Table
from clash_pipeline.timeutil import DAY_MS, day_start_ms, iso
from clash_pipeline.universe.names import labelled


def _preview_md(load: Load, names: dict[str, str]) -> str:
    if not load.preview:
        return "_no rows_"
    columns = list(load.preview[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(labelled(row[c], names) if c == "coin" and isinstance(row[c], str) else
                                _cell(row[c], c) for c in columns) + " |" for row in load.preview]
    return "\n".join(lines)


def _cell(value: object, column: str = "") -> str:
    """Readable: epoch-ms columns as ISO times, floats to 6 significant digits."""
    if column.endswith("_ms") and isinstance(value, int) and not column.endswith("window_ms"):
        return iso(value)
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def load_metadata(loads: Sequence[Load], names: dict[str, str] | None = None) -> dict[str, object]:
    """`dagster/row_count` is the first (main) table's rows; each table adds rows, time range and a preview (coins
    by display name with `names`: `HYPE/USDC (@107)`)."""
    metadata: dict[str, object] = {"dagster/row_count": loads[0].rows if loads else 0}
    for load in loads:
        prefix = load.table
        metadata[f"{prefix}/rows"] = load.rows
        if load.first_ms is not None:
            metadata[f"{prefix}/first"] = iso(load.first_ms)
            metadata[f"{prefix}/last"] = iso(load.last_ms)
            metadata[f"{prefix}/last_ms"] = dg.MetadataValue.timestamp(load.last_ms / 1000)
        metadata[f"{prefix}/preview"] = dg.MetadataValue.md(_preview_md(load, names or {}))
    return metadata


def raw_metadata(raws: Sequence[object]) -> dict[str, object]:
    """Numbers for a raw pull: responses and bytes fetched."""
    return {"responses": len(raws), "bytes": sum(len(raw.body) for raw in raws)}


def range_labelled(context: dg.AssetExecutionContext, metadata: dict[str, object]) -> dict[str, object]:
    """A one-day run's metadata is that day's; a range run's keys are prefixed `range/` (`dagster/row_count`
    becomes `range/row_count`), beside the days the range covers."""
    days = context.partition_keys if context.has_partition_key_range or context.has_partition_key else []
    if len(days) <= 1:
        return metadata
    labelled: dict[str, object] = {"range/days": len(days), "range/first_day": days[0], "range/last_day": days[-1]}
    labelled.update({f"range/{key.removeprefix('dagster/')}": value for key, value in metadata.items()})
    return labelled


def day_figures(conn: sqlite3.Connection, tables: Sequence[Table], day: str) -> dict[str, object]:
    """One day's own stored rows of each table (the first table's are `dagster/row_count`) and its time range."""
    start = day_start_ms(day)
    figures: dict[str, object] = {}
    for table in tables:
        rows, first, last = conn.execute(
            f"SELECT COUNT(*), MIN({table.time_column}), MAX({table.time_column}) FROM {table.name} "
            f"WHERE {table.time_column} >= ? AND {table.time_column} < ?", (start, start + DAY_MS)).fetchone()
        figures.setdefault("dagster/row_count", rows)
        figures[f"{table.name}/rows"] = rows
        if first is not None:
            figures[f"{table.name}/first"] = iso(first)
            figures[f"{table.name}/last"] = iso(last)
    return figures


def day_observations(context: dg.AssetExecutionContext, conn: sqlite3.Connection,
                     tables: Sequence[Table]) -> dict[str, dict[str, object]]:
    """Each day's own figures; in a range run, logged as an observation of that day (a one-day run's
    materialization already is the day's)."""
    figures = {day: day_figures(conn, tables, day) for day in context.partition_keys}
    if len(figures) > 1:
        for day, metadata in figures.items():
            context.log_event(dg.AssetObservation(asset_key=context.asset_key, partition=day,
                                                  metadata={"day": day, **metadata}))
    return figures
