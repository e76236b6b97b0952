"""Run the Dagster assets in process, on the local instance, for scripts, cron and the demo.

Runs land in the same instance the UI reads (DAGSTER_HOME), so they show in the UI like any other run.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from clash_pipeline.defs.hyperliquid_history import history_assets
from clash_pipeline.defs.hyperliquid_snapshot import freshness_checks, snapshot_assets
from clash_pipeline.defs.resources import default_resources
from clash_pipeline.settings import Settings, prepare_dagster_env

QUIET = "WARNING"


def _run_config(log_level: str, ops: dict | None = None) -> dict:
    return {"loggers": {"console": {"config": {"log_level": log_level}}}, **({"ops": ops} if ops else {})}


def local_instance() -> dg.DagsterInstance:
    prepare_dagster_env()
    return dg.DagsterInstance.get()


def ingest_history(
    settings: Settings, instance: dg.DagsterInstance, first_day: str, last_day: str,
    coins: Sequence[str], intervals: Sequence[str], log_level: str = "INFO",
) -> dg.ExecuteInProcessResult:
    """Candles, funding history and volatility for the days first_day..last_day (inclusive), in one run."""
    config = {"config": {"coins": list(coins), "intervals": list(intervals)}}
    return dg.materialize(
        history_assets,
        instance=instance,
        resources=default_resources(settings),
        run_config=_run_config(log_level, {"hyperliquid_candles_raw": config,
                                           "hyperliquid_funding_history_raw": config}),
        tags={"dagster/asset_partition_range_start": first_day, "dagster/asset_partition_range_end": last_day},
    )


def ingest_snapshot(
    settings: Settings, instance: dg.DagsterInstance, book_coins: Sequence[str], log_level: str = "INFO"
) -> dg.ExecuteInProcessResult:
    """One refresh of the universe, mids, contexts, books and funding pressure, with the freshness checks."""
    return dg.materialize(
        [*snapshot_assets, *freshness_checks],
        instance=instance,
        resources=default_resources(settings),
        run_config=_run_config(log_level, {"hyperliquid_snapshot_raw": {"config": {"book_coins": list(book_coins)}}}),
    )
