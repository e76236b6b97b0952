"""Decisions in Dagster.

- `decision_tick`: one run decides every due (clone, strategy, asset) pair in batches (a tick of many pairs does
  not cost a process each), on the in-process executor, in the `decision_tick` pool (limit 1: ticks never
  overlap). `decision_cadence_sensor` requests it when anything is due.
- `clone_decisions`: partitioned by clone, for a data engineer's manual launch: pick clone c000042, optionally
  an asset and `force` in the launch config, and read the verdicts, gates and orders in the run's metadata.
  dagster.yaml limits runs to one per partition value at a time: one run per clone.
"""

import dagster as dg
from pydantic import Field

from clash_pipeline.decisions.runtime import DecisionRuntime, TickReport
from clash_pipeline.defs.clones import clone_read_plans, clones_partitions
from clash_pipeline.defs.lineage import market_memory_reads
from clash_pipeline.defs.resources import ArchiveResource, MarketMemoryResource
from clash_pipeline.defs.run_clock import tick_tags
from clash_pipeline.strategy.store import clone_id_of
from clash_pipeline.universe.names import display_names

GROUP = "decisions"
PREVIEW_RUNS = 20


def _metadata(report: TickReport, names: dict[str, str] | None = None) -> dict:
    names = names or {}  # readable asset names (HYPE/USDC for @107)
    latencies = sorted(o.elapsed_ms for o in report.outcomes)
    counts = report.counts()
    rows = ["| run | clone | strategy | asset | status | action | order or failing gates |", "|---|---|---|---|---|---|---|"]
    for o in report.outcomes[:PREVIEW_RUNS]:
        action = o.proposal.action.action if o.proposal and o.proposal.action else "-"
        order = o.gates.order if o.gates else None
        what = (f"{order.side} {order.size} {order.order_type}" if order else
                ", ".join(g for g, ok, _ in o.gates.verdicts if not ok) if o.gates else o.error or "")
        coin = names.get(o.due.coin, o.due.coin)
        rows.append(f"| {o.run_id} | {o.due.clone_id} | {o.due.prompt_id} | {coin} | {o.status} | {action} "
                    f"| {what} |")
    return {
        "dagster/row_count": len(report.outcomes), "pairs_due": report.due, "claimed": report.claimed,
        "resumed": report.resumed, **counts, "max_in_flight": report.max_in_flight,
        "model_cost_usd": round(report.cost_micro / 1e6, 6),  # exact: costs are whole micro-USD
        "p50_ms": round(latencies[len(latencies) // 2], 2) if latencies else 0.0,  # a run, start to recorded
        "runs": dg.MetadataValue.md("\n".join(rows)),
    }


def _runtime(conn, archive: ArchiveResource) -> DecisionRuntime:
    return DecisionRuntime(conn, archive.outbox(conn))


@dg.asset(group_name=GROUP, kinds={"python", "sqlite"}, pool="decision_tick",
          deps=[clone_read_plans, *market_memory_reads()])
def decision_tick(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource,
                  archive: ArchiveResource) -> dg.MaterializeResult:
    """Every due (clone, strategy, asset) run of this cadence tick: packet, engine, gates, dry-run order."""
    with market_memory.connect() as conn:
        runtime = _runtime(conn, archive)
        report = runtime.run(runtime.due(), on_batch=lambda batch: context.log.info(
            f"decided {len(batch)} runs: " + ", ".join(f"{o.due.coin}:{o.status}" for o in batch[:10])))
        names = display_names(conn)
    context.log.info(f"tick: {report.due} due, {report.counts()}")
    return dg.MaterializeResult(metadata=_metadata(report, names))


class DecisionConfig(dg.Config):
    """Which asset to decide (default: every enabled asset of the clone) and whether to run off-cadence."""

    asset: str | None = Field(default=None, description="One asset to decide, e.g. BTC or @107 (default: every "
                                                      "enabled asset of the clone).")
    force: bool = Field(default=False, description="Decide now even if the pair is not due on its cadence.")


@dg.asset(group_name=GROUP, kinds={"python", "sqlite"}, partitions_def=clones_partitions,
          deps=[clone_read_plans, *market_memory_reads()])
def clone_decisions(context: dg.AssetExecutionContext, config: DecisionConfig, market_memory: MarketMemoryResource,
                    archive: ArchiveResource) -> dg.MaterializeResult:
    """One clone's decisions, launched by hand: the verdict, gates and order of each run are in the metadata."""
    clone_id = clone_id_of(context.partition_key)
    with market_memory.connect() as conn:
        report = _runtime(conn, archive).tick([clone_id], config.asset, config.force)
        names = display_names(conn)
    metadata = _metadata(report, names)
    for o in report.outcomes:
        if o.gates:
            metadata[f"gates/{o.due.coin}"] = dg.MetadataValue.json(
                {gate: {"passed": passed, "detail": detail} for gate, passed, detail in o.gates.verdicts})
    return dg.MaterializeResult(metadata=metadata)


decision_tick_job = dg.define_asset_job("decision_tick_job", selection=[decision_tick],
                                        executor_def=dg.in_process_executor,
                                        description="One cadence tick: every due (clone, strategy, asset) decision.")


@dg.sensor(job=decision_tick_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Every 30 s: a decision tick when any (clone, strategy, asset) pair is due.")
def decision_cadence_sensor(context: dg.SensorEvaluationContext, market_memory: MarketMemoryResource,
                            archive: ArchiveResource):
    """Requests a decision tick when any (clone, strategy, asset) pair is due; the run key is the due set's
    earliest tick and size, so a tick is requested once."""
    with market_memory.connect() as conn:
        due = _runtime(conn, archive).due()
    if not due:
        return dg.SkipReason("nothing is due")
    first = min(d.tick_ms for d in due)
    return dg.RunRequest(run_key=f"tick-{first}-{len(due)}",
                         tags={**tick_tags(first), "clash/pairs_due": str(len(due))})


defs = dg.Definitions(assets=[decision_tick, clone_decisions], jobs=[decision_tick_job],
                      sensors=[decision_cadence_sensor])
