"""Hyperliquid market history: candles and funding, daily-partitioned for backfills, and the volatility profile.

A backfill of many days runs as one run per contiguous range (`BackfillPolicy.single_run()`); every write is an
upsert over the run's time window, so re-running a range changes nothing.
"""


import dagster as dg
from pydantic import Field

from clash_pipeline.defs.checks import blocked
from clash_pipeline.defs.lineage import hyperliquid_api, volatility_candles
from clash_pipeline.defs.metadata import day_observations, load_metadata, range_labelled, raw_metadata
from clash_pipeline.defs.policies import source_retry
from clash_pipeline.defs.partitions import daily, one_run_per_range, recent_days_schedule, window_ms
from clash_pipeline.defs.resources import SourcesResource, MarketMemoryResource
from clash_pipeline.defs.tables import table_metadata
from clash_pipeline.defs.weights import plan_metadata
from clash_pipeline.ingest import hyperliquid as ingest
from clash_pipeline.ingest.load import BlockingCheckFailed
from clash_pipeline.ingest.demand import RUN_WEIGHT_BUDGET, HistoryPlan, compute_demand, plan_history
from clash_pipeline.memory.checks import candle_gaps, candle_ohlc_violations, duplicate_keys
from clash_pipeline.memory.tables import HL_CANDLES, HL_FUNDING_HISTORY, HL_VOLATILITY
from clash_pipeline.settings import load_settings
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.timeutil import now_ms
from clash_pipeline.universe.names import display_names

SETTINGS = load_settings()
GROUP = "hyperliquid_history"


class HistoryConfig(dg.Config):
    """Which coins and candle intervals to pull. Default: the demanded set (every asset an active clone, audition
    or race entrant enables, CLASH_COINS as a floor), each at the intervals its read plans use; funding for perps
    only. Pulls are planned by Hyperliquid weight within `max_weight` (default: 3,600 for the demanded set, no cap
    for named coins, whose pulls the client still paces at 1,200 a minute); the run's metadata lists what was
    fetched and what was skipped."""

    coins: list[str] | None = Field(default=None, description="Coins to pull (default: the demanded set).")
    intervals: list[str] | None = Field(
        default=None, description="Candle intervals, e.g. 1m, 1h (default: the intervals the read plans use).")
    series: list[str] | None = Field(
        default=None, description='Only these series, e.g. "xyz:TSLA 15m", "BTC funding" (what a backfill names).')
    max_weight: int | None = Field(
        default=None, description="Hyperliquid weight budget of the run (default: 3,600 for the demanded set, no "
                                  "cap for named coins).")


def _plan(context: dg.AssetExecutionContext, config: HistoryConfig, market_memory: MarketMemoryResource) -> HistoryPlan:
    start, end = window_ms(context)
    with market_memory.connect() as conn:
        demand = compute_demand(conn, SETTINGS.coins, SETTINGS.intervals)
    for problem in demand.problems:
        context.log.warning(f"demand: {problem}")
    budget = config.max_weight or (RUN_WEIGHT_BUDGET if config.coins is None and not config.series else None)
    return plan_history(demand, config.coins, config.intervals, start, end, now_ms(), budget, config.series)


@dg.asset(partitions_def=daily, backfill_policy=one_run_per_range, io_manager_key="archive_io_manager",
          group_name=GROUP, kinds={"hyperliquid", "s3"}, deps=[hyperliquid_api])
def hyperliquid_candles_raw(
    context: dg.AssetExecutionContext, config: HistoryConfig, sources: SourcesResource,
    market_memory: MarketMemoryResource,
) -> dg.Output[list[RawResponse]]:
    """candleSnapshot responses for the partition window, paged by 5,000 candles, archived verbatim."""
    plan = _plan(context, config, market_memory)
    with sources.hyperliquid() as client:
        raws = ingest.pull_planned(client, plan, "candleSnapshot", context.log.info)
    return dg.Output(raws, metadata=range_labelled(context, {**raw_metadata(raws),
                                                             **plan_metadata(plan, "candleSnapshot")}))


@dg.asset(partitions_def=daily, backfill_policy=one_run_per_range, group_name=GROUP,
          kinds={"sqlite", "hyperliquid"}, metadata=table_metadata(["hl_candles"]),
          check_specs=[dg.AssetCheckSpec("no_duplicate_keys", asset="hyperliquid_candles",
                                         description="No two candles share (coin, interval, open time) in the window."),
                       dg.AssetCheckSpec("ohlc_sane", asset="hyperliquid_candles", blocking=True,
                                         description="Every candle has low <= open, close <= high and volume >= 0; "
                                                     "runs before the commit too (a failure rolls the window back)."),
                       dg.AssetCheckSpec("no_gap", asset="hyperliquid_candles",
                                         description="No series misses a candle between its first and last in the "
                                                     "window.")])
