"""DefiLlama: capital base, capital flows and economic throughput (global and per chain), daily history for
backfills, and the links from tradable symbols to chains and stablecoins."""

from datetime import timedelta

import dagster as dg

from clash_pipeline.defs.checks import fail_if_refused, freshness_check, isolated
from clash_pipeline.defs.hyperliquid_snapshot import hyperliquid_asset_universe
from clash_pipeline.defs.lineage import defillama_api
from clash_pipeline.defs.metadata import day_observations, load_metadata, range_labelled, raw_metadata
from clash_pipeline.defs.policies import source_retry
from clash_pipeline.defs.partitions import daily, one_run_per_range, recent_days_schedule, window_ms
from clash_pipeline.defs.resources import MarketMemoryResource, SourcesResource
from clash_pipeline.defs.tables import table_metadata
from clash_pipeline.ingest import defillama as ingest
from clash_pipeline.links.defillama import load_overrides
from clash_pipeline.memory import tables as t
from clash_pipeline.memory.checks import duplicate_keys, negative_values
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.timeutil import now_ms

GROUP = "defillama"
FRESH_WITHIN = timedelta(hours=2)


@dg.asset(io_manager_key="archive_io_manager", group_name=GROUP, kinds={"defillama", "s3"}, deps=[defillama_api])
def defillama_snapshot_raw(context: dg.AssetExecutionContext, sources: SourcesResource) -> dg.Output[list[RawResponse]]:
    """/v2/chains, /stablecoins, /stablecoinchains and fees/revenue/DEX-volume overviews (global and for the
    largest chains), with the exclude-chart flags, archived verbatim."""
    with sources.defillama() as client:
        raws = ingest.pull_snapshot(client, context.log.info)
    return dg.Output(raws, metadata=raw_metadata(raws))


