"""Drive the named jobs tick by tick over replay time, in process on the local instance (`clash run`).

At each tick the pipeline's clock is held at the tick (`clash_pipeline.clock`) and the tick's jobs run as the
daemon would run them live: `decision_tick_job` (live clones), then `arena_clock_job` (auditions and races run
forward), then the runs that arena tick calls for (`defs.arena.follow_ups`: race standings, audition verdicts,
race results, leaderboard and Hall of Fame), each a named run tagged with its tick (`clash/tick`,
`clash/tick_ms`, `clash/clock=replay`). One run's failure is reported and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import dagster as dg

from clash_pipeline import clock
from clash_pipeline.timeutil import iso

CLOCK_TAG = "clash/clock"
TICK_JOBS = ("decision_tick_job",)
SNAPSHOT_JOB = "hyperliquid_snapshot_job"


@dataclass(frozen=True)
class TickRun:
    tick_ms: int
    job: str
    partition: str | None
    run_id: str
    success: bool
    seconds: float

    def as_dict(self) -> dict:
        return {**asdict(self), "tick": iso(self.tick_ms)}


def last_tick(instance: dg.DagsterInstance) -> int | None:
    """The tick of the last arena step `clash run` made on this instance (where the replay clock stands)."""
    runs = instance.get_runs(dg.RunsFilter(job_name="arena_clock_job", tags={CLOCK_TAG: "replay"}), limit=1)
    tag = runs[0].tags.get(clock.TICK_MS_TAG) if runs else None
    return int(tag) if tag else None


def drive(instance: dg.DagsterInstance, ticks: list[int], every: str, snapshots: bool = False,
          progress: Callable[[str], None] = lambda _: None, log_level: str = "WARNING") -> list[TickRun]:
    """Run the tick's jobs at each of `ticks` (ms, ascending) with the clock held there; `every` is the step
    (the races' decision cadence); `snapshots` adds a Hyperliquid snapshot at each tick (the replay generator
    answers at the clock's time)."""
    from clash_pipeline.definitions import defs
    from clash_pipeline.defs.arena import _plain, follow_ups
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.defs.run_clock import tick_tags
    from clash_pipeline.settings import load_settings

    done: list[TickRun] = []
    resources = default_resources(load_settings())  # the environment's now, not the one the definitions saw

    def run(tick: int, name: str, partition: str | None = None, ops: dict | None = None) -> dg.ExecuteInProcessResult:
        started = time.perf_counter()
        result = defs.resolve_job_def(name).execute_in_process(
            instance=instance, partition_key=partition, raise_on_error=False, resources=resources,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}, "ops": ops or {}},
            tags={**tick_tags(tick), CLOCK_TAG: "replay"})
        done.append(TickRun(tick, name, partition, result.run_id, result.success, time.perf_counter() - started))
        return result

    for tick in ticks:
        with clock.replaying_at(tick):
            for name in ((SNAPSHOT_JOB,) if snapshots else ()) + TICK_JOBS:
                run(tick, name)
            arena = run(tick, "arena_clock_job", ops={"arena_clock": {"config": {"cadence": every}}})
            found = arena.asset_materializations_for_node("arena_clock") if arena.success else []
            for request in follow_ups(_plain(found[0].metadata), tick) if found else []:
                run(tick, request.job_name, request.partition_key)
        runs = [r for r in done if r.tick_ms == tick]
        failed = [r.job for r in runs if not r.success]
        progress(f"{iso(tick)}: " + ", ".join(r.job + (f"[{r.partition}]" if r.partition else "") for r in runs)
                 + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return done
