"""Backtests: a clone over stored history through the same code path as live paper trading (packets as of each
tick, the same engine, gates and fill model, marks after each tick), in their own account context
`backtest:<id>`. Reproducible bit for bit: the result hash covers the equity curve and every fill. A day of
ticks (`ARCHIVE_EVERY_TICKS`, at most `COMMIT_EVERY` decisions) commits at once, and its payloads are archived as
one object, compressed while the next day runs: a backtest killed midway keeps its committed days (the last of
them may lack its payload object; run it again, it is reproducible). Over stored history, packets and prices are
read a day ahead per read (`strategy/reads.py`)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable

from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.decisions.runtime import DecisionRuntime
from clash_pipeline.memory.db import checkpoints_deferred, transaction
from clash_pipeline.paper.fills import FillConfig
from clash_pipeline.paper.metrics import account_metrics
from clash_pipeline.strategy.catalog import CADENCES
from clash_pipeline.timeutil import interval_ms, now_ms

ARCHIVE_EVERY_TICKS = 96  # payloads go to the archive as one object per 96 ticks (a day at 15m), not per tick
COMMIT_EVERY = 1_000  # decisions a commit holds at most: other writers never wait long for a simulation


def run_backtest(conn: sqlite3.Connection, outbox: Outbox, clone_id: int, start_ms: int, end_ms: int,
                 cadence: str = "15m", fills: FillConfig = FillConfig(),
                 progress: Callable[[str], None] = lambda _: None) -> dict:
    if cadence not in CADENCES:
        raise ValueError(f"cadence must be one of {', '.join(CADENCES)}, not {cadence!r}")
    if end_ms <= start_ms:
        raise ValueError(f"a backtest's end ({end_ms} ms) must be after its start ({start_ms} ms)")
    (backtest_id,) = conn.execute(
        "INSERT INTO backtests (clone_id, start_ms, end_ms, cadence, created_ms) VALUES (?, ?, ?, ?, ?) "
        "RETURNING backtest_id", (clone_id, start_ms, end_ms, cadence, now_ms())).fetchone()
    label = f"backtest:{backtest_id}"
    decisions, ticks = simulate(conn, outbox, [clone_id], label, start_ms, end_ms, cadence, fills, progress,
                                stored_history=end_ms <= now_ms())  # all of it stored already
    accounts = _accounts(conn, clone_id, label)
    metrics = account_metrics(conn, accounts[0]).as_dict() if accounts else None
    digest = result_hash(conn, accounts[0]) if accounts else None
    conn.execute("UPDATE backtests SET metrics_json = ?, result_sha256 = ? WHERE backtest_id = ?",
                 (json.dumps(metrics), digest, backtest_id))
    return {"backtest_id": backtest_id, "context": label, "ticks": ticks, "decisions": decisions,
            "metrics": metrics, "result_sha256": digest}


def simulate(conn: sqlite3.Connection, outbox: Outbox, clone_ids: list[int], label: str, start_ms: int,
             end_ms: int, cadence: str, fills: FillConfig = FillConfig(),
             progress: Callable[[str], None] = lambda _: None,
             on_tick: Callable[[int, list], None] | None = None, stored_history: bool = False) -> tuple[int, int]:
    """Drive the live decision path over [start_ms, end_ms] with a clock: at each cadence tick, decide what is due
    for `clone_ids` in context `label`, then mark their accounts. Returns the decisions made and the ticks run.
    `stored_history` (a backtest: history that no ingestion moves under it): packets are read a day ahead."""
    step, clock = interval_ms(cadence), [start_ms]
    runtime = DecisionRuntime(conn, outbox, clock=lambda: clock[0], context_label=label, fills=fills,
                              worker=label, cadence=cadence, defer_payloads=True,
                              heartbeat=False,  # its context is its own: no other worker takes its runs over
                              read_ahead_ms=ARCHIVE_EVERY_TICKS * step if stored_history else None)
    ticks = range(start_ms - start_ms % step + (step if start_ms % step else 0), end_ms + 1, step)
    decisions, i = 0, 0
    with checkpoints_deferred(conn):  # a simulation rewrites the same pages daily: the WAL is copied back once
        while i < len(ticks):
            with transaction(conn):  # a day of ticks (or COMMIT_EVERY decisions) commits at once, its payloads too
                first, batch = i, 0
                while i < len(ticks) and i - first < ARCHIVE_EVERY_TICKS and batch < COMMIT_EVERY:
                    clock[0] = ticks[i]
                    outcomes = runtime.tick(clone_ids).outcomes
                    decisions, batch = decisions + len(outcomes), batch + len(outcomes)
                    if on_tick:
                        on_tick(ticks[i], outcomes)
                    runtime.broker.mark(ticks[i], [a for c in clone_ids for a in _accounts(conn, c, label)])
                    if i % 96 == 0:
                        progress(f"{label}: tick {i + 1}/{len(ticks)}, {decisions} decisions")
                    i += 1
                runtime.flush_payloads()
        runtime.flush_payloads(wait=True)
    return decisions, len(ticks)


def _accounts(conn: sqlite3.Connection, clone_id: int, label: str) -> list[int]:
    return [a for (a,) in conn.execute("SELECT account_id FROM paper_accounts WHERE clone_id = ? AND "
                                       "context_label = ?", (clone_id, label))]


def result_hash(conn: sqlite3.Connection, account_id: int) -> str:
    """sha256 of the equity curve and the fills (without ids): two equal runs give equal hashes."""
    curve = conn.execute("SELECT ts_ms, equity_micro, balance_micro, margin_micro, unrealized_micro FROM equity_curve "
                         "WHERE account_id = ? ORDER BY ts_ms", (account_id,)).fetchall()
    fills = conn.execute("SELECT cause, coin, side, size, price, fee_micro, source, ts_ms FROM paper_fills "
                         "WHERE account_id = ? ORDER BY ts_ms, coin, cause", (account_id,)).fetchall()
    return hashlib.sha256(json.dumps([curve, fills]).encode()).hexdigest()
