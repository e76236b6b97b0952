"""The product loop's step of the clock: at each tick, auditions and races run forward.

`step(now)` is what the arena clock does at a cadence tick (live: the wall clock's; replay: `clash run`'s): every
running audition decides and marks its ticks up to now and gets its verdict when its hours end; passing clones
are promoted; races start (sales close), decide and mark their ticks up to now, end and settle when their window
closes; the next race opens for tickets. The decisions go through the same runtime as live clones, in their own
contexts (`audition:<id>`, `race:<id>`), each tick priced and marked at that tick.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.arena.audition import advance_auditions, promote
from clash_pipeline.arena.races import Arena, ArenaConfig


@dataclass
class StepReport:
    now_ms: int
    auditions: list[dict] = field(default_factory=list)   # each running audition's progress, or its verdict
    events: list[str] = field(default_factory=list)       # races started, ended, settled; retirements
    promoted: list[int] = field(default_factory=list)
    running_races: list[str] = field(default_factory=list)
    ticked_races: list[str] = field(default_factory=list)   # races that decided ticks at this step
    settled_races: list[str] = field(default_factory=list)  # settled at this step
    accumulating: str = ""

    @property
    def verdicts(self) -> list[dict]:
        return [a for a in self.auditions if a["status"] != "running"]


def step(conn: sqlite3.Connection, outbox: Outbox, now_ms: int, config: ArenaConfig = ArenaConfig()) -> StepReport:
    """Everything the product loop owes the clock at `now_ms` (auditions first: a clone that passes at a window's
    start is promoted in time to enter the race starting then)."""
    report = StepReport(now_ms)
    before = {r for (r,) in conn.execute("SELECT race_id FROM settlements")}
    open_races = [r for (r,) in conn.execute("SELECT race_id FROM races WHERE status IN ('accumulating', 'running', "
                                             "'ended')")]
    last_ticks = _last_ticks(conn, open_races)
    report.auditions = advance_auditions(conn, outbox, now_ms, config.slots)
    report.promoted = promote(conn, now_ms, config.slots)
    arena = Arena(conn, outbox, config)
    report.events = arena.advance(now_ms)
    report.promoted += promote(conn, now_ms, config.slots)  # slots opened by retirements
    report.accumulating = arena.accumulating(now_ms)
    report.running_races = [r for (r,) in conn.execute("SELECT race_id FROM races WHERE status = 'running' ORDER BY "
                                                       "start_ms")]
    report.settled_races = sorted({r for (r,) in conn.execute("SELECT race_id FROM settlements")} - before)
    report.ticked_races = sorted(r for r, t in _last_ticks(conn, open_races).items() if last_ticks.get(r) != t)
    return report


def _last_ticks(conn: sqlite3.Connection, races: list[str]) -> dict[str, int]:
    """The last decided tick of each of `races`."""
    return {r: t for r in races for (t,) in conn.execute("SELECT MAX(tick_ms) FROM race_ticks WHERE race_id = ?", (r,))
            if t is not None}
