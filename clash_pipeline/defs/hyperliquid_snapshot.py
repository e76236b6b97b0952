"""Hyperliquid snapshots: the universe, mids, contexts, books and funding pressure, refreshed on a schedule.

One raw pull (`hyperliquid_snapshot_raw`) holds every response of a refresh; each downstream asset parses the
part it needs and writes its table family in one transaction.
"""


from datetime import timedelta

import dagster as dg
from pydantic import Field

from clash_pipeline.defs.checks import fail_if_refused, freshness_check, isolated
from clash_pipeline.defs.lineage import hyperliquid_api, newest
from clash_pipeline.defs.metadata import load_metadata, raw_metadata
from clash_pipeline.defs.policies import source_retry
from clash_pipeline.defs.resources import SourcesResource, MarketMemoryResource
from clash_pipeline.defs.tables import table_metadata
from clash_pipeline.ingest import hyperliquid as ingest
from clash_pipeline.ingest.demand import compute_demand, raws_weight
from clash_pipeline.memory import tables as t
from clash_pipeline.settings import load_settings
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.universe.names import display_names
from clash_pipeline.universe.taxonomy import load_taxonomy

SETTINGS = load_settings()
GROUP = "hyperliquid_snapshot"
FRESH_WITHIN = timedelta(minutes=15)
fresh = dg.FreshnessPolicy.time_window(fail_window=FRESH_WITHIN)


def _write_isolated(market_memory: MarketMemoryResource, write, newest_first: bool = False):
    """Write what is valid (`write(conn)` -> loads), materialize it with readable names, then fail naming what was
    refused."""
    with market_memory.connect() as conn:
        loads, refused = isolated(lambda: write(conn))
        names = display_names(conn)
    yield dg.MaterializeResult(metadata=load_metadata(loads[::-1] if newest_first else loads, names))
    fail_if_refused(refused)


class SnapshotConfig(dg.Config):
    """Coins whose L2 books are read (default: the demanded set: every asset an active clone, audition or race
    entrant enables, CLASH_COINS as a floor); `books_only` reads just those books (a retry of the books a
    snapshot could not write: select this asset and `hyperliquid_liquidity` only)."""

    book_coins: list[str] | None = Field(
        default=None, description="Coins whose L2 books are read (default: the demanded set, CLASH_COINS as a floor).")
    books_only: bool = Field(
        default=False, description="Read just these books (a retry of the books a snapshot could not write).")


@dg.asset(io_manager_key="archive_io_manager", group_name=GROUP, kinds={"hyperliquid", "s3"}, deps=[hyperliquid_api])
def hyperliquid_snapshot_raw(config: SnapshotConfig, sources: SourcesResource,
                             market_memory: MarketMemoryResource) -> dg.Output[list[RawResponse]]:
    """perpDexs, metaAndAssetCtxs and allMids of every dex, spotMetaAndAssetCtxs, predictedFundings, categories
    and l2Book responses of one refresh, archived verbatim; `hyperliquid_weight` is what the refresh cost."""
    book_coins = config.book_coins
    if book_coins is None:
        with market_memory.connect() as conn:
            book_coins = compute_demand(conn, SETTINGS.coins, SETTINGS.intervals).coins
    with sources.hyperliquid() as client:
        raws = ingest.pull_snapshot(client, book_coins, config.books_only)
    return dg.Output(raws, metadata={**raw_metadata(raws), "books": len(book_coins),
                                     "hyperliquid_weight": raws_weight(raws)})


@dg.asset(group_name=GROUP, kinds={"sqlite", "hyperliquid"},
          metadata=table_metadata(["hl_assets", "hl_margin_tiers", "hl_api_categories", "asset_categories"]))
