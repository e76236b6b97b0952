"""The pipeline's clock: the wall clock, or replay time while `clash run` drives the jobs forward.

Every "now" in the pipeline reads `timeutil.now_ms()`, which reads this clock: snapshots are stamped, the replay
generators answer, decisions tick, accounts mark and races start and settle at the clock's time. Live (the daemon,
the UI) the clock is the wall clock; `clash run --from T0 --until T` sets replay time tick by tick in its own
process (`replaying_at`), and tags each run with it (`clash/tick`, `clash/tick_ms`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

TICK_TAG, TICK_MS_TAG = "clash/tick", "clash/tick_ms"
_replay_ms: int | None = None


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def now_ms() -> int:
    """Replay time when set, else the wall clock."""
    return wall_ms() if _replay_ms is None else _replay_ms


def replaying() -> bool:
    return _replay_ms is not None


@contextmanager
def replaying_at(ms: int) -> Iterator[int]:
    """Hold the clock at `ms` for the block (one tick of `clash run`)."""
    global _replay_ms
    before, _replay_ms = _replay_ms, int(ms)
    try:
        yield _replay_ms
    finally:
        _replay_ms = before


def ticks(start_ms: int, until_ms: int, step_ms: int) -> list[int]:
    """The clock's steps from `start_ms` to `until_ms`: the multiples of `step_ms` (UTC) between them, and
    `until_ms` itself last (the clock ends where it was asked to)."""
    first = start_ms + (-start_ms) % step_ms
    found = list(range(first, until_ms + 1, step_ms))
    return found if found and found[-1] == until_ms else found + [until_ms]
