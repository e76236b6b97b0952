"""The lake in Dagster (group `lake`).

- `market_lake`: daily-partitioned like the history assets; each day of market and trading history as Parquet in
  the archive store (local folder or R2) with its manifest; a range backfills as one run; re-running a day
  rewrites the same bytes. Metadata: rows, bytes, the file keys, rows per table.
- `clone_analytics`: DuckDB over the lake's newest days: return, drawdown, turnover, fees, decisions and model
  usage per clone, context and day (a table in the metadata, and `lake/analytics/clone_daily.parquet`).
"""

import dagster as dg
from pydantic import Field

from clash_pipeline.defs.partitions import daily, one_run_per_range
from clash_pipeline.defs.resources import ArchiveResource, MarketMemoryResource
from clash_pipeline.lake.analytics import clone_daily
from clash_pipeline.lake.store import Lake, LakeLocation

GROUP = "lake"
ANALYTICS_KEY = "lake/analytics/clone_daily.parquet"
PREVIEW_ROWS = 50


def lake_of(archive: ArchiveResource) -> Lake:
    """The lake in the archive's store."""
    return Lake(LakeLocation(archive.backend, archive.root, archive.endpoint_url, archive.bucket,
                             archive.access_key_id, archive.secret_access_key))


@dg.asset(group_name=GROUP, kinds={"parquet"}, partitions_def=daily, backfill_policy=one_run_per_range,
          deps=["hyperliquid_candles", "hyperliquid_funding_history", "hyperliquid_volatility", "defillama_history",
                "polymarket_markets"])
def market_lake(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource,
                archive: ArchiveResource) -> dg.MaterializeResult:
    """Each day of the run's partitions as Parquet files and a manifest in the lake."""
    from clash_pipeline.lake.export import export_day

    lake = lake_of(archive)
    with market_memory.connect() as conn:
        manifests = [export_day(conn, lake, day, progress=context.log.debug) for day in context.partition_keys]
    files = [f for m in manifests for f in m["files"]]
    by_table: dict[str, int] = {}
    for f in files:
        by_table[f["table"]] = by_table.get(f["table"], 0) + f["rows"]
    for m in manifests:
        context.log.info(f"lake {m['day']}: {len(m['files'])} files, {m['rows']} rows, {m['bytes']} bytes")
    rows = sum(m["rows"] for m in manifests)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "rows": rows, "bytes": sum(m["bytes"] for m in manifests), "files": len(files),
        "file_keys": dg.MetadataValue.json([f["key"] for f in files]),
        "manifests": dg.MetadataValue.json([f"lake/manifests/{m['day']}.json" for m in manifests]),
        "rows_by_table": dg.MetadataValue.json(by_table), "lake": lake.describe(),
    })


class AnalyticsConfig(dg.Config):
    """How many of the lake's newest days, and model prices over the runtime's price table (the one the
    `model_budget` gate uses; a model it does not list is priced at its `*` fallback)."""

    days: int = Field(default=30, description="How many of the lake's newest days to analyse.")
    model_prices: dict[str, list[float]] = Field(
        default={}, description="model -> [USD per million input tokens, USD per million output tokens], over the "
                                "runtime's price table (decisions/costs.py and the `prices` of engines.json), which "
                                "the model_budget gate uses too.")


@dg.asset(group_name=GROUP, kinds={"duckdb", "pandas"}, deps=[market_lake])
def clone_analytics(context: dg.AssetExecutionContext, config: AnalyticsConfig,
                    archive: ArchiveResource) -> dg.MaterializeResult:
    """Cross-clone daily analytics over the lake (DuckDB + pandas)."""
    from clash_pipeline.lake.export import frame_parquet

    lake = lake_of(archive)
    days = lake.days()[-config.days:]
    if not days:
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "note": "the lake is empty: materialize "
                                                                              "market_lake first"})
    frame = clone_daily(lake, days[0], days[-1], _prices(config.model_prices))
    lake.put(ANALYTICS_KEY, frame_parquet(frame))
    preview = frame.head(PREVIEW_ROWS).astype(object).where(frame.head(PREVIEW_ROWS).notna(), None)
    records = [dg.TableRecord({k: v for k, v in row.items() if v is not None})
               for row in preview.to_dict(orient="records")]
    columns = [dg.TableColumn(name, "string" if frame[name].dtype == object or name in ("clone", "context", "day")
                              else "float") for name in frame.columns]
    cost = frame["model_cost_usd"]
    note = ("model cost: every token used is priced (hold and rules use none)" if cost.notna().all() else
            "model cost: absent where tokens have no price (the price table has no fallback)")
    context.log.info(f"clone analytics: {len(frame)} rows over {days[0]}..{days[-1]}; {note}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame), "days": f"{days[0]}..{days[-1]}", "clones": int(frame["clone_id"].nunique()),
        "model_cost_usd": float(cost.fillna(0).sum()), "model_cost_note": note, "file_key": ANALYTICS_KEY,
        "clone_daily": dg.MetadataValue.table(records, dg.TableSchema(columns)),
    })


def _prices(overrides: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
    """The price table the runtime's budgets use (defaults, engines.json, then the launch config's overrides)."""
    from clash_pipeline.decisions.costs import ModelPrice, PriceTable
    from clash_pipeline.decisions.service import engine_config
    from clash_pipeline.settings import load_settings

    table = engine_config(load_settings().home).get("prices") or PriceTable()
    table.prices.update({model: ModelPrice(p[0], p[1]) for model, p in overrides.items()})
    return {model: (float(p.input_per_mtok), float(p.output_per_mtok)) for model, p in table.prices.items()}


defs = dg.Definitions(assets=[market_lake, clone_analytics])