def hyperliquid_asset_universe(hyperliquid_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """Perps (every dex) and spot pairs with size decimals, leverage, margin tiers, and the product taxonomy."""
    taxonomy = load_taxonomy()
    with market_memory.connect() as conn:
        loads, refused = isolated(lambda: ingest.write_universe(conn, hyperliquid_snapshot_raw, taxonomy))
        counts = conn.execute("SELECT category, COUNT(DISTINCT coin) FROM asset_categories GROUP BY category "
                              "ORDER BY 1").fetchall()
    metadata = load_metadata(loads)
    metadata.update({f"category/{category}": count for category, count in counts})
    metadata["taxonomy_version"] = taxonomy.version
    yield dg.MaterializeResult(metadata=metadata)
    fail_if_refused(refused)


@dg.asset(group_name=GROUP, kinds={"sqlite", "hyperliquid"}, freshness_policy=fresh,
          metadata=table_metadata(["hl_mids"]))
def hyperliquid_mids(hyperliquid_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """Mid prices of every perp and spot pair (hl_mids)."""
    yield from _write_isolated(market_memory, lambda conn: ingest.write_mids(conn, hyperliquid_snapshot_raw))


@dg.asset(group_name=GROUP, kinds={"sqlite", "hyperliquid"}, freshness_policy=fresh,
          metadata=table_metadata(["hl_asset_ctxs", "hl_positioning"]))
def hyperliquid_asset_contexts(hyperliquid_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """Asset contexts (hl_asset_ctxs) and positioning pressure (hl_positioning): OI and its change, 24h notional
    volume, mark/oracle premium."""
    yield from _write_isolated(market_memory, lambda conn: ingest.write_contexts(conn, hyperliquid_snapshot_raw))


@dg.asset(group_name=GROUP, kinds={"sqlite", "hyperliquid"}, freshness_policy=fresh,
          metadata=table_metadata(["hl_liquidity", "hl_book_levels"]))
def hyperliquid_liquidity(hyperliquid_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """L2 book levels (hl_book_levels) and the liquidity profile (hl_liquidity): spread, depth within
    10/50/100 bps, imbalance. Each coin's book on its own: a refused one fails the step, naming the coin, after
    the others are written."""
    with market_memory.connect() as conn:
        loads, refused = isolated(lambda: ingest.write_books(conn, hyperliquid_snapshot_raw))
        names = display_names(conn)
    metadata = load_metadata(loads[::-1], names)
    for row in loads[1].preview:
        metadata[f"spread_bps/{row['coin']}"] = round(float(row["spread_bps"]), 2)
    if refused:
        metadata["retry/book_coins"] = dg.MetadataValue.json(refused.requests("l2Book", "coin"))
    yield dg.MaterializeResult(metadata=metadata)
    fail_if_refused(refused)


@dg.asset(group_name=GROUP, kinds={"sqlite", "hyperliquid"}, freshness_policy=fresh,
          deps=[newest("hyperliquid_funding_history")],  # the 24h/7d sums read the stored history
          metadata=table_metadata(["hl_funding_pressure", "hl_predicted_fundings"]))
def hyperliquid_funding_pressure(hyperliquid_snapshot_raw: list[RawResponse], market_memory: MarketMemoryResource):
    """Current and predicted funding, premium, and 24h/7d sums of the stored history (hl_funding_pressure)."""
    def write(conn):
        return ingest.write_funding_pressure(conn, hyperliquid_snapshot_raw)

    yield from _write_isolated(market_memory, write, newest_first=True)


snapshot_assets = [hyperliquid_snapshot_raw, hyperliquid_asset_universe, hyperliquid_mids,
                   hyperliquid_asset_contexts, hyperliquid_liquidity, hyperliquid_funding_pressure]
freshness_checks = [freshness_check(hyperliquid_mids, t.HL_MIDS, FRESH_WITHIN),
                    freshness_check(hyperliquid_asset_contexts, t.HL_ASSET_CTXS, FRESH_WITHIN),
                    freshness_check(hyperliquid_liquidity, t.HL_LIQUIDITY, FRESH_WITHIN)]
snapshot_job = dg.define_asset_job(
    "hyperliquid_snapshot_job", selection=snapshot_assets, executor_def=dg.in_process_executor,
    op_retry_policy=source_retry,
    description="One Hyperliquid refresh: the raw snapshot pull, then universe, mids, contexts, books and "
                "funding pressure.")
snapshot_schedule = dg.ScheduleDefinition(name="hyperliquid_snapshot_schedule", job=snapshot_job,
                                          cron_schedule="*/5 * * * *", execution_timezone="UTC",
                                          description="A Hyperliquid snapshot every 5 minutes.")

defs = dg.Definitions(assets=snapshot_assets, asset_checks=freshness_checks, jobs=[snapshot_job],
                      schedules=[snapshot_schedule])
