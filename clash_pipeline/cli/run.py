"""`clash run --until T [--from T0]`: the named jobs tick by tick over replay time, as fast as the machine allows.

Live, the same jobs run on the wall clock through the daemon (`decision_cadence_sensor`, `arena_clock_sensor`,
`arena_follow_up_sensor`, the schedules); `clash run` moves a replay clock instead and runs them in process on the
local instance, so every run shows in the UI with its tick (`clash/tick` tag).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from clash_pipeline.cli.arena import moment
from clash_pipeline.settings import load_settings

MAX_TICKS = 10_000


def plan(args: argparse.Namespace, instance, now: int, earliest: int) -> list[int]:
    """The ticks to run, checked before any work (ValueError with one line if refused)."""
    from clash_pipeline.clock import ticks
    from clash_pipeline.inprocess_clock import last_tick
    from clash_pipeline.timeutil import interval_ms, iso

    step = interval_ms(args.every)
    if args.until > now:
        raise ValueError(f"--until {iso(args.until)} is after now ({iso(now)}): replay time runs up to now; live "
                         "mode runs on the wall clock through the daemon")
    start = args.start
    if start is None:
        last = last_tick(instance)
        if last is None:
            raise ValueError("no replay tick on this instance yet: give --from (the first tick)")
        start = last + 1
    if start < earliest:
        raise ValueError(f"--from {iso(start)} is before the history start {iso(earliest)} (CLASH_HISTORY_START)")
    if start > args.until:
        raise ValueError(f"--from {iso(start)} is after --until {iso(args.until)}")
    found = ticks(start, args.until, step)
    if len(found) > MAX_TICKS:
        raise ValueError(f"{len(found)} ticks of {args.every}: at most {MAX_TICKS} (use a larger --every)")
    return found


def cmd_run(args: argparse.Namespace) -> int:
    from clash_pipeline import inprocess
    from clash_pipeline.clock import wall_ms
    from clash_pipeline.timeutil import day_start_ms, iso

    settings = load_settings()
    if args.snapshots and settings.source_mode == "live":
        print("clash: run: --snapshots needs CLASH_SOURCE_MODE=replay (a live snapshot is of now, not of the "
              "replay tick)", file=sys.stderr)
        return 2
    instance = inprocess.local_instance()
    try:
        ticks = plan(args, instance, wall_ms(), day_start_ms(settings.history_start))
    except ValueError as error:
        print(f"clash: run: {error}", file=sys.stderr)
        return 2
    report = run_clock(instance, ticks, args.every, args.snapshots,
                       progress=lambda line: print(line, file=sys.stderr))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        jobs = ", ".join(f"{name} {n}" for name, n in report["runs_by_job"].items())
        print(f"clock: {iso(ticks[0])} -> {iso(ticks[-1])}, {len(ticks)} ticks every {args.every}: "
              f"{report['runs']} runs ({jobs}), {len(report['failed'])} failed, {report['seconds']:.1f} s")
        for failed in report["failed"]:
            print(f"  FAILED {failed['job']} at {failed['tick']}: run {failed['run_id']}")
    return 1 if report["failed"] else 0


def run_clock(instance, ticks: list[int], every: str, snapshots: bool = False, progress=lambda _: None) -> dict:
    """Drive the ticks and summarize: runs by job, the failed ones, the wall time."""
    import time

    from clash_pipeline.inprocess_clock import drive

    started = time.perf_counter()
    runs = drive(instance, ticks, every, snapshots, progress)
    return {"ticks": len(ticks), "runs": len(runs), "runs_by_job": dict(Counter(r.job for r in runs)),
            "failed": [r.as_dict() for r in runs if not r.success], "seconds": round(time.perf_counter() - started, 1),
            "run_ids": [r.run_id for r in runs]}


def register(commands) -> None:
    from clash_pipeline.strategy.catalog import CADENCES

    run = commands.add_parser(
        "run", help="drive the named jobs tick by tick over replay time",
        description="Move a replay clock from --from to --until, one --every tick at a time, and run the tick's "
                    "jobs in process at each (decision_tick_job, arena_clock_job, then race standings, audition "
                    "verdicts, race results, leaderboard and Hall of Fame as the arena tick calls for them). Each "
                    "run is tagged clash/tick. Live mode runs the same jobs on the wall clock through the daemon.")
    run.add_argument("--until", type=moment, required=True, help="the last tick (ms or ISO UTC), at most now")
    run.add_argument("--from", dest="start", type=moment,
                     help="the first tick (ms or ISO UTC); default: after the last tick `clash run` made here")
    run.add_argument("--every", choices=CADENCES, default="15m",
                     help="the clock's step, also the races' decision cadence (default 15m)")
    run.add_argument("--snapshots", action="store_true",
                     help="take a Hyperliquid snapshot at each tick first (replay mode: the generator answers at "
                          "the tick's time)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=cmd_run)
