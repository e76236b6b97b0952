"""The product loop in Dagster: the arena clock (start, run, end and settle races; promote from the queue), races
as a 6-hour time-partitioned asset with standings and the pool split, the leaderboard and the Hall of Fame."""

import json

import dagster as dg

from clash_pipeline.arena.audition import promote
from clash_pipeline.arena.careers import hall_of_fame, leaderboard, race_results
from clash_pipeline.arena.races import Arena, race_id
from clash_pipeline.defs.lineage import every_partition, history_reads
from clash_pipeline.defs.resources import ArchiveResource, MarketMemoryResource
from clash_pipeline.timeutil import now_ms, to_ms

GROUP = "arena"
race_windows = dg.TimeWindowPartitionsDefinition(cron_schedule="0 */6 * * *", start="2026-10-01-00:00",
                                                 fmt="%Y-%m-%d-%H:%M", timezone="UTC")


def _table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows])


@dg.asset(group_name=GROUP, kinds={"python", "sqlite"},
          deps=["paper_mark_to_market", every_partition("clone_read_plans"),
                *history_reads()])  # races and auditions trade the clones' plans over market memory
def arena_clock(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource, archive: ArchiveResource):
    """Everything due now: races start (sales close), run, end, settle; retirements; queue promotions; the next
    race opens for tickets."""
    with market_memory.connect() as conn:
        arena = Arena(conn, archive.outbox(conn))
        log = arena.advance(now_ms())
        promoted = promote(conn, now_ms(), arena.config.slots)
        accumulating = arena.accumulating(now_ms())
    for line in log:
        context.log.info(line)
    return dg.MaterializeResult(metadata={"events": dg.MetadataValue.md("\n".join(f"- {line}" for line in log) or
                                                                        "_nothing due_"),
                                          "promoted": len(promoted), "accumulating_race": accumulating})


@dg.asset(name="race_results", group_name=GROUP, kinds={"sqlite"}, partitions_def=race_windows, deps=[arena_clock])
def race_results_asset(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource,
                       archive: ArchiveResource):
    """One race (a 6-hour window): its standings and its settlement's pool split."""
    race = race_id(to_ms(context.partition_time_window.start))
    with market_memory.connect() as conn:
        status = conn.execute("SELECT status FROM races WHERE race_id = ?", (race,)).fetchone()
        standings = race_results(conn, race)
        stored = conn.execute("SELECT receipt_json FROM settlements WHERE race_id = ?", (race,)).fetchone()
    metadata: dict = {"race_id": race, "status": status[0] if status else "not held", "entrants": len(standings),
                      "standings": dg.MetadataValue.md(_table(standings, ["rank", "name", "return_pct",
                                                                          "max_drawdown_pct", "trades", "tickets"]))}
    if stored:
        receipt = json.loads(stored[0])
        split: dict[str, int] = {}
        for kind, _, amount, _ in receipt["lines"]:
            split[kind] = split.get(kind, 0) + int(amount)
        metadata.update({f"pool/{kind}_eth": amount / 1e18 for kind, amount in split.items()})
        metadata.update({"pool_eth": int(receipt["pool_wei"]) / 1e18, "receipt_sha256": receipt["sha256"]})
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(group_name=GROUP, kinds={"sqlite"}, deps=[arena_clock, every_partition("race_results")])
def arena_leaderboard(market_memory: MarketMemoryResource):
    """Arena clones by wins and average race return (public identities and results only)."""
    with market_memory.connect() as conn:
        board = leaderboard(conn)
    return dg.MaterializeResult(metadata={"clones": len(board), "leaderboard": dg.MetadataValue.md(
        _table(board, ["name", "creator", "races", "wins", "average_return_pct", "worst_drawdown_pct"]))})


@dg.asset(name="hall_of_fame", group_name=GROUP, kinds={"sqlite"}, deps=[arena_clock, arena_leaderboard])
def hall_of_fame_asset(market_memory: MarketMemoryResource):
    """Retired careers, best first (public identities and results only)."""
    with market_memory.connect() as conn:
        fame = hall_of_fame(conn)
    return dg.MaterializeResult(metadata={"careers": len(fame), "hall_of_fame": dg.MetadataValue.md(
        _table(fame, ["name", "races", "wins", "average_return_pct", "tickets_drawn", "reason"]))})


arena_job = dg.define_asset_job("arena_clock_job", selection=[arena_clock, arena_leaderboard, hall_of_fame_asset],
                                executor_def=dg.in_process_executor,
                                description="The arena clock (races start, run, end, settle; promotions), then the "
                                            "leaderboard and the Hall of Fame.")


@dg.sensor(job=arena_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Every minute: the arena clock when a race window boundary has passed or a clone waits for "
                       "a free slot.")
def arena_clock_sensor(context: dg.SensorEvaluationContext, market_memory: MarketMemoryResource):
    """Requests the arena clock when a race window boundary has passed or a clone waits for a free slot."""
    now = now_ms()
    with market_memory.connect() as conn:
        due = conn.execute(
            "SELECT race_id, status FROM races WHERE race_id NOT IN (SELECT race_id FROM settlements) AND "
            "((status = 'accumulating' AND start_ms <= ?) OR end_ms <= ?) ORDER BY start_ms LIMIT 1",
            (now, now)).fetchone()
        (queued,) = conn.execute("SELECT COUNT(*) FROM promotion_queue").fetchone()
    if not due and not queued:
        return dg.SkipReason("no race boundary has passed and the queue is empty")
    key = f"{due[0]}-{due[1]}" if due else f"queue-{now // 3_600_000}"
    return dg.RunRequest(run_key=key)


defs = dg.Definitions(assets=[arena_clock, race_results_asset, arena_leaderboard, hall_of_fame_asset],
                      jobs=[arena_job], sensors=[arena_clock_sensor])