@dg.asset(group_name=GROUP, kinds={"sqlite", "defillama"}, metadata=table_metadata(["dl_chains", "dl_stablecoins"]))
def defillama_capital_base(defillama_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """Chains with their current TVL and identifiers (dl_chains) and stablecoins with their supply
    (dl_stablecoins)."""
    with market_memory.connect() as conn:
        loads, refused = isolated(lambda: ingest.write_capital_base(conn, defillama_snapshot_raw, now_ms()))
        (total_tvl,) = conn.execute("SELECT SUM(tvl_usd) FROM dl_chains").fetchone()
    metadata = load_metadata(loads)
    metadata["chains_tvl_usd"] = round(float(total_tvl or 0.0), 2)
    yield dg.MaterializeResult(metadata=metadata)
    fail_if_refused(refused)


@dg.asset(group_name=GROUP, kinds={"sqlite", "defillama"}, metadata=table_metadata(["dl_throughput_summary"]))
def defillama_throughput(defillama_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """Fees, revenue and DEX volume over 24h/7d/30d with their changes, global and per chain
    (dl_throughput_summary)."""
    with market_memory.connect() as conn:
        loads, refused = isolated(lambda: ingest.write_throughput_summary(conn, defillama_snapshot_raw, now_ms()))
    metadata = load_metadata(loads)
    for row in loads[0].preview:
        if row["subject"] == "" and row["total_24h"] is not None:
            metadata[f"{row['metric']}_24h_usd"] = round(float(row["total_24h"]), 2)
    yield dg.MaterializeResult(metadata=metadata)
    fail_if_refused(refused)


@dg.asset(group_name=GROUP, kinds={"sqlite", "defillama"}, deps=[hyperliquid_asset_universe, defillama_capital_base],
          metadata=table_metadata(["dl_asset_links"]))
def defillama_asset_links(market_memory: MarketMemoryResource):
    """Links from every symbol of the trade universe to DefiLlama chains and stablecoins, with reasons
    (dl_asset_links); derived from DefiLlama's tokenSymbol/gecko_id/symbol plus links/defillama.toml."""
    with market_memory.connect() as conn:
        load = ingest.write_links(conn, load_overrides(), now_ms())
        linked = conn.execute("SELECT COUNT(DISTINCT symbol) FROM dl_asset_links").fetchone()[0]
    metadata = load_metadata([load])
    metadata["linked_symbols"] = linked
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(partitions_def=daily, backfill_policy=one_run_per_range, io_manager_key="archive_io_manager",
          group_name=GROUP, kinds={"defillama", "s3"}, deps=[defillama_api])
def defillama_history_raw(context: dg.AssetExecutionContext, sources: SourcesResource) -> dg.Output[list[RawResponse]]:
    """Daily series (historicalChainTvl, stablecoincharts, fees/revenue/DEX-volume charts), global and for the
    largest chains. The API answers whole series, so one pull serves any range of days."""
    with sources.defillama() as client:
        raws = ingest.pull_history(client, context.log.info)
    return dg.Output(raws, metadata=range_labelled(context, raw_metadata(raws)))


@dg.asset(partitions_def=daily, backfill_policy=one_run_per_range, group_name=GROUP, kinds={"sqlite", "defillama"},
          metadata=table_metadata(["dl_tvl", "dl_stablecoin_supply", "dl_throughput", "dl_flows"]),
          check_specs=[dg.AssetCheckSpec("tvl_non_negative", asset="defillama_history",
                                         description="No TVL in the window is negative."),
                       dg.AssetCheckSpec("no_duplicate_keys", asset="defillama_history",
                                         description="No two TVL or stablecoin-supply rows share their key in the "
                                                     "window.")])
def defillama_history(
    context: dg.AssetExecutionContext, defillama_history_raw: list[RawResponse], market_memory: MarketMemoryResource
) -> dg.MaterializeResult:
    """Capital base (dl_tvl, dl_stablecoin_supply), economic throughput (dl_throughput) and capital flows
    (dl_flows: 1d/7d/30d changes) for the partition window."""
    start, end = window_ms(context)
    with market_memory.connect() as conn:
        loads = ingest.write_history(conn, defillama_history_raw, start, end)
        negative = negative_values(conn, t.DL_TVL, "tvl_usd", start, end)
        dupes = sum(duplicate_keys(conn, table, start, end) for table in (t.DL_TVL, t.DL_STABLECOIN_SUPPLY))
        day_observations(context, conn, [t.DL_TVL, t.DL_STABLECOIN_SUPPLY, t.DL_THROUGHPUT, t.DL_FLOWS])
    return dg.MaterializeResult(metadata=range_labelled(context, load_metadata(loads)), check_results=[
        dg.AssetCheckResult(check_name="tvl_non_negative", passed=negative == 0, metadata={"negative": negative}),
        dg.AssetCheckResult(check_name="no_duplicate_keys", passed=dupes == 0, metadata={"duplicates": dupes}),
    ])


snapshot_assets = [defillama_snapshot_raw, defillama_capital_base, defillama_throughput, defillama_asset_links]
history_assets = [defillama_history_raw, defillama_history]
checks = [freshness_check(defillama_capital_base, t.DL_CHAINS, FRESH_WITHIN)]
snapshot_job = dg.define_asset_job(
    "defillama_snapshot_job", selection=snapshot_assets, executor_def=dg.in_process_executor,
    op_retry_policy=source_retry,
    description="One DefiLlama refresh: chains, stablecoins, throughput, and the links from symbols to chains.")
history_job = dg.define_asset_job(
    "defillama_history_job", selection=history_assets, executor_def=dg.in_process_executor,
    op_retry_policy=source_retry,
    description="DefiLlama daily series (TVL, stablecoin supply, throughput, flows) for a day or a range of days.")
snapshot_schedule = dg.ScheduleDefinition(name="defillama_snapshot_schedule", job=snapshot_job,
                                          cron_schedule="5 * * * *", execution_timezone="UTC",
                                          description="A DefiLlama snapshot every hour at :05.")


defillama_history_schedule = recent_days_schedule(
    "defillama_history_schedule", history_job, "20 * * * *",
    "Every hour at :20: today's DefiLlama daily series (and yesterday's in the first hour).")


defs = dg.Definitions(assets=[*snapshot_assets, *history_assets], asset_checks=checks,
                      jobs=[snapshot_job, history_job], schedules=[snapshot_schedule, defillama_history_schedule])
