"""The product loop in Dagster, run forward by the clock.

- `arena_clock` is the product loop's step at a cadence tick: running auditions and races decide and mark their
  ticks up to the tick (contexts `audition:<id>`, `race:<id>`, through the live decision runtime), auditions get
  their verdict when their hours end, races start, end and settle with their windows. `arena_clock_sensor`
  requests it every tick while anything runs.
- `race_standings` (partitioned by the 6-hour race window) is the race as it stands, materialized at every tick
  while the race runs; `clone_audition` (partitioned by clone) follows a clone's audition (an observation at
  every tick, a materialization with the verdict). `arena_follow_up_sensor` reads each `arena_clock`
  materialization and requests them, and `race_results`, `arena_leaderboard` and `hall_of_fame` when a race
  settles: they are kept current by that sensor (`follow_ups`, which `clash run` runs the same way).
"""

import json

import dagster as dg
from pydantic import Field

from clash_pipeline.arena.audition import queue
from clash_pipeline.arena.careers import hall_of_fame, leaderboard, race_results
from clash_pipeline.arena.forward import step
from clash_pipeline.arena.races import Arena, ArenaConfig, race_id
from clash_pipeline.defs.clones import clones_partitions
from clash_pipeline.defs.lineage import every_partition, history_reads
from clash_pipeline.defs.resources import ArchiveResource, MarketMemoryResource
from clash_pipeline.defs.run_clock import run_clock, tick_tags
from clash_pipeline.strategy.catalog import CADENCES
from clash_pipeline.strategy.store import clone_id_of
from clash_pipeline.strategy.store import partition_key as clone_key
from clash_pipeline.timeutil import interval_ms, iso, now_ms, to_ms

GROUP = "arena"
race_windows = dg.TimeWindowPartitionsDefinition(cron_schedule="0 */6 * * *", start="2026-10-01-00:00",
                                                 fmt="%Y-%m-%d-%H:%M", timezone="UTC", end_offset=1)


def _table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(_cell(r.get(c, "")) for c in columns) + " |" for r in rows])


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


class ArenaClockConfig(dg.Config):
    """The decision cadence of races (a race's ticks; `clash run --every` sets it to the clock's step)."""

    cadence: str = Field(default="15m", description="Decision cadence of races and auditions at this step: one of "
                                                    "1m, 5m, 15m, 1h, 4h, 1d (`clash run --every` sets it).")


@dg.asset(group_name=GROUP, kinds={"python", "sqlite"},
          deps=["paper_mark_to_market", every_partition("clone_read_plans"),
                *history_reads()])  # races and auditions trade the clones' plans over market memory
def arena_clock(context: dg.AssetExecutionContext, config: ArenaClockConfig, market_memory: MarketMemoryResource,
                archive: ArchiveResource):
    """The product loop's step at the run's tick: auditions and races decide and mark their ticks up to it,
    auditions end with their verdict, races start (sales close), end and settle; retirements; promotions; the
    next race opens for tickets."""
    if config.cadence not in CADENCES:
        raise dg.Failure(f"arena_clock cadence: must be one of {', '.join(CADENCES)}, not {config.cadence!r}")
    with run_clock(context) as now, market_memory.connect() as conn:
        report = step(conn, archive.outbox(conn), now, ArenaConfig(cadence=config.cadence))
        names = dict(conn.execute("SELECT clone_id, name FROM clones").fetchall())
    auditions = []
    known = set(context.instance.get_dynamic_partitions(clones_partitions.name))
    for a in report.auditions:
        key, m = clone_key(a["clone_id"]), a["metrics"]
        row = {"clone": f"{names.get(a['clone_id'], '')} ({key})", "audition": a["audition_id"],
               "status": a["status"], "ticks": f"{a.get('ticks', '-')}/{a.get('ticks_total', '-')}",
               "equity_usd": round(m["end_equity"], 2), "return_pct": m["return_pct"],
               "max_drawdown_pct": m["max_drawdown_pct"], "trades": m["trades"]}
        auditions.append(row)
        if key in known and a["status"] == "running":  # the audition, followed tick by tick
            context.log_event(dg.AssetObservation(asset_key="clone_audition", partition=key, metadata={
                "tick": iso(now), "tick_ms": now, "audition_id": a["audition_id"], "ticks_decided": a["ticks"],
                "equity_usd": row["equity_usd"], "return_pct": m["return_pct"],
                "max_drawdown_pct": m["max_drawdown_pct"], "trades": m["trades"]}))
    for line in report.events:
        context.log.info(line)
    return dg.MaterializeResult(metadata={
        "tick": iso(now), "tick_ms": now,
        "auditions": dg.MetadataValue.md(_table(auditions, ["clone", "audition", "status", "ticks", "equity_usd",
                                                            "return_pct", "max_drawdown_pct", "trades"])
                                         if auditions else "_no audition running_"),
        "events": dg.MetadataValue.md("\n".join(f"- {line}" for line in report.events) or "_nothing due_"),
        "promoted": len(report.promoted), "accumulating_race": report.accumulating,
        "running_races": dg.MetadataValue.json(report.running_races),
        "ticked_races": dg.MetadataValue.json(report.ticked_races),
        "settled_races": dg.MetadataValue.json(report.settled_races),
        "verdicts": dg.MetadataValue.json([clone_key(a["clone_id"]) for a in report.verdicts]),
    })


