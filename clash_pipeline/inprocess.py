"""Run the Dagster assets in process, on the local instance, for scripts, cron and the demo.

Runs land in the same instance the UI reads (DAGSTER_HOME), so they show in the UI like any other run.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from clash_pipeline.defs import defillama, hyperliquid_history, hyperliquid_snapshot, polymarket
from clash_pipeline.defs.resources import default_resources
from clash_pipeline.settings import Settings, prepare_dagster_env

SOURCES = ("hyperliquid", "polymarket", "defillama")
HISTORY = {"hyperliquid": hyperliquid_history.history_assets, "defillama": defillama.history_assets}
SNAPSHOTS = {
    "hyperliquid": [*hyperliquid_snapshot.snapshot_assets, *hyperliquid_snapshot.freshness_checks],
    "polymarket": [*polymarket.polymarket_assets, *polymarket.polymarket_checks],
    "defillama": [*defillama.snapshot_assets, *defillama.checks],
}


def local_instance() -> dg.DagsterInstance:
    prepare_dagster_env()
    return dg.DagsterInstance.get()


def _run_config(log_level: str, ops: dict) -> dict:
    return {"loggers": {"console": {"config": {"log_level": log_level}}}, "ops": ops}


def ingest_history(
    settings: Settings, instance: dg.DagsterInstance, sources: Sequence[str], first_day: str, last_day: str,
    coins: Sequence[str], intervals: Sequence[str], log_level: str = "INFO",
) -> dg.ExecuteInProcessResult | None:
    """The daily history of `sources` for first_day..last_day (inclusive), in one run."""
    assets = [asset for source in sources for asset in HISTORY.get(source, [])]
    if not assets:
        return None
    config = {"config": {"coins": list(coins), "intervals": list(intervals)}}
    ops = {"hyperliquid_candles_raw": config, "hyperliquid_funding_history_raw": config} \
        if "hyperliquid" in sources else {}
    return dg.materialize(
        assets, instance=instance, resources=default_resources(settings), run_config=_run_config(log_level, ops),
        tags={"dagster/asset_partition_range_start": first_day, "dagster/asset_partition_range_end": last_day},
    )


def ingest_snapshots(
    settings: Settings, instance: dg.DagsterInstance, sources: Sequence[str], book_coins: Sequence[str] | None,
    log_level: str = "INFO",
) -> dg.ExecuteInProcessResult:
    """One refresh of each source's snapshot assets, with their checks, in one run (`book_coins` None: the books
    of the demanded set)."""
    assets = [asset for source in sources for asset in SNAPSHOTS[source]]
    ops = {"hyperliquid_snapshot_raw": {"config": {"book_coins": list(book_coins)}}} \
        if "hyperliquid" in sources and book_coins is not None else {}
    return dg.materialize(assets, instance=instance, resources=default_resources(settings),
                          run_config=_run_config(log_level, ops))


def backfill_demanded(settings: Settings, instance: dg.DagsterInstance, first_day: str, last_day: str,
                      series: Sequence[str], log_level: str = "INFO") -> dg.ExecuteInProcessResult:
    """The history run `coverage_backfill_sensor` requests: the named series ("xyz:TSLA 15m", "BTC funding"),
    planned by weight, over first_day..last_day in one run."""
    from clash_pipeline.ingest.demand import RUN_WEIGHT_BUDGET

    config = {"config": {"series": list(series), "max_weight": RUN_WEIGHT_BUDGET}}
    return dg.materialize(
        hyperliquid_history.history_assets, instance=instance, resources=default_resources(settings),
        run_config=_run_config(log_level, {"hyperliquid_candles_raw": config,
                                           "hyperliquid_funding_history_raw": config}),
        tags={"dagster/asset_partition_range_start": first_day, "dagster/asset_partition_range_end": last_day},
    )


def check_coverage(settings: Settings, instance: dg.DagsterInstance,
                   log_level: str = "INFO") -> dg.ExecuteInProcessResult:
    """The `market_coverage` report and its `coverage` check, in one run."""
    from clash_pipeline.defs.coverage import coverage_check, market_coverage

    return dg.materialize([market_coverage, coverage_check], instance=instance, resources=default_resources(settings),
                          run_config=_run_config(log_level, {}))


def compile_clones(settings: Settings, instance: dg.DagsterInstance, keys: Sequence[str],
                   log_level: str = "INFO") -> dg.ExecuteInProcessResult:
    """Add the clones' partitions (as the sensor would) and compile their read plans in one run."""
    from clash_pipeline.defs.clones import clone_read_plans, clones_partitions

    instance.add_dynamic_partitions(clones_partitions.name, list(keys))
    return dg.materialize([clone_read_plans], instance=instance, resources=default_resources(settings),
                          run_config=_run_config(log_level, {}),
                          tags={"dagster/asset_partition_range_start": keys[0],
                                "dagster/asset_partition_range_end": keys[-1]})


def decision_tick(settings: Settings, instance: dg.DagsterInstance, log_level: str = "INFO") -> dg.ExecuteInProcessResult:
    """One decision tick through Dagster (the job the cadence sensor launches)."""
    from clash_pipeline.defs.decisions import decision_tick as tick_asset

    return dg.materialize([tick_asset], instance=instance, resources=default_resources(settings),
                          run_config=_run_config(log_level, {}))


def run_job(instance: dg.DagsterInstance, name: str, *, ops: dict | None = None, partition_key: str | None = None,
            days: tuple[str, str] | None = None, tags: dict[str, str] | None = None,
            log_level: str = "INFO") -> dg.ExecuteInProcessResult:
    """Run a named job of the code location in process on the local instance, as the daemon would launch it (the
    UI shows it under its name); `days` is a (first, last) range of daily partitions run as one run."""
    from clash_pipeline.definitions import defs
    from clash_pipeline.settings import load_settings

    ranged = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[1]} \
        if days else {}
    return defs.resolve_job_def(name).execute_in_process(
        instance=instance, partition_key=partition_key, run_config=_run_config(log_level, ops or {}),
        tags={**ranged, **(tags or {})}, resources=default_resources(load_settings()))
