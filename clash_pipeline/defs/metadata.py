"""Asset metadata from what a write did: row counts, time ranges, previews, numbers the UI plots."""


from collections.abc import Sequence

import dagster as dg

from clash_pipeline.ingest.load import Load
from clash_pipeline.timeutil import iso


def _preview_md(load: Load) -> str:
    if not load.preview:
        return "_no rows_"
    columns = list(load.preview[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in load.preview]
    return "\n".join(lines)


def _cell(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def load_metadata(loads: Sequence[Load]) -> dict[str, object]:
    """`dagster/row_count` is the first (main) table's rows; each table adds rows, time range and a preview."""
    metadata: dict[str, object] = {"dagster/row_count": loads[0].rows if loads else 0}
    for load in loads:
        prefix = load.table
        metadata[f"{prefix}/rows"] = load.rows
        if load.first_ms is not None:
            metadata[f"{prefix}/first"] = iso(load.first_ms)
            metadata[f"{prefix}/last"] = iso(load.last_ms)
            metadata[f"{prefix}/last_ms"] = dg.MetadataValue.timestamp(load.last_ms / 1000)
        metadata[f"{prefix}/preview"] = dg.MetadataValue.md(_preview_md(load))
    return metadata


def raw_metadata(raws: Sequence[object]) -> dict[str, object]:
    """Numbers for a raw pull: responses and bytes fetched."""
    return {"responses": len(raws), "bytes": sum(len(raw.body) for raw in raws)}