@dg.asset(group_name=GROUP, kinds={"sqlite"}, partitions_def=race_windows, deps=[arena_clock])
def race_standings(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource,
                   archive: ArchiveResource):
    """One race as it stands at its last decided tick (live while it runs, final at its end): entrants ranked by
    return (then drawdown, trades, clone id), the tick and the snapshot id every entrant's run at it cites."""
    race = race_id(to_ms(context.partition_time_window.start))
    with market_memory.connect() as conn:
        held = conn.execute("SELECT 1 FROM races WHERE race_id = ?", (race,)).fetchone()
        board = Arena(conn, archive.outbox(conn)).standings(race) if held else None
    if board is None:
        return dg.MaterializeResult(metadata={"race_id": race, "status": "not held"})
    rows = [{**r, "equity_usd": round(r["equity_micro"] / 1e6, 2)} for r in board["standings"]]
    return dg.MaterializeResult(metadata={
        "race_id": race, "status": board["status"], "tick": iso(board["tick_ms"]) or "-",
        "tick_ms": board["tick_ms"] or 0, "ticks_decided": board["ticks"], "snapshot_id": board["snapshot_id"] or "-",
        "window_end": iso(board["end_ms"]), "entrants": len(rows),
        "leader": rows[0]["name"] if rows else "-",
        "standings": dg.MetadataValue.md(_table(rows, ["rank", "name", "equity_usd", "return_pct",
                                                       "max_drawdown_pct", "trades"])),
        **{f"return_pct/{r['name']}": round(r["return_pct"], 3) for r in rows},
    })


@dg.asset(group_name=GROUP, kinds={"sqlite"}, partitions_def=clones_partitions, deps=[arena_clock])
def clone_audition(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource):
    """A clone's latest audition: its progress tick by tick (the observations at each arena tick) and, once its
    hours are over, the verdict with every criterion's value and threshold."""
    clone_id = clone_id_of(context.partition_key)
    with market_memory.connect() as conn:
        row = conn.execute("SELECT audition_id, start_ms, end_ms, status, evaluation_json FROM auditions WHERE "
                           "clone_id = ? ORDER BY audition_id DESC LIMIT 1", (clone_id,)).fetchone()
        if row is None:
            return dg.MaterializeResult(metadata={"audition": "none: the clone has not auditioned"})
        audition_id, start, end, status, evaluation = row
        curve = conn.execute("SELECT e.ts_ms, e.equity_micro, e.drawdown_pct FROM equity_curve e JOIN paper_accounts "
                             "a USING (account_id) WHERE a.clone_id = ? AND a.context_label = ? ORDER BY e.ts_ms",
                             (clone_id, f"audition:{audition_id}")).fetchall()
    metadata: dict = {"audition_id": audition_id, "status": status, "start": iso(start), "end": iso(end),
                      "ticks_decided": len(curve),
                      "equity_curve": dg.MetadataValue.md(_table(
                          [{"tick": iso(t), "equity_usd": round(e / 1e6, 2), "drawdown_pct": d} for t, e, d in curve],
                          ["tick", "equity_usd", "drawdown_pct"]))}
    if evaluation:
        result = json.loads(evaluation)
        metadata.update({k: round(v, 3) if isinstance(v, float) else v for k, v in result.get("metrics", {}).items()
                         if isinstance(v, int | float)})
        if "criteria" in result:
            metadata["verdict"] = dg.MetadataValue.md(_table(result["criteria"], ["criterion", "value", "threshold",
                                                                                  "passed"]))
    return dg.MaterializeResult(metadata=metadata)


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
        waiting = queue(conn)
    return dg.MaterializeResult(metadata={"clones": len(board), "queued": len(waiting), "leaderboard":
                                          dg.MetadataValue.md(_table(board, ["name", "creator", "races", "wins",
                                                                             "average_return_pct",
                                                                             "worst_drawdown_pct"]))})


