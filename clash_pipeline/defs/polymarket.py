"""Polymarket: markets related to the tracked symbols, their links, horizons and books, refreshed on a schedule."""

from datetime import timedelta

import dagster as dg

from clash_pipeline.defs.checks import blocked, fail_if_refused, freshness_check, isolated
from clash_pipeline.defs.hyperliquid_snapshot import hyperliquid_asset_universe
from clash_pipeline.defs.lineage import polymarket_api
from clash_pipeline.defs.metadata import load_metadata, raw_metadata
from clash_pipeline.defs.policies import source_retry
from clash_pipeline.defs.resources import MarketMemoryResource, SourcesResource
from clash_pipeline.defs.tables import table_metadata
from clash_pipeline.ingest import polymarket as ingest
from clash_pipeline.ingest.load import BlockingCheckFailed
from clash_pipeline.links.polymarket import load_mapping, universe_symbols
from clash_pipeline.memory import tables as t
from clash_pipeline.memory.checks import binary_prices_out_of_range, duplicate_keys
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.timeutil import now_ms

GROUP = "polymarket"
FRESH_WITHIN = timedelta(minutes=30)


@dg.asset(io_manager_key="archive_io_manager", group_name=GROUP, kinds={"polymarket", "s3"}, deps=[polymarket_api])
def polymarket_snapshot_raw(context: dg.AssetExecutionContext, sources: SourcesResource) -> dg.Output[list[RawResponse]]:
    """Gamma market pages (open by volume, open by nearest end, recently ended), a public search per mapped
    symbol, and CLOB books of each symbol's immediate and later markets, archived verbatim."""
    with sources.polymarket() as client:
        raws = ingest.pull_snapshot(client, load_mapping(), now_ms(), context.log.info)
    return dg.Output(raws, metadata=raw_metadata(raws))


@dg.asset(group_name=GROUP, kinds={"sqlite", "polymarket"},
          deps=[hyperliquid_asset_universe],  # links read the universe
          metadata=table_metadata(["pm_markets", "pm_market_snapshots", "pm_asset_links", "pm_asset_horizons"]),
          check_specs=[dg.AssetCheckSpec("binary_prices_in_range", asset="polymarket_markets", blocking=True,
                                         description="Every outcome price is within [0, 1]; runs before the commit "
                                                     "too (a failure rolls the batch back)."),
                       dg.AssetCheckSpec("no_duplicate_keys", asset="polymarket_markets",
                                         description="No two market snapshots of this refresh share their key.")])
def polymarket_markets(polymarket_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """Market discovery (pm_markets, pm_market_snapshots), links to symbols (pm_asset_links) and each symbol's
    immediate / later / recently closed markets (pm_asset_horizons). `binary_prices_in_range` runs before the
    commit too: a failure rolls the batch back, is reported, and fails the step."""
    stamp = max((raw.fetched_ms for raw in polymarket_snapshot_raw), default=now_ms())
    with market_memory.connect() as conn:
        mapping = load_mapping(universe=universe_symbols(conn))  # every symbol of the universe, not only curated
        try:
            loads, refused = isolated(lambda: ingest.write_markets(conn, polymarket_snapshot_raw, mapping, stamp))
        except BlockingCheckFailed as failed:
            yield from blocked(failed)
        bad = binary_prices_out_of_range(conn)
        dupes = duplicate_keys(conn, t.PM_MARKET_SNAPSHOTS, stamp, stamp + 1)
        per_symbol = conn.execute("SELECT symbol, COUNT(*) FROM pm_asset_links GROUP BY symbol").fetchall()
    metadata = load_metadata(loads)
    metadata.update({f"links/{symbol}": count for symbol, count in per_symbol})
    metadata["mapping_version"] = mapping.version
    yield dg.MaterializeResult(metadata=metadata, check_results=[
        dg.AssetCheckResult(check_name="binary_prices_in_range", passed=bad == 0, metadata={"out_of_range": bad}),
        dg.AssetCheckResult(check_name="no_duplicate_keys", passed=dupes == 0, metadata={"duplicates": dupes}),
    ])
    fail_if_refused(refused)


@dg.asset(group_name=GROUP, kinds={"sqlite", "polymarket"}, metadata=table_metadata(["pm_books"]))
def polymarket_books(polymarket_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """CLOB books of the horizon markets: best bid and ask by value, mid, spread, depth (pm_books). Each book on
    its own: a refused one fails the step, naming the token, after the others are written."""
    with market_memory.connect() as conn:
        loads, refused = isolated(lambda: ingest.write_books(conn, polymarket_snapshot_raw, now_ms()))
    yield dg.MaterializeResult(metadata=load_metadata(loads))
    fail_if_refused(refused)


polymarket_assets = [polymarket_snapshot_raw, polymarket_markets, polymarket_books]
polymarket_checks = [freshness_check(polymarket_markets, t.PM_MARKET_SNAPSHOTS, FRESH_WITHIN)]
polymarket_job = dg.define_asset_job(
    "polymarket_snapshot_job", selection=polymarket_assets, executor_def=dg.in_process_executor,
    op_retry_policy=source_retry,
    description="One Polymarket refresh: market discovery, links to symbols, horizons and CLOB books.")
polymarket_schedule = dg.ScheduleDefinition(name="polymarket_snapshot_schedule", job=polymarket_job,
                                            cron_schedule="*/10 * * * *", execution_timezone="UTC",
                                            description="A Polymarket snapshot every 10 minutes.")

defs = dg.Definitions(assets=polymarket_assets, asset_checks=polymarket_checks, jobs=[polymarket_job],
                      schedules=[polymarket_schedule])
