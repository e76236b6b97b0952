"""Run the Dagster assets in process, on the local instance, for scripts, cron and the demo.

Runs land in the same instance the UI reads (DAGSTER_HOME), so they show in the UI like any other run, with
Dagster's whole event log (tracebacks included). On the terminal a run prints only what its assets report
(progress lines, warnings) unless `RunLog.VERBOSE` asks for Dagster's own console log. A run interrupted by
SIGINT or SIGTERM is marked failed before the process exits, so it never holds a slot of the run queue.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, DagsterRunStatus, RunsFilter
from dagster._loggers import colored_console_logger

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
INVOCATION_TAG = "clash/invocation"  # one value per call, to find this process's runs after an interrupt
JOB_NAME = "__ephemeral_asset_job__"  # the name dg.materialize gives its job


class RunLog(StrEnum):
    """What an in-process run prints on stderr."""

    QUIET = "quiet"  # the assets' warnings and errors, one line each
    PROGRESS = "progress"  # and their progress lines
    VERBOSE = "verbose"  # Dagster's console log: every event, with tracebacks


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped an in-process run; the run was marked failed."""


def local_instance() -> dg.DagsterInstance:
    prepare_dagster_env()
    return dg.DagsterInstance.get()


@dg.logger(config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
           description="What the assets say (progress, warnings), one plain line each, on stderr.")
def asset_lines_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("clash_pipeline.run", level=init_context.logger_config["log_level"])
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_from_asset_code)
    handler.setFormatter(_AssetLineFormatter())
    logger.addHandler(handler)
    return logger


def _from_asset_code(record: logging.LogRecord) -> bool:
    """Messages an asset logged, not Dagster's events (step started, failed with a traceback, ...)."""
    meta = getattr(record, "dagster_meta", None)
    return meta is not None and meta.get("dagster_event") is None


class _AssetLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = record.dagster_meta["orig_message"]  # type: ignore[attr-defined]
        return line if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {line}"


def run_assets(settings: Settings, instance: dg.DagsterInstance, assets: Sequence, ops: dict, run_log: RunLog,
                 tags: dict | None = None) -> dg.ExecuteInProcessResult:
    """dg.materialize with this module's loggers; an interrupt marks the run failed and raises Interrupted."""
    verbose = run_log is RunLog.VERBOSE
    logger_key = "console" if verbose else "asset_lines"
    defs = dg.Definitions(jobs=[dg.define_asset_job(JOB_NAME)], assets=list(assets),
                          resources=default_resources(settings),
                          loggers={logger_key: colored_console_logger if verbose else asset_lines_logger})
    level = "WARNING" if run_log is RunLog.QUIET else "INFO"
    invocation = uuid.uuid4().hex
    with _interrupts_fail_runs(instance, invocation):
        return defs.resolve_job_def(JOB_NAME).execute_in_process(
            run_config={"loggers": {logger_key: {"config": {"log_level": level}}}, "ops": ops}, instance=instance,
            tags={**(tags or {}), INVOCATION_TAG: invocation})


@contextmanager
def _interrupts_fail_runs(instance: dg.DagsterInstance, invocation: str) -> Iterator[None]:
    """SIGTERM interrupts like SIGINT (Dagster turns either into a failed run while a step executes); a run of this
    invocation still in progress after an interrupt (caught between Dagster's checkpoints) is reported failed."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if main else None
    try:
        yield
    except (KeyboardInterrupt, DagsterExecutionInterruptedError) as interrupt:
        runs = instance.get_runs(filters=RunsFilter(tags={INVOCATION_TAG: invocation}))
        for run in runs:
            if run.status in IN_PROGRESS_RUN_STATUSES or run.status == DagsterRunStatus.NOT_STARTED:
                instance.report_run_failed(run, "interrupted by SIGINT/SIGTERM")
        ids = ", ".join(run.run_id for run in runs)
        raise Interrupted(f"interrupted; run {ids} marked failed" if ids else "interrupted") from interrupt
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def ingest_history(
    settings: Settings, instance: dg.DagsterInstance, sources: Sequence[str], first_day: str, last_day: str,
    coins: Sequence[str] | None, intervals: Sequence[str] | None, run_log: RunLog = RunLog.PROGRESS,
) -> dg.ExecuteInProcessResult | None:
    """The daily history of `sources` for first_day..last_day (inclusive), in one run; coins or intervals None:
    the demanded set's (what active clones, auditions and race entrants enable, CLASH_COINS as a floor)."""
    assets = [asset for source in sources for asset in HISTORY.get(source, [])]
    if not assets:
        return None
    named = {"coins": coins, "intervals": intervals}
    config = {"config": {key: list(value) for key, value in named.items() if value is not None}}
    ops = {"hyperliquid_candles_raw": config, "hyperliquid_funding_history_raw": config} \
        if "hyperliquid" in sources else {}
    return run_assets(settings, instance, assets, ops, run_log,
                        tags={"dagster/asset_partition_range_start": first_day,
                              "dagster/asset_partition_range_end": last_day})


