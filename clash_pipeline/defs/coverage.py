"""Market data that follows the clones, in Dagster.

- `market_coverage`: per enabled asset and channel its read plans read, the newest row and its age (metadata);
  its check `coverage` fails when an enabled asset has no data fresher than twice its cadence in such a channel.
- `coverage_backfill_sensor`: when clones, auditions or races demand assets whose history does not reach over
  the window their plans need, requests ONE run of the history job for the whole batch, over the days needed,
  with config naming the coins; the run plans its pulls by Hyperliquid weight and reports fetched and skipped.
"""

import json

import dagster as dg

from clash_pipeline.defs.hyperliquid_history import history_job
from clash_pipeline.defs.resources import MarketMemoryResource
from clash_pipeline.ingest.coverage import ChannelCoverage, Status, coverage, format_coverage
from clash_pipeline.ingest.demand import RUN_WEIGHT_BUDGET, backfill_batch, backfill_gaps, compute_demand
from clash_pipeline.settings import load_settings
from clash_pipeline.timeutil import now_ms

SETTINGS = load_settings()
GROUP = "coverage"
SHOWN = 80
DEPS = ["hyperliquid_candles", "hyperliquid_funding_history", "hyperliquid_volatility", "hyperliquid_mids",
        "hyperliquid_asset_contexts", "hyperliquid_liquidity", "hyperliquid_funding_pressure", "clone_read_plans"]


def _report(market_memory: MarketMemoryResource) -> tuple[list[ChannelCoverage], list[str]]:
    with market_memory.connect() as conn:
        demand = compute_demand(conn, SETTINGS.coins, SETTINGS.intervals)
        return coverage(conn, demand, now_ms()), demand.problems


def _metadata(lines: list[ChannelCoverage], problems: list[str]) -> dict:
    failing = [c for c in lines if c.failing]
    shown = failing[:SHOWN] or lines[:SHOWN]
    return {
        "enabled_assets": len({c.coin for c in lines}), "channels": len(lines), "failing": len(failing),
        "fresh": sum(c.status == Status.FRESH for c in lines),
        "not_applicable": sum(c.status == Status.NOT_APPLICABLE for c in lines),
        ("failing_channels" if failing else "channels_preview"): dg.MetadataValue.md(
            "```\n" + format_coverage(shown) + "\n```"),
        "demand_problems": dg.MetadataValue.json(problems),
    }


@dg.asset(group_name=GROUP, kinds={"sqlite"}, deps=DEPS)
def market_coverage(market_memory: MarketMemoryResource) -> dg.MaterializeResult:
    """Per enabled asset and channel its read plans read: the newest stored row, its age and its limit."""
    lines, problems = _report(market_memory)
    return dg.MaterializeResult(metadata={"dagster/row_count": len(lines), **_metadata(lines, problems)})


@dg.asset_check(asset=market_coverage, name="coverage",
                description="Every enabled asset has data fresher than twice its cadence (plus the time a row takes "
                            "to be known) in every channel its read plans read; spot funding and unlinked "
                            "Polymarket symbols are n/a.")
def coverage_check(market_memory: MarketMemoryResource) -> dg.AssetCheckResult:
    lines, problems = _report(market_memory)
    return dg.AssetCheckResult(passed=not any(c.failing for c in lines), metadata=_metadata(lines, problems))


@dg.sensor(job=history_job, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 2 minutes: one history run for the batch of demanded assets whose history is short "
                       "of what their read plans need.")
def coverage_backfill_sensor(context: dg.SensorEvaluationContext, market_memory: MarketMemoryResource):
    """Requests one history run for the batch of newly demanded assets (a coin asked for is asked again after an
    hour if still short); the cursor keeps when each coin was last asked for."""
    now = now_ms()
    attempted: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    with market_memory.connect() as conn:
        demand = compute_demand(conn, SETTINGS.coins, SETTINGS.intervals)
        gaps = backfill_gaps(conn, demand, now, SETTINGS.history_start)
    batch = backfill_batch(gaps, attempted, now)
    if batch is None:
        return dg.SkipReason(f"{len(demand.assets)} demanded assets; "
                             + (f"{len(gaps)} series short, asked for within the hour" if gaps else "history covers them"))
    attempted.update(dict.fromkeys(batch.coins, now))
    config = {"config": {"series": batch.series, "max_weight": RUN_WEIGHT_BUDGET}}
    request = dg.RunRequest(
        run_key=f"{batch.run_key}@{now}",
        run_config={"ops": {"hyperliquid_candles_raw": config, "hyperliquid_funding_history_raw": config}},
        tags={"dagster/asset_partition_range_start": batch.first_day,
              "dagster/asset_partition_range_end": batch.last_day,
              "clash/backfill_coins": ",".join(batch.coins)[:200],
              "clash/backfill_series": str(len(batch.gaps))})
    return dg.SensorResult(run_requests=[request], cursor=json.dumps(attempted, sort_keys=True))


coverage_job = dg.define_asset_job(
    "coverage_job", selection=[market_coverage], executor_def=dg.in_process_executor,
    description="Market coverage of every enabled asset and channel, and its check.")
coverage_schedule = dg.ScheduleDefinition(name="coverage_schedule", job=coverage_job, cron_schedule="*/15 * * * *",
                                          execution_timezone="UTC", description="Market coverage every 15 minutes.")

defs = dg.Definitions(assets=[market_coverage], asset_checks=[coverage_check], jobs=[coverage_job],
                      schedules=[coverage_schedule], sensors=[coverage_backfill_sensor])
