"""What an operator watches: freshness checked on a schedule (not only when an asset materializes), and every
failed run recorded in market memory (`run_failures`) and in the sensor's log."""

from datetime import timedelta

import dagster as dg

from clash_pipeline.defs.resources import MarketMemoryResource
from clash_pipeline.memory.run_failures import RunFailure, record_run_failure
from clash_pipeline.timeutil import now_ms

# Snapshot assets and how recently each must have been updated (twice its schedule's period, at least 15 min).
FRESHNESS = {
    timedelta(minutes=15): ["hyperliquid_mids", "hyperliquid_asset_contexts", "hyperliquid_liquidity",
                            "hyperliquid_funding_pressure", "hyperliquid_asset_universe"],
    timedelta(minutes=30): ["polymarket_markets", "polymarket_books"],
    timedelta(hours=2): ["defillama_capital_base", "defillama_throughput"],
}
freshness_checks = [check for delta, assets in FRESHNESS.items()
                    for check in dg.build_last_update_freshness_checks(assets=assets, lower_bound_delta=delta)]
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks, minimum_interval_seconds=300, name="snapshot_freshness_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING)


def _innermost(error) -> str:
    """The user's error under Dagster's wrappers ("ValueError: ..."), not "Error occurred while executing op"."""
    while error.cause is not None:
        error = error.cause
    return error.message


def _failure(context: dg.RunFailureSensorContext) -> RunFailure:
    run = context.dagster_run
    steps = context.get_step_failure_events()
    error = next((_innermost(e.event_specific_data.error) for e in steps
                  if e.event_specific_data and e.event_specific_data.error), None)
    tags = run.tags
    partition = tags.get("dagster/partition") or (
        f"{tags['dagster/asset_partition_range_start']}..{tags['dagster/asset_partition_range_end']}"
        if "dagster/asset_partition_range_start" in tags else None)
    return RunFailure(run_id=run.run_id, job_name=run.job_name, failed_ms=now_ms(), partition_key=partition,
                      failed_steps=",".join(e.step_key or "" for e in steps),
                      error=(error or context.failure_event.message or "run failed").strip())


@dg.run_failure_sensor(name="run_failure_recorder", minimum_interval_seconds=30,
                       default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Records every failed run (job, partition, failed steps, first error line) in "
                                   "market memory's run_failures table and in this sensor's log.")
def run_failure_recorder(context: dg.RunFailureSensorContext, market_memory: MarketMemoryResource) -> None:
    failure = _failure(context)
    with market_memory.connect() as conn:
        new = record_run_failure(conn, failure)
    if new:
        context.log.warning(f"run {failure.run_id} of {failure.job_name} failed "
                            f"({failure.partition_key or 'unpartitioned'}; {failure.failed_steps}): {failure.error}")


defs = dg.Definitions(asset_checks=freshness_checks, sensors=[freshness_sensor, run_failure_recorder])
