"""The decision tick for live clones: the same runtime, in the `live-exchange` context, for the clones whose owner
approved an agent; each ordered verdict goes to the exchange (`execute_live`) instead of the paper fill model, and
each clone it traded is reconciled after the pass."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Callable, Iterable

from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.decisions.engines import Proposal
from clash_pipeline.decisions.gates import GlobalBounds
from clash_pipeline.decisions.runtime import DecisionRuntime, Due, Outcome, Prepared, TickReport
from clash_pipeline.live.agents import live_clones
from clash_pipeline.live.config import LIVE_CONTEXT
from clash_pipeline.live.execute import Venue, execute_live
from clash_pipeline.live.reconcile import ReconciliationMismatch, reconcile
from clash_pipeline.market.exchange_rules import dec

log = logging.getLogger("clash_pipeline")


class LiveRuntime(DecisionRuntime):
    def __init__(self, conn: sqlite3.Connection, outbox: Outbox, venue: Venue, **options: object) -> None:
        bounds = dataclasses.replace(options.pop("bounds", GlobalBounds()), execution_mode="exchange")
        super().__init__(conn, outbox, clock=venue.clock, bounds=bounds, context_label=LIVE_CONTEXT, **options)
        self.venue = venue
        self.live_states: dict[int, str] = {}       # order id -> live state after this pass
        self.reconciliations: dict[int, str] = {}   # clone id -> "ok" or the mismatch / error

    def due(self, clone_ids: Iterable[int] | None = None, coin: str | None = None, force: bool = False) -> list[Due]:
        live = set(live_clones(self.conn, self.venue.config.network.value))
        wanted = sorted(live if clone_ids is None else live & set(clone_ids))
        return super().due(wanted, coin, force) if wanted else []

    def conclude(self, prepared: Prepared, proposal: Proposal | BaseException) -> Outcome:
        outcome = super().conclude(prepared, proposal)
        outcome.fill = None  # the exchange fills live orders, not the paper model
        if outcome.payload:
            outcome.payload["fill"] = None
            outcome.payload["execution"] = LIVE_CONTEXT
        return outcome

    def _account_state(self, d: Due, starting_usd: float) -> dict:
        """The paper view of the live account (its position and drawdown), with equity from the exchange."""
        account = super()._account_state(d, starting_usd)
        owner = self.conn.execute("SELECT owner_address FROM live_agents WHERE clone_id = ? AND status = 'approved'",
                                  (d.clone_id,)).fetchone()
        if owner:
            state = self.venue.client.clearinghouse_state(owner[0])
            account["equity"] = float(dec(state["marginSummary"]["accountValue"]))
        return account

    def run(self, due: list[Due], on_batch: Callable[[list[Outcome]], None] | None = None) -> TickReport:
        traded: set[int] = set()

        def send(outcomes: list[Outcome]) -> None:
            for o in outcomes:
                if o.status != "ordered":
                    continue
                row = self.conn.execute("SELECT order_id FROM orders WHERE run_id = ?", (o.run_id,)).fetchone()
                try:
                    self.live_states[row[0]] = execute_live(self.conn, row[0], self.venue).value
                except Exception:  # one order's failure never stops the others: reconciliation picks it up
                    log.exception("live order of run %s failed", o.run_id)
                    self.live_states[row[0]] = "error"
                traded.add(o.due.clone_id)
            if on_batch:
                on_batch(outcomes)

        report = super().run(due, send)
        for clone_id in sorted(traded):
            try:
                reconcile(self.conn, clone_id, self.venue)
                self.reconciliations[clone_id] = "ok"
            except ReconciliationMismatch as error:
                self.reconciliations[clone_id] = str(error)
            except Exception as error:
                log.exception("reconciling clone %s failed", clone_id)
                self.reconciliations[clone_id] = f"{type(error).__name__}: {error}"
        return report
