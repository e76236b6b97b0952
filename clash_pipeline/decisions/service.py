"""Wiring for processes (CLI, Dagster): a runtime on the configured market memory and archive outbox, a worker
loop that stops gracefully, and the whole story of one run."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from clash_pipeline.archive import open_archive
from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.decisions import payloads
from clash_pipeline.decisions.costs import PriceTable
from clash_pipeline.decisions.gates import GlobalBounds, in_evaluation_order
from clash_pipeline.decisions.limits import ModelLimits
from clash_pipeline.decisions.prompting import assemble
from clash_pipeline.decisions.runtime import DecisionRuntime, TickReport
from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import Settings
from clash_pipeline.strategy.graph import ExecutionControls


ENGINES_FILE = "engines.json"


def engine_config(home: Path) -> dict:
    """The optional `$CLASH_HOME/engines.json`: per-engine settings (`engines`: {"openai": {"max_in_flight": 32,
    "requests_per_minute": ..., "tokens_per_minute": ..., "timeout_s": ..., "model_limits": {model: {...}}}}),
    model prices (`prices`: {model: {"input_per_mtok": ..., "output_per_mtok": ...}}) and bounds (`bounds`:
    GlobalBounds fields, e.g. `model_budget_usd_per_day`). Checked whole before use: a bad file is one error."""
    path = home / ENGINES_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        unknown = set(data) - {"engines", "prices", "bounds"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)} (known: engines, prices, bounds)")
        options: dict = {"engine_settings": dict(data.get("engines", {}))}
        for engine in options["engine_settings"].values():  # limits are checked now, not at the first call
            ModelLimits(engine.get("max_in_flight", 32), engine.get("requests_per_minute"),
                        engine.get("tokens_per_minute"))
            for limits in engine.get("model_limits", {}).values():
                ModelLimits(**limits)
        if "prices" in data:
            options["prices"] = PriceTable(data["prices"])
        if "bounds" in data:
            options["bounds"] = GlobalBounds(**data["bounds"])
        return options
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: {' '.join(str(error).split())}") from None


def runtime_for(settings: Settings, **options: object) -> DecisionRuntime:
    conn = open_memory(settings.memory_path)
    return DecisionRuntime(conn, Outbox(settings.outbox_dir, conn, open_archive(settings)),
                           **{**engine_config(settings.home), **options})


def work(runtime: DecisionRuntime, interval_s: float, report: Callable[[TickReport], None],
         stop: threading.Event | None = None, max_passes: int | None = None) -> int:
    """Run passes until SIGINT/SIGTERM (or `stop`, or `max_passes`); a pass in progress always finishes."""
    stop = stop or threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)} \
        if threading.current_thread() is threading.main_thread() else {}
    passes = 0
    try:
        while not stop.is_set() and (max_passes is None or passes < max_passes):
            report(runtime.tick())
            passes += 1
            stop.wait(interval_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return passes


def run_story(conn: sqlite3.Connection, outbox: Outbox, run_id: int) -> dict:
    """Packet, prompt, reply, gates and order of one decision run."""
    row = conn.execute("SELECT * FROM decision_runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise KeyError(f"no decision run {run_id}")
    columns = [c[0] for c in conn.execute("SELECT * FROM decision_runs LIMIT 0").description]
    run = dict(zip(columns, row))
    action = conn.execute("SELECT * FROM decision_actions WHERE run_id = ?", (run_id,)).fetchone()
    action_columns = [c[0] for c in conn.execute("SELECT * FROM decision_actions LIMIT 0").description]
    gates = in_evaluation_order(conn.execute("SELECT gate, passed, detail FROM decision_gates WHERE run_id = ?",
                                             (run_id,)).fetchall())
    order = conn.execute("SELECT * FROM orders WHERE run_id = ?", (run_id,)).fetchone()
    order_columns = [c[0] for c in conn.execute("SELECT * FROM orders LIMIT 0").description]
    events = conn.execute("SELECT kind, detail, created_ms FROM execution_events WHERE run_id = ? ORDER BY event_id",
                          (run_id,)).fetchall()
    payload = (payloads.run_payload(outbox.read(run["payload_key"]), run_id) or {}) if run["payload_key"] else {}
    return {
        "run": {**run, "archive_status": outbox.status(run["payload_key"]) if run["payload_key"] else None},
        "action": dict(zip(action_columns, action)) if action else None,
        "gates": [{"gate": g, "passed": bool(p), "detail": d} for g, p, d in gates],
        "order": dict(zip(order_columns, order)) if order else None,
        "events": [{"kind": k, "detail": d, "created_ms": t} for k, d, t in events],
        "packet": payload.get("context"), "prompt": _prompt(run["coin"], payload), "reply": payload.get("response"),
        "reason": payload.get("reason"),
    }


def _prompt(coin: str, payload: dict) -> list[dict] | None:
    """The exact messages of the run's prompt, rebuilt from its archived parts."""
    if "context" not in payload:
        return None
    controls = ExecutionControls.model_validate(payload["gate_input"]["controls"])
    return list(assemble(payload["strategy_prompt"], coin, controls, payload["equity_usd"], payload["context"]))
