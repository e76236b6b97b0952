"""Clones in Dagster: a dynamic `clones` partition (keys c000042) kept in step with the clones table by a sensor,
and each clone's compiled read plans as a partitioned asset a data engineer can launch by hand."""

import json

import dagster as dg

from clash_pipeline.defs.resources import MarketMemoryResource
from clash_pipeline.defs.tables import table_metadata
from clash_pipeline.strategy.packet import build_packet
from clash_pipeline.strategy.plan_cache import clone_plans, universe_digest
from clash_pipeline.strategy.selection import Universe
from clash_pipeline.strategy.store import clone_id_of, get_clone, list_public
from clash_pipeline.timeutil import now_ms
from clash_pipeline.universe.names import display_names

GROUP = "clones"
PREVIEW_CHARS = 4_000
clones_partitions = dg.DynamicPartitionsDefinition(name="clones")


@dg.asset(partitions_def=clones_partitions, group_name=GROUP, kinds={"sqlite"},
          backfill_policy=dg.BackfillPolicy.single_run(), metadata=table_metadata(["clone_read_plans"]),
          deps=["hyperliquid_asset_universe"])  # plans compile against the universe
def clone_read_plans(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource) -> dg.MaterializeResult:
    """Compiles each selected clone's active graph version into read plans (clone_read_plans table) against the
    current universe (a row already compiled from the same graph and universe is kept); metadata shows the enabled
    assets and a preview of one context packet."""
    compiled_rows, enabled, preview = 0, {}, ""
    with market_memory.connect() as conn:
        names, universe = display_names(conn), Universe.load(conn)
        digest = universe_digest(universe)
        for key in context.partition_keys:
            clone = get_clone(conn, clone_id_of(key))
            compiled, _ = clone_plans(conn, clone.identity.clone_id, clone.version, universe, digest, refresh=True)
            plans = compiled.asset_plans()
            enabled[f"{key} {clone.identity.name}"] = sorted({names.get(plan.coin, plan.coin) for plan in plans})
            compiled_rows += len(plans)
            context.log.info(f"{key} v{clone.version}: {len(plans)} (prompt, asset) plans, "
                             f"{sum(len(p.reads) for p in plans)} reads")
            if plans and not preview:
                packet = build_packet(conn, plans[0], now_ms())
                preview = json.dumps(packet, indent=1)[:PREVIEW_CHARS]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": compiled_rows,
        "clones": len(enabled),
        "enabled_assets": dg.MetadataValue.md("\n".join(f"- **{k}**: {', '.join(v)}" for k, v in enabled.items())),
        "packet_preview": dg.MetadataValue.md(f"```json\n{preview}\n```"),
    })


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every minute: a `clones` partition for each new active clone; retired clones' removed.")
def clones_partition_sensor(context: dg.SensorEvaluationContext, market_memory: MarketMemoryResource):
    """Adds a partition for each new active clone and removes those of retired clones."""
    with market_memory.connect() as conn:
        clones = list_public(conn)
    active = {c.key for c in clones if c.status == "active"}
    existing = set(context.instance.get_dynamic_partitions(clones_partitions.name))
    added, removed = sorted(active - existing), sorted(existing - active)
    requests = ([clones_partitions.build_add_request(added)] if added else []) + \
        ([clones_partitions.build_delete_request(removed)] if removed else [])
    return dg.SensorResult(dynamic_partitions_requests=requests,
                           skip_reason=None if requests else "clones partition is in step with the clones table")


defs = dg.Definitions(assets=[clone_read_plans], sensors=[clones_partition_sensor])
