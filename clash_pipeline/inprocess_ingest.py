"""Ingest every source on its own, in process: one source down never stops the others.

`ingest_sources` runs each source's daily history (when it has one) and then its snapshot as separate Dagster
runs on the local instance, catches what each run raised, and returns one `SourceOutcome` per source;
`clash ingest all` exits non-zero naming the failed ones (`failed_sources`). A Hyperliquid snapshot whose books
were not all written says which (`SourceOutcome.retry`), and `retry_books` asks for those books alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from clash_pipeline import inprocess
from clash_pipeline.settings import Settings

BOOKS_ASSET = "hyperliquid_liquidity"


@dataclass(frozen=True)
class SourceOutcome:
    """What ingesting one source did: ok, or the one-line error of the run that failed."""

    source: str
    ok: bool
    error: str | None = None
    retry: dict[str, list] = field(default_factory=dict)  # e.g. {"book_coins": ["ETH"]}: what to ask again

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "ok": self.ok, "error": self.error, "retry": self.retry}


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
    coins: Sequence[str], intervals: Sequence[str], snapshot: bool = True,
    run_log: inprocess.RunLog = inprocess.RunLog.PROGRESS,
) -> list[SourceOutcome]:
    """History for first_day..last_day, then (with `snapshot`) one snapshot, of each source separately."""
    outcomes = []
    for source in sources:
        started = time.time()
        try:
            history = inprocess.ingest_history(settings, instance, [source], first_day, last_day, coins, intervals,
                                               run_log)
            if history is not None and not history.success:
                raise RuntimeError(f"{source} history run {history.run_id} failed")
            if snapshot:
                run = inprocess.ingest_snapshots(settings, instance, [source], coins, run_log)
                if not run.success:
                    raise RuntimeError(f"{source} snapshot run {run.run_id} failed")
        except Exception as error:  # noqa: BLE001 - one source's failure is its outcome, never the others'
            outcomes.append(SourceOutcome(source, False, one_line(error), _retry(instance, started)))
        else:
            outcomes.append(SourceOutcome(source, True))
    return outcomes


def failed_sources(outcomes: Sequence[SourceOutcome]) -> list[str]:
    return [outcome.source for outcome in outcomes if not outcome.ok]


def _retry(instance: dg.DagsterInstance, since: float) -> dict[str, list]:
    """The `retry/*` metadata of books materialized (partly) since `since`: what the failed run could not write."""
    event = instance.get_latest_materialization_event(dg.AssetKey(BOOKS_ASSET))
    if event is None or event.timestamp < since or event.asset_materialization is None:
        return {}
    return {key.removeprefix("retry/"): value.value for key, value in event.asset_materialization.metadata.items()
            if key.startswith("retry/")}


def retry_books(settings: Settings, instance: dg.DagsterInstance, coins: Sequence[str],
                log_level: str = "INFO") -> SourceOutcome:
    """A run that reads and writes only the L2 books of `coins` (the ones a snapshot could not write)."""
    from clash_pipeline.defs.hyperliquid_snapshot import hyperliquid_liquidity, hyperliquid_snapshot_raw
    from clash_pipeline.defs.resources import default_resources

    started = time.time()
    config = {"hyperliquid_snapshot_raw": {"config": {"book_coins": list(coins), "books_only": True}}}
    try:
        dg.materialize([hyperliquid_snapshot_raw, hyperliquid_liquidity], instance=instance,
                       resources=default_resources(settings),
                       run_config={"loggers": {"console": {"config": {"log_level": log_level}}}, "ops": config})
    except Exception as error:  # noqa: BLE001 - reported as the outcome
        return SourceOutcome("hyperliquid", False, one_line(error), _retry(instance, started))
    return SourceOutcome("hyperliquid", True)
