"""The archive outbox drain: uploads payloads kept on local disk while the object store was away."""

import dagster as dg

from clash_pipeline.defs.resources import ArchiveResource, MarketMemoryResource

GROUP = "archive"


@dg.asset(group_name=GROUP, kinds={"python", "s3"},
          deps=["decision_tick", "clone_decisions", "clone_backtest", "arena_clock"],  # what fills the outbox
          check_specs=[dg.AssetCheckSpec("outbox_empty", asset="archive_outbox_drain",
                                         description="Nothing is left pending after the drain.")])
def archive_outbox_drain(
    context: dg.AssetExecutionContext, archive: ArchiveResource, market_memory: MarketMemoryResource
) -> dg.MaterializeResult:
    """Uploads pending outbox objects (idempotent: keys are content hashes); stops at the first store failure."""
    with market_memory.connect() as conn:
        result = archive.outbox(conn).drain()
    for error in result.errors:
        context.log.warning(error)
    return dg.MaterializeResult(
        metadata={"uploaded": result.uploaded, "pending": result.pending, "swept": result.swept,
                  "store": archive.get_archive().store.describe(),
                  "errors": dg.MetadataValue.json(result.errors)},
        check_results=[dg.AssetCheckResult(check_name="outbox_empty", passed=result.pending == 0,
                                           severity=dg.AssetCheckSeverity.WARN, metadata={"pending": result.pending})],
    )


drain_job = dg.define_asset_job("archive_drain_job", selection=[archive_outbox_drain],
                                executor_def=dg.in_process_executor,
                                description="Uploads what the outbox kept while the object store was away.")
drain_schedule = dg.ScheduleDefinition(name="archive_drain_schedule", job=drain_job, cron_schedule="*/5 * * * *",
                                       execution_timezone="UTC", description="The outbox drain every 5 minutes.")

defs = dg.Definitions(assets=[archive_outbox_drain], jobs=[drain_job], schedules=[drain_schedule])
