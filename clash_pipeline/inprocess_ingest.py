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
from clash_pipeline.errors import one_line
from clash_pipeline.settings import Settings

BOOKS_ASSET = "hyperliquid_liquidity"


@dataclass(frozen=True)
class SourceOutcome:
    """What ingesting one source did: ok, or the steps that failed with their errors (one line each)."""

    source: str
    failures: tuple[tuple[str, BaseException], ...] = ()  # (step: history | snapshot | books, error)
    retry: dict[str, list] = field(default_factory=dict)  # e.g. {"book_coins": ["ETH"]}: what to ask again

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def error(self) -> str | None:
        return one_line(self.failures[0][1]) if self.failures else None

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "ok": self.ok, "failed_steps": [step for step, _ in self.failures],
                "errors": [one_line(error) for _, error in self.failures], "retry": self.retry}


def ingest_sources(
    settings: Settings, instance: dg.DagsterInstance, sources: Sequence[str], first_day: str, last_day: str,
    coins: Sequence[str] | None, intervals: Sequence[str] | None, snapshot: bool = True,
    run_log: inprocess.RunLog = inprocess.RunLog.PROGRESS,
) -> list[SourceOutcome]:
    """History for first_day..last_day, then (with `snapshot`) one snapshot, of each source separately; a failed
    step never stops the next one or the next source. Coins None: the demanded set (and its books)."""
    outcomes = []
    for source in sources:
        started, failures = time.time(), []
        steps = [("history", lambda: inprocess.ingest_history(settings, instance, [source], first_day, last_day,
                                                              coins, intervals, run_log))]
        if snapshot:
            steps.append(("snapshot", lambda: inprocess.ingest_snapshots(settings, instance, [source], coins,
                                                                         run_log)))
        for step, run in steps:
            try:
                result = run()
                if result is not None and not result.success:
                    raise RuntimeError(f"{source} {step} run {result.run_id} failed")
            except inprocess.Interrupted:
                raise
            except Exception as error:  # noqa: BLE001 - one source's failure is its outcome, never the others'
                failures.append((step, error))
        outcomes.append(SourceOutcome(source, tuple(failures), _retry(instance, started) if failures else {}))
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
                run_log: inprocess.RunLog = inprocess.RunLog.PROGRESS) -> SourceOutcome:
    """A run that reads and writes only the L2 books of `coins` (the ones a snapshot could not write)."""
    from clash_pipeline.defs.hyperliquid_snapshot import hyperliquid_liquidity, hyperliquid_snapshot_raw

    started = time.time()
    config = {"hyperliquid_snapshot_raw": {"config": {"book_coins": list(coins), "books_only": True}}}
    try:
        inprocess.run_assets(settings, instance, [hyperliquid_snapshot_raw, hyperliquid_liquidity], config, run_log)
    except inprocess.Interrupted:
        raise
    except Exception as error:  # noqa: BLE001 - reported as the outcome
        return SourceOutcome("hyperliquid", (("books", error),), _retry(instance, started))
    return SourceOutcome("hyperliquid")