@dg.asset(name="hall_of_fame", group_name=GROUP, kinds={"sqlite"}, deps=[arena_clock, arena_leaderboard])
def hall_of_fame_asset(market_memory: MarketMemoryResource):
    """Retired careers, best first (public identities and results only)."""
    with market_memory.connect() as conn:
        fame = hall_of_fame(conn)
    return dg.MaterializeResult(metadata={"careers": len(fame), "hall_of_fame": dg.MetadataValue.md(
        _table(fame, ["name", "races", "wins", "average_return_pct", "tickets_drawn", "reason"]))})


arena_job = dg.define_asset_job("arena_clock_job", selection=[arena_clock], executor_def=dg.in_process_executor,
                                description="The product loop's step at a tick (tags clash/tick, clash/tick_ms).")
race_standings_job = dg.define_asset_job("race_standings_job", selection=[race_standings],
                                         executor_def=dg.in_process_executor,
                                         description="A running race's standings at a tick.")
audition_job = dg.define_asset_job("clone_audition_job", selection=[clone_audition],
                                   executor_def=dg.in_process_executor,
                                   description="A clone's audition with its verdict.")
race_results_job = dg.define_asset_job("race_results_job", selection=[race_results_asset],
                                       executor_def=dg.in_process_executor,
                                       description="A settled race's results and pool split.")
board_job = dg.define_asset_job("arena_board_job", selection=[arena_leaderboard, hall_of_fame_asset],
                                executor_def=dg.in_process_executor,
                                description="The leaderboard and the Hall of Fame, after a race settles.")


def follow_ups(metadata: dict, tick_ms: int) -> list[dg.RunRequest]:
    """The runs an `arena_clock` materialization calls for: each ticked race's standings, each verdict's
    audition, and a settled race's results with the leaderboard and Hall of Fame (what keeps them current).
    `metadata` is the materialization's (plain values)."""
    tags = tick_tags(tick_ms)
    requests = [dg.RunRequest(job_name=race_standings_job.name, partition_key=race, tags=tags,
                              run_key=f"standings-{race}-{tick_ms}") for race in metadata.get("ticked_races", [])]
    requests += [dg.RunRequest(job_name=audition_job.name, partition_key=key, tags=tags,
                               run_key=f"audition-{key}-{tick_ms}") for key in metadata.get("verdicts", [])]
    settled = metadata.get("settled_races", [])
    requests += [dg.RunRequest(job_name=race_results_job.name, partition_key=race, tags=tags,
                               run_key=f"results-{race}") for race in settled]
    if settled or metadata.get("promoted"):
        requests.append(dg.RunRequest(job_name=board_job.name, tags=tags, run_key=f"board-{tick_ms}"))
    return requests


def _plain(metadata: dict) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


@dg.asset_sensor(asset_key=dg.AssetKey("arena_clock"), jobs=[race_standings_job, audition_job, race_results_job,
                                                              board_job],
                 minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
                 description="After each arena tick: the standings of the races it ticked, the verdicts' auditions, "
                             "and a settled race's results with the leaderboard and Hall of Fame.")
def arena_follow_up_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    """After each arena tick: the standings of the races it ticked, the verdicts' auditions, and a settled race's
    results with the leaderboard and Hall of Fame."""
    materialization = asset_event.asset_materialization
    metadata = _plain(materialization.metadata) if materialization else {}
    requests = follow_ups(metadata, int(metadata.get("tick_ms", asset_event.timestamp * 1000)))
    return requests or dg.SkipReason("the arena tick called for nothing")


@dg.sensor(job=arena_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
           description="At each 15-minute tick while an audition or a race runs, a race is due, or a clone waits for "
                       "a slot: the arena clock (each tick requested once).")
def arena_clock_sensor(context: dg.SensorEvaluationContext, market_memory: MarketMemoryResource):
    """Requests the arena clock at each 15-minute tick while an audition or a race runs, a race is due to start,
    end or settle, or a clone waits for a slot; the run key is the tick, so each tick is requested once."""
    now = now_ms()
    tick = now - now % interval_ms(ArenaConfig().cadence)
    with market_memory.connect() as conn:
        (due,) = conn.execute(
            "SELECT (SELECT COUNT(*) FROM auditions WHERE status = 'running' AND start_ms <= ?) + (SELECT COUNT(*) "
            "FROM races WHERE race_id NOT IN (SELECT race_id FROM settlements) AND start_ms <= ?) + (SELECT COUNT(*) "
            "FROM promotion_queue)", (now, now)).fetchone()
    if not due:
        return dg.SkipReason("no audition or race runs, none is due and the queue is empty")
    return dg.RunRequest(run_key=f"arena-{tick}", tags=tick_tags(tick))


defs = dg.Definitions(assets=[arena_clock, race_standings, clone_audition, race_results_asset, arena_leaderboard,
                              hall_of_fame_asset],
                      jobs=[arena_job, race_standings_job, audition_job, race_results_job, board_job],
                      sensors=[arena_clock_sensor, arena_follow_up_sensor])
