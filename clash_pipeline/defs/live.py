"""Dagster: the live decision tick (group `live`), off unless CLASH_LIVE_TRADING is set.

- `live_decision_tick`: the decision tick for clones whose owner approved an agent: decide, send each ordered
  verdict to the exchange, reconcile each clone it traded. Metadata: runs by status, live orders by state, each
  clone's reconciliation. With live trading off it does nothing and says which setting enables it.
- `live_positions_match` (blocking check): every live clone's last reconciliation matched the exchange.
- `live_cadence_sensor` (off by default): requests the tick when a live clone is due.
"""

import dagster as dg

from clash_pipeline.defs.lineage import market_memory_reads
from clash_pipeline.defs.resources import ArchiveResource, MarketMemoryResource
from clash_pipeline.defs.run_clock import tick_tags
from clash_pipeline.live.config import LiveDisabled
from clash_pipeline.live.keystore import KeystoreError

GROUP = "live"


def _runtime(conn, archive: ArchiveResource):
    from clash_pipeline.live.execute import venue_from_env
    from clash_pipeline.live.runtime import LiveRuntime

    return LiveRuntime(conn, archive.outbox(conn), venue_from_env())


@dg.asset(group_name=GROUP, kinds={"python", "sqlite", "hyperliquid"}, pool="live_decision_tick",
          deps=["clone_read_plans", *market_memory_reads()])
def live_decision_tick(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource,
                       archive: ArchiveResource) -> dg.MaterializeResult:
    """Every due run of the live clones: packet, engine, gates, the live gates, the order on the exchange."""
    with market_memory.connect() as conn:
        try:
            runtime = _runtime(conn, archive)
        except (LiveDisabled, KeystoreError) as error:
            context.log.info(str(error))
            return dg.MaterializeResult(metadata={"live_trading": str(error)})
        report = runtime.tick()
    states: dict[str, int] = {}
    for state in runtime.live_states.values():
        states[state] = states.get(state, 0) + 1
    failed = {str(c): why for c, why in runtime.reconciliations.items() if why != "ok"}
    for clone_id, why in failed.items():
        context.log.error(f"clone {clone_id}: {why}")
    return dg.MaterializeResult(metadata={
        "live_trading": runtime.venue.config.network.value, "due": report.due, **report.counts(),
        "live_orders": dg.MetadataValue.json(states),
        "reconciled": sum(why == "ok" for why in runtime.reconciliations.values()), "reconciliation_failed":
            len(failed), "reconciliation_failures": dg.MetadataValue.json(failed)})


@dg.asset_check(asset=live_decision_tick, name="live_positions_match", blocking=True)
def live_positions_match(market_memory: MarketMemoryResource) -> dg.AssetCheckResult:
    """Each live clone's latest reconciliation: our positions equal the exchange's."""
    with market_memory.connect() as conn:
        rows = conn.execute(
            "SELECT r.clone_id, r.ok, r.detail FROM live_reconciliations r WHERE r.recon_id = (SELECT MAX(recon_id) "
            "FROM live_reconciliations WHERE clone_id = r.clone_id) ORDER BY r.clone_id").fetchall()
    bad = {str(clone_id): detail for clone_id, ok, detail in rows if not ok}
    return dg.AssetCheckResult(passed=not bad,
                               metadata={"clones": len(rows), "differences": dg.MetadataValue.json(bad)})


live_decision_tick_job = dg.define_asset_job(
    "live_decision_tick_job", selection=[live_decision_tick], executor_def=dg.in_process_executor,
    description="The decision tick of the live clones: their orders go to the exchange, then each clone it traded is "
                "reconciled.")


@dg.sensor(job=live_decision_tick_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Requests the live tick when a live clone is due (once per due set); off by default.")
def live_cadence_sensor(context: dg.SensorEvaluationContext, market_memory: MarketMemoryResource,
                        archive: ArchiveResource):
    """Requests a live tick when a live clone is due (once per due set)."""
    with market_memory.connect() as conn:
        try:
            due = _runtime(conn, archive).due()
        except (LiveDisabled, KeystoreError) as error:
            return dg.SkipReason(str(error))
    if not due:
        return dg.SkipReason("no live clone is due")
    first = min(d.tick_ms for d in due)
    return dg.RunRequest(run_key=f"live-tick-{first}-{len(due)}", tags=tick_tags(first))
