"""Decision replay: re-derive a stored run's verdict, order and fill from its archived inputs (the raw reply,
the gate input and bounds, the fill snapshot and config) with the runtime's own derivation (`derive`), without
calling any model, and say whether they match what was recorded."""

from __future__ import annotations

import dataclasses
import sqlite3
from decimal import Decimal

from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.decisions import payloads
from clash_pipeline.decisions.engines import proposal_from_reply
from clash_pipeline.decisions.derive import derive
from clash_pipeline.decisions.gates import GlobalBounds, gate_input_from_dict, in_evaluation_order
from clash_pipeline.paper.fills import FillConfig, Snapshot
from clash_pipeline.paper.positions import to_micro


def replay_run(conn: sqlite3.Connection, outbox: Outbox, run_id: int) -> dict:
    run = conn.execute("SELECT status, payload_key FROM decision_runs WHERE run_id = ?", (run_id,)).fetchone()
    if run is None:
        raise KeyError(f"no decision run {run_id}")
    status, key = run
    if key is None:
        raise KeyError(f"run {run_id} has no archived payload ({status})")
    payload = payloads.run_payload(outbox.read(key), run_id)
    if payload is None:
        raise KeyError(f"run {run_id} is not in its archived object {key}")
    proposal = proposal_from_reply(payload["response"])
    gate_input = gate_input_from_dict(payload["gate_input"])
    # The action comes from the archived reply; a reply that did not parse keeps its recorded status (a refusal,
    # an error or a timeout cannot be told apart from the text alone).
    gate_input = dataclasses.replace(gate_input, action=proposal.action, reply_status=proposal.reply_status
                                     if proposal.reply_status == "ok" else gate_input.reply_status)
    config = FillConfig(**{k: (int(v) if k == "limit_ttl_ms" else Decimal(v))
                           for k, v in payload["fill_config"].items()})
    snap = payload.get("snapshot")
    derived = derive(gate_input, GlobalBounds(**payload["bounds"]), lambda: snap and Snapshot.from_dict(snap), config)
    report = derived.gates
    checks = [("verdict", str(derived.verdict), status)]
    gates = dict(in_evaluation_order(conn.execute("SELECT gate, passed FROM decision_gates WHERE run_id = ?",
                                                  (run_id,)).fetchall()))  # shown as derived: in evaluation order
    checks.append(("gates", {g: int(p) for g, p, _ in report.verdicts}, gates))
    order = conn.execute("SELECT order_id, side, size, price, order_type, reduce_only FROM orders WHERE run_id = ?",
                         (run_id,)).fetchone()
    if report.order or order:
        draft = report.order
        derived_order = None if draft is None else (draft.side, str(draft.size), None if draft.price is None
                                                    else str(draft.price), draft.order_type, int(draft.reduce_only))
        checks.append(("order", derived_order, None if order is None else tuple(order[1:])))
    if derived.fill is not None:
        fill = derived.fill
        recorded = conn.execute("SELECT size, price, fee_micro FROM paper_fills WHERE order_id = ?",
                                (order[0],)).fetchone() if order else None
        derived_fill = None if fill.status not in ("filled", "partial") else (str(fill.size), str(fill.price),
                                                                               to_micro(fill.fee))
        checks.append(("fill", derived_fill, recorded))
    rows = [{"check": name, "derived": derived, "recorded": recorded, "match": _same(derived, recorded)}
            for name, derived, recorded in checks]
    return {"run_id": run_id, "matches": all(r["match"] for r in rows), "checks": rows,
            "reply_status": proposal.reply_status}


def _same(derived: object, recorded: object) -> bool:
    if isinstance(derived, tuple) and isinstance(recorded, tuple):
        return list(map(str, derived)) == list(map(str, recorded))
    return derived == recorded