def ingest_snapshots(
    settings: Settings, instance: dg.DagsterInstance, sources: Sequence[str], book_coins: Sequence[str] | None,
    run_log: RunLog = RunLog.PROGRESS,
) -> dg.ExecuteInProcessResult:
    """One refresh of each source's snapshot assets, with their checks, in one run (`book_coins` None: the books
    of the demanded set)."""
    assets = [asset for source in sources for asset in SNAPSHOTS[source]]
    ops = {"hyperliquid_snapshot_raw": {"config": {"book_coins": list(book_coins)}}} \
        if "hyperliquid" in sources and book_coins is not None else {}
    return run_assets(settings, instance, assets, ops, run_log)


def backfill_demanded(settings: Settings, instance: dg.DagsterInstance, first_day: str, last_day: str,
                      series: Sequence[str], run_log: RunLog = RunLog.PROGRESS) -> dg.ExecuteInProcessResult:
    """The history run `coverage_backfill_sensor` requests: the named series ("xyz:TSLA 15m", "BTC funding"),
    planned by weight, over first_day..last_day in one run."""
    from clash_pipeline.ingest.demand import RUN_WEIGHT_BUDGET

    config = {"config": {"series": list(series), "max_weight": RUN_WEIGHT_BUDGET}}
    return run_assets(settings, instance, hyperliquid_history.history_assets,
                        {"hyperliquid_candles_raw": config, "hyperliquid_funding_history_raw": config}, run_log,
                        tags={"dagster/asset_partition_range_start": first_day,
                              "dagster/asset_partition_range_end": last_day})


def check_coverage(settings: Settings, instance: dg.DagsterInstance,
                   run_log: RunLog = RunLog.PROGRESS) -> dg.ExecuteInProcessResult:
    """The `market_coverage` report and its `coverage` check, in one run."""
    from clash_pipeline.defs.coverage import coverage_check, market_coverage

    return run_assets(settings, instance, [market_coverage, coverage_check], {}, run_log)


def compile_clones(settings: Settings, instance: dg.DagsterInstance, keys: Sequence[str],
                   run_log: RunLog = RunLog.PROGRESS) -> dg.ExecuteInProcessResult:
    """Add the clones' partitions (as the sensor would) and compile their read plans in one run of
    `clone_read_plans_job`."""
    from clash_pipeline.defs.clones import clones_partitions

    instance.add_dynamic_partitions(clones_partitions.name, list(keys))
    return run_job(instance, "clone_read_plans_job", partition_range=(keys[0], keys[-1]), run_log=run_log)


def decision_tick(settings: Settings, instance: dg.DagsterInstance,
                  run_log: RunLog = RunLog.PROGRESS) -> dg.ExecuteInProcessResult:
    """One decision tick through Dagster (the job the cadence sensor launches)."""
    from clash_pipeline.defs.decisions import decision_tick as tick_asset

    return run_assets(settings, instance, [tick_asset], {}, run_log)


def run_job(instance: dg.DagsterInstance, name: str, *, ops: dict | None = None, partition_key: str | None = None,
            partition_range: tuple[str, str] | None = None, tags: dict[str, str] | None = None,
            run_log: RunLog = RunLog.QUIET) -> dg.ExecuteInProcessResult:
    """Run a named job of the code location in process on the local instance, as the daemon would launch it (the
    UI shows it under its name); `partition_range` is a (first, last) range of partition keys run as one run. Its
    log on the terminal is Dagster's console log: warnings and errors only, unless `RunLog.VERBOSE`."""
    from clash_pipeline.definitions import defs
    from clash_pipeline.settings import load_settings

    ranged = {"dagster/asset_partition_range_start": partition_range[0],
              "dagster/asset_partition_range_end": partition_range[1]} if partition_range else {}
    level = "INFO" if run_log is RunLog.VERBOSE else "WARNING"
    invocation = uuid.uuid4().hex
    with _interrupts_fail_runs(instance, invocation):
        return defs.resolve_job_def(name).execute_in_process(
            instance=instance, partition_key=partition_key,
            run_config={"loggers": {"console": {"config": {"log_level": level}}}, "ops": ops or {}},
            tags={**ranged, **(tags or {}), INVOCATION_TAG: invocation}, resources=default_resources(load_settings()))
