"""The clock of a run: the tick it was launched for (`clash/tick_ms` tag, set by `clash run` and the arena
sensors), held on the pipeline's clock while the asset works, so a run re-executed later still works at its
tick; a run without the tag works at the clock's now (the wall clock live)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from clash_pipeline import clock
from clash_pipeline.timeutil import iso


def tick_tags(tick_ms: int) -> dict[str, str]:
    """The tags that name a run's tick."""
    return {clock.TICK_TAG: iso(tick_ms), clock.TICK_MS_TAG: str(tick_ms)}


@contextmanager
def run_clock(context: dg.AssetExecutionContext) -> Iterator[int]:
    """Hold the clock at the run's tick for the block; yields the tick (ms)."""
    tag = context.run.tags.get(clock.TICK_MS_TAG)
    if tag is None or clock.replaying():
        yield clock.now_ms()
        return
    with clock.replaying_at(int(tag)) as tick:
        yield tick
