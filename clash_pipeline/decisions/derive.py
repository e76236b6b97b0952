"""Deciding, apart from recording: a pure derivation from a run's inputs (the proposal inside the gate input, the
bounds, the market snapshot and the fill config) to its verdict, gate report and fill. The runtime calls it live;
`clash replay` calls it on the archived inputs, so both derive the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clash_pipeline.decisions.gates import GateInput, GateReport, GlobalBounds, run_gates
from clash_pipeline.orders.enums import RunStatus
from clash_pipeline.paper.fills import Fill, FillConfig, OrderSpec, Snapshot, fill_order


@dataclass(frozen=True)
class Derivation:
    verdict: RunStatus
    gates: GateReport
    snapshot: Snapshot | None = None
    fill: Fill | None = None


def derive(gate_input: GateInput, bounds: GlobalBounds, read_snapshot: Callable[[], Snapshot | None],
           fills: FillConfig) -> Derivation:
    """The gates' verdict; if they make an order, its fill against the snapshot (read only then)."""
    gates = run_gates(gate_input, bounds)
    verdict = (RunStatus.HELD if gates.order is None else RunStatus.ORDERED) if not gates.failed else \
        RunStatus.REJECTED
    if gates.failed == 1 and next(g for g, ok, _ in gates.verdicts if not ok) == "model_budget":
        verdict = RunStatus.HELD  # the clone spent its model budget: it holds, and the gate says why
    if gates.order is None:
        return Derivation(verdict, gates)
    snap = read_snapshot()
    if snap is None:
        return Derivation(verdict, gates)
    order = gates.order
    return Derivation(verdict, gates, snap, fill_order(OrderSpec(order.side, order.size, order.order_type,
                                                                 order.price), snap, fills))
