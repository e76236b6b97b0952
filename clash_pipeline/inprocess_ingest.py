"""Ingest every source on its own, in process: one source down never stops the others.

`ingest_sources` runs each source's daily history (when it has one) and then its snapshot as separate Dagster
runs on the local instance, catches what each run raised, and returns one `SourceOutcome` per source;
`clash ingest all` exits non-zero naming the failed ones (`failed_sources`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from clash_pipeline import inprocess
from clash_pipeline.settings import Settings


@dataclass(frozen=True)
class SourceOutcome:
    """What ingesting one source did: ok, or the one-line error of the run that failed."""

    source: str
    ok: bool
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "ok": self.ok, "error": self.error}


def one_line(error: BaseException) -> str:
    """The user-facing line of a run's error: a Dagster Failure's description, else the innermost cause."""
    while True:
        if isinstance(error, dg.Failure) and error.description:
            return error.description.splitlines()[0]
        inner = getattr(error, "user_exception", None) or error.__cause__
        if inner is None or inner is error:
            return str(error).splitlines()[0] if str(error) else type(error).__name__
        error = inner


def ingest_sources(
    settings: Settings, instance: dg.DagsterInstance, sources: Sequence[str], first_day: str, last_day: str,
    coins: Sequence[str], intervals: Sequence[str], snapshot: bool = True, log_level: str = "INFO",
) -> list[SourceOutcome]:
    """History for first_day..last_day, then (with `snapshot`) one snapshot, of each source separately."""
    outcomes = []
    for source in sources:
        try:
            history = inprocess.ingest_history(settings, instance, [source], first_day, last_day, coins, intervals,
                                               log_level)
            if history is not None and not history.success:
                raise RuntimeError(f"{source} history run {history.run_id} failed")
            if snapshot:
                run = inprocess.ingest_snapshots(settings, instance, [source], coins, log_level)
                if not run.success:
                    raise RuntimeError(f"{source} snapshot run {run.run_id} failed")
        except Exception as error:  # noqa: BLE001 - one source's failure is its outcome, never the others'
            outcomes.append(SourceOutcome(source, False, one_line(error)))
        else:
            outcomes.append(SourceOutcome(source, True))
    return outcomes


def failed_sources(outcomes: Sequence[SourceOutcome]) -> list[str]:
    return [outcome.source for outcome in outcomes if not outcome.ok]