def hyperliquid_candles(
    context: dg.AssetExecutionContext, hyperliquid_candles_raw: list[RawResponse], market_memory: MarketMemoryResource
):
    """OHLC candles (hl_candles), upserted over the window, with duplicate, OHLC and gap checks (`ohlc_sane` runs
    before the commit too: a failure rolls the window back, is reported, and fails the step)."""
    start, end = window_ms(context)
    with market_memory.connect() as conn:
        try:
            load = ingest.write_candles(conn, hyperliquid_candles_raw, start, end)
        except BlockingCheckFailed as failed:
            yield from blocked(failed)
        for day, figures in day_observations(context, conn, [HL_CANDLES]).items():
            context.log.info(f"candles {day}: {figures['dagster/row_count']} rows stored")
        dupes = duplicate_keys(conn, HL_CANDLES, start, end)
        bad = candle_ohlc_violations(conn, start, end)
        gaps = candle_gaps(conn, start, min(end, now_ms()))
        names = display_names(conn)
    yield dg.MaterializeResult(
        metadata=range_labelled(context, load_metadata([load], names)),
        check_results=[
            dg.AssetCheckResult(check_name="no_duplicate_keys", passed=dupes == 0, metadata={"duplicates": dupes}),
            dg.AssetCheckResult(check_name="ohlc_sane", passed=bad == 0, metadata={"violations": bad}),
            dg.AssetCheckResult(check_name="no_gap", passed=not gaps,
                                metadata={"series_with_gaps": len(gaps), "gaps": dg.MetadataValue.json(gaps[:20])}),
        ],
    )


@dg.asset(partitions_def=daily, backfill_policy=one_run_per_range, io_manager_key="archive_io_manager",
          group_name=GROUP, kinds={"hyperliquid", "s3"}, deps=[hyperliquid_api])
def hyperliquid_funding_history_raw(
    context: dg.AssetExecutionContext, config: HistoryConfig, sources: SourcesResource,
    market_memory: MarketMemoryResource,
) -> dg.Output[list[RawResponse]]:
    """fundingHistory responses (perps only) for the window, paged on the last returned time, archived verbatim."""
    plan = _plan(context, config, market_memory)
    with sources.hyperliquid() as client:
        raws = ingest.pull_planned(client, plan, "fundingHistory", context.log.info)
    return dg.Output(raws, metadata=range_labelled(context, {**raw_metadata(raws),
                                                             **plan_metadata(plan, "fundingHistory")}))


@dg.asset(partitions_def=daily, backfill_policy=one_run_per_range, group_name=GROUP,
          kinds={"sqlite", "hyperliquid"}, metadata=table_metadata(["hl_funding_history"]),
          check_specs=[dg.AssetCheckSpec("no_duplicate_keys", asset="hyperliquid_funding_history",
                                         description="No two funding rows share (coin, hour) in the window.")])
def hyperliquid_funding_history(
    context: dg.AssetExecutionContext, hyperliquid_funding_history_raw: list[RawResponse],
    market_memory: MarketMemoryResource,
) -> dg.MaterializeResult:
    """Hourly funding history (hl_funding_history), keyed on the hour."""
    start, end = window_ms(context)
    with market_memory.connect() as conn:
        load = ingest.write_funding_history(conn, hyperliquid_funding_history_raw, start, end)
        dupes = duplicate_keys(conn, HL_FUNDING_HISTORY, start, end)
        day_observations(context, conn, [HL_FUNDING_HISTORY])
        names = display_names(conn)
    return dg.MaterializeResult(
        metadata=range_labelled(context, load_metadata([load], names)),
        check_results=[dg.AssetCheckResult(check_name="no_duplicate_keys", passed=dupes == 0,
                                           metadata={"duplicates": dupes})],
    )


@dg.asset(partitions_def=daily, backfill_policy=one_run_per_range, group_name=GROUP,
          kinds={"sqlite", "hyperliquid"}, deps=[volatility_candles()], metadata=table_metadata(["hl_volatility"]))
def hyperliquid_volatility(
    context: dg.AssetExecutionContext, market_memory: MarketMemoryResource
) -> dg.MaterializeResult:
    """Volatility profile (hl_volatility): realized volatility over 14/30/90 candles and ATR, hourly."""
    start, end = window_ms(context)
    with market_memory.connect() as conn:
        series = conn.execute("SELECT DISTINCT coin, interval FROM hl_candles WHERE open_ms >= ? AND open_ms < ?",
                              (start, end)).fetchall()
        coins = sorted({coin for coin, _ in series})
        intervals = sorted({interval for _, interval in series})
        load = ingest.write_volatility(conn, coins, intervals, start, end)
        day_observations(context, conn, [HL_VOLATILITY])
        names = display_names(conn)
    return dg.MaterializeResult(metadata=range_labelled(context, load_metadata([load], names)))


history_assets = [hyperliquid_candles_raw, hyperliquid_candles, hyperliquid_funding_history_raw,
                  hyperliquid_funding_history, hyperliquid_volatility]
history_job = dg.define_asset_job(
    "hyperliquid_history_job", selection=history_assets, executor_def=dg.in_process_executor,
    op_retry_policy=source_retry,
    description="Hyperliquid candles and funding history for a day or a range of days (one run per range), then "
                "the volatility profile; the run plans its pulls by weight and says what it fetched and skipped.")


# Every 15 minutes: today's candles so far (and yesterday's complete day in the first hour of a day).
hyperliquid_history_schedule = recent_days_schedule(
    "hyperliquid_history_schedule", history_job, "*/15 * * * *",
    "Every 15 minutes: today's Hyperliquid history so far (and yesterday's complete day in the first hour).")

defs = dg.Definitions(assets=history_assets, jobs=[history_job], schedules=[hyperliquid_history_schedule])
