"""The decision worker: find due (clone, strategy, asset) runs, claim each exactly once, decide, record.

- Due: for each active clone, prompt block and enabled asset, the cadence tick that contains `now` (or `now`
  itself when forced). A run is keyed (clone, strategy, asset, tick, context): a second worker, or a retry,
  cannot create another for the same key (the INSERT is the claim). A model-backed run is claimed (a `running`
  row) before its engine is asked; a pure engine's run (hold, rules: cheap and deterministic) is decided first
  under a reserved run id, and its one INSERT, of the finished run, is its claim: if another worker recorded the
  key first, this one writes nothing of it.
- Decide: the packet as of the tick, the assembled prompt, the engine's proposal, the gates.
- Record: the payloads (context, prompt, reply, reason) go to the archive outbox as one object per batch; the
  action, every gate verdict, the dry-run order and its ledger events, and the run's final state are written in
  one transaction per batch. A crash before that leaves a claimed run `running` (a pure one unwritten, due
  again): the next pass takes it over once its lease has run out and finishes it (or marks it failed after three
  attempts): never a half-written order.
- Leases: a claim holds for `lease_ms` after its last heartbeat; while a pass works, a background thread renews
  the leases of every run this worker holds (every `lease_ms / 3`), so a slow model call never loses one. A run
  is recorded only by the claim that holds it (worker and attempt, still `running`): a run another worker took
  over or finished is left as that worker wrote it.
- Isolation: a clone whose graph no longer loads is skipped (named in the report); if a batch fails while
  recording, each run is recorded on its own and the one that fails ends `failed` with its error.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import logging
import math
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

import orjson

from clash_pipeline.archive.archive import Archive, ArchiveRef
from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.decisions import payloads
from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.costs import PriceTable, spent_micro
from clash_pipeline.decisions.derive import derive
from clash_pipeline.decisions.engines import Engine, EngineRequest, Proposal, make_engine
from clash_pipeline.decisions.gates import (
    AssetRules,
    GateInput,
    GateReport,
    GlobalBounds,
    gate_input_to_dict,
)
from clash_pipeline.market.exchange_rules import dec
from clash_pipeline.memory.db import connect, insert_new, reserve_ids, transaction
from clash_pipeline.orders import lifecycle
from clash_pipeline.orders.enums import FillStatus, OrderType, Side
from clash_pipeline.orders.lifecycle import NewOrder
from clash_pipeline.paper.broker import Booking, Broker
from clash_pipeline.paper.fills import Fill, FillConfig, Snapshot
from clash_pipeline.paper.market import snapshot
from clash_pipeline.paper.positions import shown_price
from clash_pipeline.strategy import plan_cache
from clash_pipeline.strategy.graph import TradingCloneBlock, TradingPromptBlock
from clash_pipeline.strategy.packet import encoded_packet
from clash_pipeline.strategy.plan import AssetPlan, CompiledGraph
from clash_pipeline.strategy.reads import ReadAhead, SqlReader
from clash_pipeline.strategy.selection import Universe
from clash_pipeline.timeutil import DAY_MS, HOUR_MS, interval_ms, now_ms

log = logging.getLogger("clash_pipeline")
LEASE_MS = 5 * 60_000
MAX_ATTEMPTS = 3
BATCH = 100
PACKET_CACHE = 256


class Due(NamedTuple):  # a run's key and version: made for every pair each pass, and a dict key
    clone_id: int
    version: int
    prompt_id: str
    coin: str
    tick_ms: int
    forced: bool


@dataclass(slots=True)
class Claim:
    """A run this worker holds: its id, its key and the attempt that took it (the lease token). `claimed` False: a
    pure engine's run, decided before it is claimed (its id reserved; recording it inserts its row, and that INSERT
    is the claim)."""

    run_id: int
    due: Due
    attempt: int = 1
    claimed: bool = True


@dataclass(slots=True)
class Outcome:
    run_id: int
    due: Due
    status: str
    proposal: Proposal | None = None
    gates: GateReport | None = None
    fill: Fill | None = None
    snapshot: Snapshot | None = None
    error: str | None = None
    payload: dict = field(default_factory=dict)
    elapsed_ms: float = 0.0
    attempt: int = 1
    claimed: bool = True  # its running row exists (claimed, then decided), or recording inserts it (pure)


@dataclass(slots=True)
class Prepared:
    """A run read and ready for its engine: what the engine is asked and what the gates will need."""

    run_id: int
    due: Due
    attempt: int
    started: float
    prompt: TradingPromptBlock
    engine: Engine
    enabled: bool
    request: EngineRequest
    account: dict
    reads: tuple
    budget: tuple[float, float] | None = None  # (spent today, budget) in USD for engines that call a model
    newest_ms: int | None = None  # the packet's newest market data (what freshness is about)
    claimed: bool = True
    context: object = None  # the packet as archived: its JSON, encoded once (orjson.Fragment), or the packet


@dataclass(frozen=True)
class _View:
    """A clone version's compiled plans as the hot path reads them: blocks by id, its clone block, and each
    asset plan by (prompt block, coin)."""

    blocks: dict
    clone: TradingCloneBlock
    plans: dict[tuple[str, str], AssetPlan]


@dataclass
class _Staged:
    """A batch decided, its payloads' archive objects being prepared (run ids, future ref), not yet recorded;
    `ordered`: the clones it holds an order of (a run of theirs waits for it to be recorded)."""

    outcomes: list[Outcome]
    objects: list[tuple[list[int], Future]]
    ordered: set[int]


@dataclass
class TickReport:
    due: int = 0
    max_in_flight: int = 0                                 # the most model calls in flight at once
    cost_micro: int = 0                                    # what this pass's model calls cost
    claimed: int = 0
    resumed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)          # runs another worker took over: not recorded here
    skipped: dict[int, str] = field(default_factory=dict)  # clone id -> why its graph did not load

    def counts(self) -> dict[str, int]:
        counts = {"held": 0, "rejected": 0, "ordered": 0, "failed": 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return counts


def client_order_id(clone_id: int, prompt_id: str, coin: str, tick_ms: int, context: str) -> str:
    """Hyperliquid's cloid format (0x + 32 hex), derived from the run's key: a retry reuses it."""
    return "0x" + hashlib.sha256(f"{clone_id}|{prompt_id}|{coin}|{tick_ms}|{context}".encode()).hexdigest()[:32]


class DecisionRuntime:
    def __init__(self, conn: sqlite3.Connection, outbox: Outbox, *, clock: Callable[[], int] = now_ms,
                 bounds: GlobalBounds = GlobalBounds(), engine_settings: dict | None = None,
                 context_label: str = "live", worker: str | None = None, fills: FillConfig = FillConfig(),
                 cadence: str | None = None, lease_ms: int = LEASE_MS, heartbeat_s: float | None = None,
                 max_workers: int = 64, defer_payloads: bool = False, heartbeat: bool = True,
                 prices: PriceTable | None = None, read_ahead_ms: int | None = None) -> None:
        self.conn, self.outbox, self.clock, self.bounds = conn, outbox, clock, bounds
        # one drawdown stop (the gate's bound and the mark's stop) and one fill config, for every order and mark
        # backtests: history does not move under them, so packets and prices are read ahead in windows
        self.stored_history = read_ahead_ms is not None
        # on a grid the ticks (their packets and marks) and the funding hours are all on: the cadence, at most an hour
        grid = math.gcd(interval_ms(cadence), HOUR_MS) if cadence else None
        self.reader = ReadAhead(conn, read_ahead_ms, grid) if read_ahead_ms else SqlReader(conn)
        self.fills, self.broker = fills, Broker(conn, fills, Decimal(str(bounds.drawdown_stop_pct)), self.reader)
        self.cadence = cadence  # a backtest's cadence overrides the prompt blocks' own
        self._bounds, self._fill_config = dataclasses.asdict(bounds), fills.as_dict()  # archived with every run
        self.engine_settings = engine_settings or {}
        self.context = context_label
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease_ms = lease_ms
        self.max_workers = max_workers  # threads for concurrent engines; each engine bounds its models itself
        self.defer_payloads = defer_payloads  # backtests: archive payloads every N ticks (flush_payloads)
        self._deferred: dict[int, bytes] = {}
        self._compressing: tuple[list[int], Future] | None = None  # the last flush's object, being compressed
        self.heartbeat = heartbeat  # off only where no other worker can hold this context's runs (a backtest)
        self._packets: OrderedDict[tuple, dict] = OrderedDict()
        self.prices = prices or PriceTable()  # token usage to USD, per model
        self._spent: dict[tuple[int, int], int] = {}  # (clone, UTC day) -> model spend in micro-USD
        self._pass_reads: dict[tuple | str, object] = {}
        self._clone_reads: dict[int, dict] = {}
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else lease_ms / 3 / 1000
        self.skipped: dict[int, str] = {}
        self._compiled: dict[tuple[int, int], tuple[CompiledGraph, dict]] = {}
        self._views: dict[tuple[int, int], _View] = {}
        self._universe_digest = ""
        self._engines: dict[str, object] = {}
        self._rules: dict[str, AssetRules] = {}
        self._universe: Universe | None = None  # loaded once per pass for the clones compiled in it
        self._passes = 0

    # -- what is due ------------------------------------------------------------------------------------------
    def _plans(self, clone_id: int, version: int) -> tuple[CompiledGraph, dict]:
        """A clone version's compiled plans and blocks from `plan_cache`: shared by every clone version whose stored
        graph is the same, by every runtime of this process and, through clone_read_plans, by the next process,
        against the same universe (a sensor evaluation, the next pass, a backtest, a new run: nothing recompiles)."""
        key = (clone_id, version)
        if key not in self._compiled:  # a graph that does not load raises (GraphInvalid) and is tried again later
            if self._universe is None:
                self._universe = Universe.load(self.conn)
                self._universe_digest = plan_cache.universe_digest(self._universe)
            self._compiled[key] = plan_cache.clone_plans(self.conn, clone_id, version, self._universe,
                                                         self._universe_digest)
        return self._compiled[key]

    def _view(self, clone_id: int, version: int) -> _View:
        """The clone version's plans as each run reads them (looked up, not searched)."""
        key = (clone_id, version)
        if key not in self._views:
            compiled, blocks = self._plans(clone_id, version)
            self._views[key] = _View(blocks, next(b for b in blocks.values() if isinstance(b, TradingCloneBlock)),
                                     {(a.prompt_id, a.coin): a for a in compiled.asset_plans()})
        return self._views[key]

    def due(self, clone_ids: Iterable[int] | None = None, coin: str | None = None, force: bool = False) -> list[Due]:
        now = self.clock()
        wanted = None if clone_ids is None else set(clone_ids)
        active = [(c, v) for c, v in self.conn.execute(
            "SELECT clone_id, active_version FROM clones WHERE status = 'active' ORDER BY clone_id")
            if wanted is None or c in wanted]
        found, self.skipped, self._universe = [], {}, None
        for clone_id, version in active:
            try:
                compiled, blocks = self._plans(clone_id, version)
            except Exception as error:  # one clone's bad graph never stops the others
                self.skipped[clone_id] = f"clone {clone_id} version {version} skipped: {_one_line(error)}"
                log.error(self.skipped[clone_id])
                continue
            if not any(b.run_state == "running" for b in blocks.values() if isinstance(b, TradingCloneBlock)):
                continue
            for prompt in compiled.prompts:
                step = interval_ms(self.cadence or prompt.cadence)
                tick = now if force else now - now % step
                found += [Due(clone_id, version, prompt.prompt_id, asset.coin, tick, force)
                          for asset in prompt.assets if coin is None or asset.coin == coin]
        if force or not found:
            return found
        taken = {(c, p, a, t) for c, p, a, t in self.conn.execute(
            "SELECT clone_id, prompt_id, coin, tick_ms FROM decision_runs WHERE context_label = ? AND tick_ms >= ?",
            (self.context, min(d.tick_ms for d in found)))}
        return [d for d in found if (d.clone_id, d.prompt_id, d.coin, d.tick_ms) not in taken]

    # -- claiming ---------------------------------------------------------------------------------------------
    def claim(self, due: list[Due]) -> list[Claim]:
        """Insert a `running` row per due run; only the rows this worker inserted are its to decide (in the write
        transaction, they are the rows past the highest run id before it)."""
        if not due:
            return []
        stamp, by_key = self.clock(), {(d.clone_id, d.prompt_id, d.coin, d.tick_ms): d for d in due}
        with transaction(self.conn):
            (before,) = self.conn.execute("SELECT COALESCE(MAX(run_id), 0) FROM decision_runs").fetchone()
            self.conn.executemany(
                "INSERT INTO decision_runs (clone_id, version, prompt_id, coin, tick_ms, forced, context_label, "
                "status, engine, model, worker, claimed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(d.clone_id, d.version, d.prompt_id, d.coin, d.tick_ms, int(d.forced), self.context,
                  *self._prompt_engine(d), self.worker, stamp) for d in due])
            inserted = self.conn.execute("SELECT run_id, clone_id, prompt_id, coin, tick_ms FROM decision_runs "
                                         "WHERE run_id > ? ORDER BY run_id", (before,)).fetchall()
        return [Claim(run_id, by_key[c, p, a, t]) for run_id, c, p, a, t in inserted]

    def resume_stale(self) -> list[Claim]:
        """Take over runs whose lease ran out (no heartbeat for `lease_ms`: the worker died or hung); fail those
        out of attempts. `claimed_ms` is the lease's last renewal."""
        stamp = self.clock()
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE decision_runs SET status = 'failed', finished_ms = ?, error = 'abandoned: the worker stopped "
                "mid-run ' || attempts || ' times' WHERE status = 'running' AND claimed_ms < ? AND attempts >= ? "
                "AND context_label = ?", (stamp, stamp - self.lease_ms, MAX_ATTEMPTS, self.context))
            rows = self.conn.execute(
                "UPDATE decision_runs SET worker = ?, claimed_ms = ?, attempts = attempts + 1 WHERE status = 'running' "
                "AND claimed_ms < ? AND context_label = ? RETURNING run_id, clone_id, version, prompt_id, coin, "
                "tick_ms, forced, attempts", (self.worker, stamp, stamp - self.lease_ms, self.context)).fetchall()
        return [Claim(run_id, Due(c, v, p, a, t, bool(f)), n) for run_id, c, v, p, a, t, f, n in rows]

    def renew_leases(self, conn: sqlite3.Connection | None = None) -> int:
        """Heartbeat: renew the lease of every run this worker holds; the number renewed."""
        conn = conn or self.conn
        with transaction(conn):
            return conn.execute("UPDATE decision_runs SET claimed_ms = ? WHERE worker = ? AND status = 'running' "
                                "AND context_label = ?", (self.clock(), self.worker, self.context)).rowcount

    def _prompt_engine(self, d: Due) -> tuple[str, str | None]:
        prompt = self._view(d.clone_id, d.version).blocks[d.prompt_id]
        return prompt.engine, prompt.model

    def _pure(self, d: Due) -> bool:
        """Whether the run's engine is pure (decided first, claimed by its INSERT); a clone whose graph no longer
        loads is not (claimed, it then fails with its error)."""
        try:
            return bool(getattr(self._engine(self._prompt_engine(d)[0]), "pure", False))
        except Exception:
            return False

    # -- deciding ---------------------------------------------------------------------------------------------
    def _engine(self, name: str):
        if name not in self._engines:
            self._engines[name] = make_engine(name, **self.engine_settings.get(name, {}))
        return self._engines[name]

    def prepare(self, run_id: int, d: Due, attempt: int = 1, claimed: bool = True) -> Prepared | Outcome:
        """Everything the engine and the gates read from the database (this thread's connection): the packet,
        the account, the gates' inputs. A failed Outcome if any of it fails."""
        started = time.perf_counter()
        try:
            view = self._view(d.clone_id, d.version)
            prompt: TradingPromptBlock = view.blocks[d.prompt_id]
            clone_block, plan = view.clone, view.plans.get((d.prompt_id, d.coin))
            packet, context, newest = self._packet(plan, d.tick_ms) if plan else ({"channels": {}}, None, None)
            account = self._account_state(d, clone_block.account_size_usd)
            request = EngineRequest(d.clone_id, d.prompt_id, d.coin, prompt.model, prompt.prompt, packet,
                                    account["equity"], prompt.controls)
            reads = self._gate_reads(d)
            engine = self._engine(prompt.engine)
            budget = (self._spent_usd(d), self.bounds.model_budget_usd_per_day) \
                if getattr(engine, "needs_model", False) else None
            return Prepared(run_id, d, attempt, started, prompt, engine, plan is not None, request, account, reads,
                            budget, newest, claimed, packet if context is None else context)
        except Exception as error:  # a run always ends in a clear state
            log.exception("decision run %s failed", run_id)
            return Outcome(run_id, d, "failed", error=_one_line(error),
                           elapsed_ms=(time.perf_counter() - started) * 1000, attempt=attempt, claimed=claimed)

    def _propose(self, prepared: Prepared) -> Proposal | BaseException:
        """The engine's proposal (any thread: engines read no database); an error is returned, not raised."""
        if prepared.budget and prepared.budget[0] >= prepared.budget[1]:
            spent, budget = prepared.budget
            action = Action(action="hold", confidence=1.0, reason=f"model budget spent: {spent:.4f} of {budget:.2f} "
                            "USD today; the model was not asked")
            return Proposal(action, "ok", action.model_dump_json())
        try:
            return prepared.engine.propose(prepared.request)
        except Exception as error:
            return error

    def _spent_usd(self, d: Due) -> float:
        """The clone's model spend in this context on the tick's UTC day (read once per pass, then counted)."""
        day = d.tick_ms - d.tick_ms % DAY_MS
        if (d.clone_id, day) not in self._spent:
            self._spent[d.clone_id, day] = spent_micro(self.conn, self.prices, d.clone_id, self.context, day,
                                                       day + DAY_MS)
        return self._spent[d.clone_id, day] / 1e6

    def _price(self, prepared: Prepared, proposal: Proposal) -> None:
        """A model-backed proposal's cost, counted toward the clone's budget of the day."""
        if prepared.budget is None or (proposal.tokens_in is None and proposal.tokens_out is None):
            return
        d = prepared.due
        proposal.cost_micro = self.prices.cost_micro(prepared.prompt.model, proposal.tokens_in, proposal.tokens_out)
        key = (d.clone_id, d.tick_ms - d.tick_ms % DAY_MS)
        self._spent[key] = self._spent.get(key, 0) + proposal.cost_micro

    def conclude(self, prepared: Prepared, proposal: Proposal | BaseException) -> Outcome:
        """Gates, the fill and the payload of a proposal (this thread's connection)."""
        run_id, d, attempt, started = prepared.run_id, prepared.due, prepared.attempt, prepared.started
        try:
            if isinstance(proposal, BaseException):
                raise proposal
            self._price(prepared, proposal)
            prompt, account = prepared.prompt, prepared.account
            gate_input = self._gate_input(d, prompt, prepared.enabled, proposal, prepared.newest_ms, account,
                                          prepared.reads)
            if prepared.budget is not None:
                gate_input = dataclasses.replace(gate_input, model_spent_usd=prepared.budget[0],
                                                 model_budget_usd=prepared.budget[1])
            derived = derive(gate_input, self.bounds, lambda: self._snapshot(d.coin, d.tick_ms), self.fills)
            status, gates, snap, fill = str(derived.verdict), derived.gates, derived.snapshot, derived.fill
            # The context, and the prompt's parts (`prompting.assemble` rebuilds the exact messages from them);
            # the gate input, the fill's snapshot and config too, so `clash replay` needs nothing else.
            payload = {"context": prepared.context, "strategy_prompt": prompt.prompt, "equity_usd": account["equity"],
                       "response": proposal.raw_reply,
                       "reason": proposal.action.reason if proposal.action else proposal.error,
                       "engine": prompt.engine, "gate_input": gate_input_to_dict(gate_input),
                       "cost_usd": None if proposal.cost_micro is None else proposal.cost_micro / 1e6,
                       "bounds": self._bounds, "fill_config": self._fill_config,
                       "snapshot": snap.data if snap else None, "fill": fill.as_dict() if fill else None}
            return Outcome(run_id, d, status, proposal, gates, fill, snap, payload=payload,
                           elapsed_ms=(time.perf_counter() - started) * 1000, attempt=attempt,
                           claimed=prepared.claimed)
        except Exception as error:  # a run always ends in a clear state
            log.error("decision run %s failed: %s", run_id, _one_line(error), exc_info=error)
            return Outcome(run_id, d, "failed", error=_one_line(error),
                           elapsed_ms=(time.perf_counter() - started) * 1000, attempt=attempt,
                           claimed=prepared.claimed)

    def _packet(self, plan: AssetPlan, tick_ms: int) -> tuple[dict, orjson.Fragment | None, int | None]:
        """The packet of a plan as of a tick, its JSON (None where a shared packet is the plan's with another
        prompt id) and the stamp of its newest market data; clones whose plans read the same (the same presets)
        share one read of the market memory (an LRU of PACKET_CACHE entries: memory stays bounded)."""
        key = (plan.coin, plan.symbol, plan.reads, tick_ms)
        cached = self._packets.get(key)
        if cached is None:
            packet, body = encoded_packet(self.conn, plan, tick_ms, reader=self.reader)
            self._packets[key] = cached = packet, orjson.Fragment(body), _newest_market_stamp(packet)
            if len(self._packets) > PACKET_CACHE:
                self._packets.popitem(last=False)
        else:
            self._packets.move_to_end(key)
        packet, body, newest = cached  # shared read-only by every run of the pass that reads it (archived once)
        if packet["prompt_id"] == plan.prompt_id:
            return packet, body, newest
        return {**packet, "prompt_id": plan.prompt_id}, None, newest

    def _snapshot(self, coin: str, tick_ms: int) -> Snapshot | None:
        """The book an order of this pass fills against, read once per asset and tick (orders of many clones in one
        asset fill against the same snapshot, as they read the same packet)."""
        if ("snapshot", coin, tick_ms) not in self._pass_reads:
            self._pass_reads["snapshot", coin, tick_ms] = snapshot(self.conn, coin, tick_ms, self.reader)
        return self._pass_reads["snapshot", coin, tick_ms]

    def _account_state(self, d: Due, starting_usd: float) -> dict:
        """Equity, the position in this asset and the drawdown of the clone's account in this context."""
        cache = self._clone_reads.setdefault(d.clone_id, {})
        if ("account", d.tick_ms) not in cache:  # one read of the account and its positions per clone and pass
            row = self.conn.execute(
                "SELECT a.account_id, a.stopped, a.starting_micro, e.equity_micro, e.drawdown_pct FROM paper_accounts "
                "a LEFT JOIN equity_curve e ON e.account_id = a.account_id AND e.ts_ms = (SELECT MAX(ts_ms) FROM "
                "equity_curve WHERE account_id = a.account_id AND ts_ms <= ?) WHERE a.clone_id = ? AND "
                "a.context_label = ?", (d.tick_ms, d.clone_id, self.context)).fetchone()
            cache["account", d.tick_ms] = (row, self.broker.positions(row[0]) if row else {})
        row, positions = cache["account", d.tick_ms]
        if row is None:
            return {"equity": starting_usd, "position": Decimal(0), "drawdown": 0.0}
        account_id, stopped, starting, equity, drawdown = row
        position = positions.get(d.coin)
        return {"equity": float((equity if equity is not None else starting) / 1e6),
                "position": position.size if position else Decimal(0),
                "drawdown": 100.0 if stopped else float(drawdown or 0.0)}

    def _gate_reads(self, d: Due) -> tuple:
        """What the gates read from the database besides the proposal: the mid, the clone's orders in the last
        hour (count, last), an engaged kill switch. Read once per pass (the mid per asset and tick, the orders per
        clone, the switches once): a clone's reads are read again after one of its orders is recorded."""
        mid = self.broker.last_price(d.coin, d.tick_ms)  # read once per asset and time: the mark reads it too
        switches = self._pass_reads.get("switches")
        if switches is None:
            switches = self._pass_reads["switches"] = dict(self.conn.execute(
                "SELECT scope, scope || ': ' || COALESCE(reason, '') FROM kill_switches WHERE engaged = 1"))
        cache = self._clone_reads.setdefault(d.clone_id, {})
        if ("orders", d.tick_ms) not in cache:
            cache["orders", d.tick_ms] = self.conn.execute(
                "SELECT COUNT(*), MAX(o.created_ms) FROM orders o JOIN decision_runs r USING (run_id) WHERE "
                "o.clone_id = ? AND r.context_label = ? AND o.created_ms > ? AND o.created_ms <= ?",
                (d.clone_id, self.context, d.tick_ms - HOUR_MS, d.tick_ms)).fetchone()
        orders = cache["orders", d.tick_ms]
        # the clone's own switch first, then the global one (each says which it is)
        switch = (switches.get(f"clone:{d.clone_id}") or switches.get("global")) if switches else None
        return (None if mid is None else float(mid), orders[0], orders[1], switch)

    def _gate_input(self, d: Due, prompt: TradingPromptBlock, enabled: bool, proposal: Proposal, newest_ms: int | None,
                    account: dict, reads: tuple) -> GateInput:
        if not self._rules:
            self._rules = load_asset_rules(self.conn)
        mid, orders_last_hour, last_order_ms, switch = reads
        return GateInput(
            action=proposal.action, reply_status=proposal.reply_status, reply_error=proposal.error, coin=d.coin,
            enabled=enabled, controls=prompt.controls,
            rules=self._rules.get(d.coin), mid=mid, as_of_ms=d.tick_ms,
            newest_context_ms=newest_ms, cadence_ms=interval_ms(self.cadence or prompt.cadence),
            equity_usd=account["equity"], position_size=account["position"], orders_last_hour=orders_last_hour,
            last_order_ms=last_order_ms, kill_switch=switch, drawdown_pct=account["drawdown"],
        )

    # -- recording --------------------------------------------------------------------------------------------
    def record(self, outcomes: list[Outcome]) -> list[int]:
        """Payloads to the outbox (one object per batch), then every row of the batch in one transaction; if that
        fails, each run on its own (the one that fails ends `failed` with its error). Returns the runs not
        recorded because this worker no longer holds them."""
        return self._land(self._stage(outcomes))

    def _stage(self, outcomes: list[Outcome]) -> _Staged:
        """A batch's payloads serialized (this thread), their archive object prepared on the compressor thread
        (compressed, hashed, written durably to the outbox folder) while this thread goes on; `_land` records it."""
        objects = [(run_ids, _COMPRESSOR.submit(self._write_object, name, body))
                   for name, run_ids, body in self._serialize(outcomes)]
        return _Staged(outcomes, objects, {o.due.clone_id for o in outcomes if o.status == "ordered"})

    def _write_object(self, name: str, body: bytes) -> ArchiveRef:
        """Compress, hash and durably write one payload object (any thread: no database)."""
        return self.outbox.write(*Archive.prepare("decision-payloads", [name], body))

    def _land(self, staged: _Staged) -> list[int]:
        """Record a staged batch once its object is written: the object's outbox row and every run's rows in one
        transaction; if that fails, each run on its own. The runs another worker holds now (not recorded)."""
        refs = {}
        for run_ids, future in staged.objects:
            refs.update(dict.fromkeys(run_ids, future.result()))
        outcomes, stamp = staged.outcomes, self.clock()
        if not outcomes:
            return []
        try:
            with transaction(self.conn):
                for ref in {ref.key: ref for ref in refs.values()}.values():
                    self.outbox.record(ref)
                return self._write(outcomes, refs, stamp)
        except Exception:
            log.exception("recording a batch of %d runs failed; recording each run on its own", len(outcomes))
        lost = []
        for o in outcomes:
            try:
                with transaction(self.conn):
                    if o.run_id in refs:
                        self.outbox.record(refs[o.run_id])
                    lost += self._write([o], refs, stamp)
            except sqlite3.OperationalError:  # the database, not the run: leave it for the lease to retry
                log.exception("decision run %s not recorded; it stays running", o.run_id)
            except Exception as error:
                log.exception("recording decision run %s failed", o.run_id)
                failed = Outcome(o.run_id, o.due, "failed", error=f"recording failed: {_one_line(error)}",
                                 elapsed_ms=o.elapsed_ms, attempt=o.attempt, claimed=o.claimed)
                with transaction(self.conn):
                    lost += self._write([failed], {}, stamp)
                o.status, o.error, o.gates, o.fill = "failed", failed.error, None, None
        return lost

    def _serialize(self, outcomes: list[Outcome]) -> list[tuple[str, list[int], bytes]]:
        """The archive objects of a batch's payloads, as (name, runs, body): one per batch (per run if the batch
        will not serialize; a payload that will not serialize is dropped and its run fails). Deferred
        (`defer_payloads`, backtests): kept serialized until `flush_payloads`, which archives them as one."""
        with_payload = [o for o in outcomes if o.payload]
        if not with_payload:
            return []
        if self.defer_payloads:
            for o in with_payload:
                try:
                    self._deferred[o.run_id] = orjson.dumps(o.payload, default=str)
                except (TypeError, ValueError, orjson.JSONEncodeError) as error:
                    o.status, o.error, o.gates, o.fill = "failed", f"payload not archivable: {_one_line(error)}", \
                        None, None
            return []
        name = f"batch={outcomes[0].run_id}-{outcomes[-1].run_id}"
        try:
            return [(name, [o.run_id for o in with_payload], payloads.pack({o.run_id: o.payload for o in with_payload}))]
        except (TypeError, ValueError, orjson.JSONEncodeError):
            log.exception("the payloads of %s do not serialize; archiving each run on its own", name)
        objects = []
        for o in with_payload:
            try:
                objects.append((f"batch={o.run_id}-{o.run_id}", [o.run_id], payloads.pack({o.run_id: o.payload})))
            except (TypeError, ValueError, orjson.JSONEncodeError) as error:
                o.status, o.error, o.gates, o.fill = "failed", f"payload not archivable: {_one_line(error)}", None, None
        return objects

    def flush_payloads(self, wait: bool = False) -> int:
        """Archive the deferred payloads as one object, compressed on a thread while the next ticks run: their
        runs point at it from the next flush on (at once with `wait`). The number of runs pointed at it now."""
        count = self._point_payloads()
        if self._deferred:
            ids, body = sorted(self._deferred), payloads.join(self._deferred)
            self._deferred.clear()
            self._compressing = ids, _COMPRESSOR.submit(self._write_object, f"batch={ids[0]}-{ids[-1]}", body)
        return count + (self._point_payloads() if wait else 0)

    def _point_payloads(self) -> int:
        """Record the last flush's object (written by now) in the outbox and point its runs at it."""
        if self._compressing is None:
            return 0
        ids, future = self._compressing
        self._compressing = None
        ref = future.result()
        with transaction(self.conn):
            self.outbox.record(ref)
            self.conn.execute("UPDATE decision_runs SET payload_key = ?, payload_sha256 = ? WHERE run_id IN (SELECT "
                              "value FROM json_each(?))", (ref.key, ref.sha256, orjson.dumps(ids)))
        return len(ids)

    def _write(self, outcomes: list[Outcome], refs: dict[int, object], stamp: int) -> list[int]:
        """Write runs (the caller's transaction), each only if this worker holds it: a claimed run while its claim
        still holds (this worker and attempt, still running), a pure one if its INSERT is its key's first (another
        worker may have decided and recorded it first). The runs' final state, actions and gate verdicts in one
        statement each for the batch, then its orders. Returns the runs another worker holds (nothing written)."""
        claimed, new = [o for o in outcomes if o.claimed], [o for o in outcomes if not o.claimed]
        holding = dict(self.conn.execute(
            f"SELECT run_id, attempts FROM decision_runs WHERE run_id IN ({','.join('?' * len(claimed))}) AND "
            "status = 'running' AND worker = ?", [*(o.run_id for o in claimed), self.worker]).fetchall()) \
            if claimed else {}
        held = {o.run_id for o in claimed if holding.get(o.run_id) == o.attempt}
        for o in claimed:
            if o.run_id not in held:
                log.warning("decision run %s was taken over by another worker: not recorded by %s", o.run_id,
                            self.worker)
        if new:  # the INSERT is the claim: a key another worker recorded first keeps its row
            inserted = insert_new(
                self.conn, "INSERT INTO decision_runs (run_id, clone_id, version, prompt_id, coin, tick_ms, forced, "
                "context_label, engine, model, worker, claimed_ms, status, finished_ms, reply_status, error, "
                "payload_key, payload_sha256, latency_ms, tokens_in, tokens_out) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(o.run_id, o.due.clone_id, o.due.version, o.due.prompt_id, o.due.coin, o.due.tick_ms,
                  int(o.due.forced), self.context, *self._prompt_engine(o.due), self.worker, stamp,
                  *_final(o, refs.get(o.run_id), stamp)) for o in new],
                [o.run_id for o in new], "decision_runs", "run_id")  # reserved ids: a row with one is this worker's
            held |= inserted
            for o in new:
                if o.run_id not in inserted:
                    log.info("decision run of clone %s, %s at %s was recorded first by another worker",
                             o.due.clone_id, o.due.coin, o.due.tick_ms)
        mine = [o for o in outcomes if o.run_id in held]
        lost = [o.run_id for o in outcomes if o.run_id not in held]
        finished, actions, verdicts = [], [], []
        for o in mine:
            p = None if o.status == "failed" else o.proposal
            if o.claimed:
                finished.append((*_final(o, refs.get(o.run_id), stamp), o.run_id))
            if p and p.action:
                a = p.action
                actions.append((o.run_id, a.action, a.size_usd, a.size_fraction, a.leverage, a.order_type,
                                a.limit_price, a.take_profit, a.stop_loss, a.confidence, a.reason[:200]))
            if o.gates and o.status != "failed":
                verdicts += [(o.run_id, gate, int(passed), detail) for gate, passed, detail in o.gates.verdicts]
        if finished:
            self.conn.executemany(
                "UPDATE decision_runs SET status = ?, finished_ms = ?, reply_status = ?, error = ?, payload_key = ?, "
                "payload_sha256 = ?, latency_ms = ?, tokens_in = ?, tokens_out = ? WHERE run_id = ?", finished)
        self.conn.executemany("INSERT INTO decision_actions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              actions)
        self.conn.executemany("INSERT INTO decision_gates VALUES (?, ?, ?, ?)", verdicts)
        self._write_orders([o for o in mine if o.status != "failed"], stamp)
        return lost

    def _write_orders(self, outcomes: list[Outcome], stamp: int) -> None:
        """Decided runs' accounts (each opened on its first decision), and the orders, fills and events of those
        that traded, in one statement per table for the batch."""
        placed, bookings, rejected = [], [], []
        for o in outcomes:
            p, d = o.proposal, o.due
            account_id = self.broker.account(d.clone_id, self.context, d.tick_ms,
                                             self._view(d.clone_id, d.version).clone.account_size_usd)
            if o.status == "ordered":
                self._clone_reads.pop(d.clone_id, None)  # its account, positions and recent orders change
                order, fill = o.gates.order, o.fill
                new = NewOrder(o.run_id, d.clone_id, d.coin, Side(order.side), order.size,
                               OrderType(order.order_type),
                               client_order_id(d.clone_id, d.prompt_id, d.coin, d.tick_ms, self.context), order.price,
                               order.reduce_only, order.take_profit, order.stop_loss, order.margin_mode == "isolated")
                if fill is None:  # no book to fill against: the order stays open
                    placed.append((new, []))
                    continue
                price = "" if fill.price is None else f" @ {shown_price(fill.price)}"
                placed.append((new, lifecycle.fill_events(FillStatus(fill.status), f"{fill.size}{price} "
                                                          f"({fill.source}); " + "; ".join(fill.notes), fill.unfilled)))
                if fill.status in (FillStatus.FILLED, FillStatus.PARTIAL):
                    leverage = p.action.leverage
                    bookings.append((len(placed) - 1, Booking(
                        account_id, "order", d.coin, order.side, fill, o.snapshot, d.tick_ms, None,
                        None if leverage is None else dec(leverage), order.stop_loss, order.take_profit)))
            elif o.status == "rejected" and p and p.action and p.action.trades:
                rejected.append((o.run_id, "; ".join(f"{g}: {why}" for g, ok, why in o.gates.verdicts if not ok)))
        order_ids = lifecycle.place_many(self.conn, placed, stamp) if placed else []
        for i, booking in bookings:
            booking.order_id = order_ids[i]  # the order it fills, known once the orders are written
        self.broker.book_fills([booking for _, booking in bookings])
        if rejected:
            lifecycle.reject_runs(self.conn, rejected, stamp)

    # -- a pass -----------------------------------------------------------------------------------------------
    def run(self, due: list[Due], on_batch: Callable[[list[Outcome]], None] | None = None) -> TickReport:
        """Claim what is due, then stream it: this thread prepares each run (database reads) and concludes it
        (gates, fill); proposals of `concurrent` engines (model calls) run on a pool of threads, bounded per
        model by the engine; every BATCH outcomes are recorded in one transaction, here, and their payloads
        dropped (memory stays flat in the size of the tick)."""
        _freeze_heap_once()
        report = TickReport(due=len(due), skipped=dict(self.skipped))
        if not (self._rules and self.stored_history):  # the exchange's rules: once per pass, or once over history
            self._rules = load_asset_rules(self.conn)
        self._universe = None
        self._packets.clear()  # packets are shared within a pass only
        self._spent.clear()  # model spend is read again each pass
        self._pass_reads.clear()  # kill switches, fill snapshots
        self._clone_reads.clear()  # accounts, positions, recent orders: per clone, dropped when it orders
        # without a heartbeat no other worker holds this context's runs: only the first pass can find stale ones
        resumed = self.resume_stale() if self.heartbeat or not self._passes else []
        self._passes += 1
        pure = [self._pure(d) for d in due]
        claims = {c.due: c for c in self.claim([d for d, p in zip(due, pure) if not p])}
        reserved = iter(reserve_ids(self.conn, "decision_runs", "run_id", sum(pure)) if any(pure) else ())
        report.claimed, report.resumed = len(claims), len(resumed)  # pure runs count once recorded
        work = resumed + [Claim(next(reserved), d, claimed=False) if p else claims[d]
                          for d, p in zip(due, pure) if p or d in claims]
        done: list[Outcome] = []

        staged: list[_Staged] = []  # a batch whose archive object is prepared while the next batch is decided

        def land() -> None:
            while staged:
                batch = staged.pop(0)
                lost = set(self._land(batch))
                report.lost += sorted(lost)
                kept = [o for o in batch.outcomes if o.run_id not in lost]
                for o in kept:
                    o.payload, o.snapshot = {}, None  # archived and recorded: nothing keeps them
                    report.cost_micro += (o.proposal.cost_micro or 0) if o.proposal else 0
                report.outcomes += kept
                report.claimed += sum(not o.claimed for o in kept)
                if on_batch:
                    on_batch(kept)

        def flush(final: bool = False) -> None:
            while len(done) >= BATCH or (final and done):
                batch = self._stage(done[:BATCH])
                del done[:BATCH]
                land()
                staged.append(batch)
            if final:
                land()

        held = bool(claims or resumed)  # only claimed runs call models (pure ones are decided in this thread)
        with self._heartbeat(held), ThreadPoolExecutor(self.max_workers, "decision-engine") if held else \
                nullcontext() as pool:
            pending: dict[Future, Prepared] = {}

            def settle(block: bool) -> None:
                if not pending:
                    return
                finished, _ = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
                for future in finished:
                    done.append(self.conclude(pending.pop(future), future.result()))

            for claim in work:
                if staged and claim.due.clone_id in staged[0].ordered:
                    land()  # the clone's account and orders change with the batch: its next run reads them after
                prepared = self.prepare(claim.run_id, claim.due, claim.attempt, claim.claimed)
                if isinstance(prepared, Outcome):
                    done.append(prepared)
                elif getattr(prepared.engine, "concurrent", False):
                    pending[pool.submit(self._propose, prepared)] = prepared
                else:
                    done.append(self.conclude(prepared, self._propose(prepared)))
                settle(block=len(pending) >= 2 * self.max_workers)
                flush()
            while pending:
                settle(block=True)
                flush()
            flush(final=True)
        report.max_in_flight = max((g.max_in_flight_seen for e in self._engines.values()
                                    for g in getattr(e, "gates", {}).values()), default=0)
        return report

    @contextmanager
    def _heartbeat(self, needed: bool) -> Iterator[None]:
        """Renew this worker's leases every `heartbeat_s` on a thread of its own (own connection) while the
        block runs: a slow model call never lets the lease run out."""
        path = self.conn.execute("PRAGMA database_list").fetchone()[2] if needed and self.heartbeat else None
        if not path:
            yield
            return
        stop = threading.Event()

        def beat() -> None:
            conn = None
            while not stop.wait(self.heartbeat_s):
                try:
                    conn = conn or connect(path)
                    self.renew_leases(conn)
                except Exception:  # a busy database, say: the next beat tries again
                    log.warning("lease heartbeat of %s failed", self.worker, exc_info=True)
            if conn is not None:
                conn.close()

        thread = threading.Thread(target=beat, name=f"lease-heartbeat-{self.worker}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def tick(self, clone_ids: Iterable[int] | None = None, coin: str | None = None, force: bool = False) -> TickReport:
        return self.run(self.due(clone_ids, coin, force))


_HEAP_FROZEN = threading.Event()


def _freeze_heap_once() -> None:
    """Before a process's first pass, take what is alive then (modules, Dagster's definitions, the universe) out
    of the garbage collector's generations (`gc.freeze`): a pass's collections then scan only what passes make,
    not a heap of hundreds of MB (they were a third of a pass, and its jitter)."""
    if not _HEAP_FROZEN.is_set():
        _HEAP_FROZEN.set()
        gc.collect()  # what is garbage already goes first: a frozen object is never collected
        gc.freeze()


_COMPRESSOR = ThreadPoolExecutor(1, "payload-compressor")  # zlib lets go of the GIL: it runs beside the ticks


def _new_compressor() -> None:
    """A forked child gets a compressor of its own (the parent's thread does not exist in it)."""
    global _COMPRESSOR
    _COMPRESSOR = ThreadPoolExecutor(1, "payload-compressor")


os.register_at_fork(after_in_child=_new_compressor)


def load_asset_rules(conn: sqlite3.Connection) -> dict[str, AssetRules]:
    """Every asset's exchange rules (lot, leverage, isolated-only, margin tiers), in two reads."""
    tiers: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for dex, table_id, low, leverage in conn.execute(
            "SELECT dex, margin_table_id, lower_bound_usd, max_leverage FROM hl_margin_tiers ORDER BY lower_bound_usd"):
        tiers.setdefault((dex, table_id), []).append((low, leverage))
    return {coin: AssetRules(kind, sz, lev, bool(isolated), tuple(tiers.get((dex, table), ())))
            for coin, kind, sz, lev, isolated, dex, table in conn.execute(
                "SELECT coin, kind, sz_decimals, max_leverage, only_isolated, dex, margin_table_id FROM hl_assets")}


def _final(o: Outcome, ref: ArchiveRef | None, stamp: int) -> tuple:
    """A run's final state as its row holds it: status, finished, reply status, error, payload key and hash,
    latency and tokens."""
    p = None if o.status == "failed" else o.proposal
    return (o.status, stamp, p.reply_status if p else None, o.error or (p.error if p else None),
            ref.key if ref else None, ref.sha256 if ref else None, p.latency_ms if p else None,
            p.tokens_in if p else None, p.tokens_out if p else None)


def _one_line(error: BaseException) -> str:
    """An error as one line: its type and the start of its message."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:500]}"




def _newest_market_stamp(packet: dict) -> int | None:
    """The newest Hyperliquid data in the packet (what freshness is about)."""
    stamps = [row[0] for name, channel in packet.get("channels", {}).items() if name.startswith("hyperliquid.")
              for read in channel["reads"].values() for row in read["rows"][-1:]]
    return max(stamps, default=None)


