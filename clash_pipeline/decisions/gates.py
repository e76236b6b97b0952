"""Safety gates: each named, configurable per prompt block within global bounds, and each verdict stored.

Every gate is evaluated and every failure is listed. A gate rounds to the exchange's rules only where that is
safe, and says so: sizes round down to the lot; a limit buy rounds its price down and a sell up; stops and
targets round toward the entry (tighter).

The exchange's own rules bind too: a spot pair is long-only at leverage 1; an isolated-only asset trades isolated
(the order says so); the leverage cap is the asset's margin tier for the position's notional after the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter

from clash_pipeline.decisions.action import HOLD, Action
from clash_pipeline.market.exchange_rules import (
    MIN_ORDER_VALUE,
    bound,
    dec,
    min_order_value_ok,
    round_price,
    round_size,
    valid_price,
)
from clash_pipeline.paper.broker import DRAWDOWN_STOP_PCT
from clash_pipeline.strategy.graph import ExecutionControls


@dataclass(frozen=True)
class GlobalBounds:
    """Bounds no prompt block can exceed (a block's own controls may only be tighter)."""

    max_leverage: float = 20.0
    max_position_notional_usd: float = 100_000.0
    max_orders_per_hour: int = 60
    limit_band_pct: float = 5.0
    freshness_cadences: float = 2.0
    drawdown_stop_pct: float = float(DRAWDOWN_STOP_PCT)  # the broker's stop on marks too
    execution_mode: str = "dry_run"  # dry_run | exchange (only the live runtime sets it: clash_pipeline.live)
    model_budget_usd_per_day: float = 5.0  # per clone, context and UTC day of the tick (decisions/costs.py)


@dataclass(frozen=True)
class AssetRules:
    kind: str                       # perp | spot
    sz_decimals: int
    max_leverage: int | None        # the exchange's, at the asset's lowest margin tier
    only_isolated: bool = False     # `onlyIsolated`, or marginMode strictIsolated / noCross
    margin_tiers: tuple[tuple[float, int], ...] = ()  # (lower bound USD, max leverage), ascending

    def leverage_cap(self, notional: Decimal) -> tuple[int | None, str]:
        """The exchange's leverage cap for a position of `notional` USD, and where it comes from."""
        if self.kind == "spot":
            return 1, "spot 1"
        tier = next(((low, lev) for low, lev in reversed(self.margin_tiers) if notional >= bound(low)), None)
        if tier is None:
            return self.max_leverage, f"exchange {self.max_leverage}"
        cap = min(tier[1], self.max_leverage) if self.max_leverage else tier[1]
        return cap, f"exchange {cap} (margin tier from {tier[0]:,.0f} USD)"


# Every gate, in the order a run meets them: `run_gates`, then the live adapter's at send (`live/execute.py`). A
# run's verdicts are shown in this order (a test checks both modules against it).
GATE_ORDER = ("model_budget", "schema_valid", "asset_enabled", "dry_run_only", "context_fresh", "order_type_allowed",
              "price_available", "position_exists", "limit_price_band", "notional_limits", "leverage_limits",
              "spot_long_only", "margin_mode", "lot_and_tick", "rate_limits", "kill_switch", "drawdown_stop",
              "live_agent", "live_order_notional", "live_day_notional", "live_account", "live_wire",
              "kill_switch_at_send")
_GATE_POSITION = {gate: i for i, gate in enumerate(GATE_ORDER)}


def in_evaluation_order(verdicts: list[tuple]) -> list[tuple]:
    """Verdict rows (gate first) in the order the gates are evaluated; a gate not in GATE_ORDER goes last."""
    return sorted(verdicts, key=lambda row: (_GATE_POSITION.get(row[0], len(GATE_ORDER)), row[0]))


@dataclass(slots=True)  # a value: never changed once made (not frozen: a frozen init costs 4x, once per run)
class GateInput:
    action: Action | None
    reply_status: str
    reply_error: str | None
    coin: str
    enabled: bool
    controls: ExecutionControls
    rules: AssetRules | None
    mid: float | None
    as_of_ms: int
    newest_context_ms: int | None
    cadence_ms: int
    equity_usd: float
    position_size: Decimal          # signed base units, 0 when flat
    orders_last_hour: int
    last_order_ms: int | None
    kill_switch: str | None         # the engaged switch's scope and reason, if any
    drawdown_pct: float
    model_spent_usd: float = 0.0    # the clone's model calls today, before this one
    model_budget_usd: float | None = None  # None: the engine calls no model


@dataclass(frozen=True)
class OrderDraft:
    side: str
    size: Decimal
    price: Decimal | None
    order_type: str
    reduce_only: bool
    take_profit: Decimal | None
    stop_loss: Decimal | None
    margin_mode: str = "cross"      # cross | isolated (isolated-only assets)


@dataclass
class GateReport:
    verdicts: list[tuple[str, bool, str]] = field(default_factory=list)
    order: OrderDraft | None = None
    failed: int = 0  # verdicts that failed, counted as `check` records them

    @property
    def passed(self) -> bool:
        return all(passed for _, passed, _ in self.verdicts)

    def check(self, gate: str, passed: bool, detail: str) -> None:
        self.verdicts.append((gate, passed, detail))
        self.failed += not passed


def run_gates(gi: GateInput, bounds: GlobalBounds = GlobalBounds()) -> GateReport:
    report = GateReport()
    if gi.model_budget_usd is not None:  # spent: the model was not asked and the clone holds (derive)
        report.check("model_budget", gi.model_spent_usd < gi.model_budget_usd,
                     f"model calls today {gi.model_spent_usd:.4f} of {gi.model_budget_usd:.2f} USD")
    ok = gi.action is not None and gi.reply_status == "ok"
    report.check("schema_valid", ok, "the reply is a valid action" if ok else
                 f"reply {gi.reply_status}: {gi.reply_error or 'no action'}")
    if not ok or not gi.action.trades:
        return report
    action, controls = gi.action, gi.controls
    report.check("asset_enabled", gi.enabled, f"{gi.coin} is enabled for this strategy" if gi.enabled else
                 f"{gi.coin} is not among the strategy's enabled assets")
    report.check("dry_run_only", bounds.execution_mode in ("dry_run", "exchange"),
                 "dry-run execution" if bounds.execution_mode == "dry_run" else
                 "live execution (live-exchange): the live gates run again right before sending"
                 if bounds.execution_mode == "exchange" else
                 f"execution mode {bounds.execution_mode!r} refused: only dry_run and exchange are allowed")
    limit_age = bounds.freshness_cadences * gi.cadence_ms
    age = None if gi.newest_context_ms is None else gi.as_of_ms - gi.newest_context_ms
    report.check("context_fresh", age is not None and age <= limit_age,
                 f"newest market data {age / 1000:.0f} s old (limit {limit_age / 1000:.0f} s)" if age is not None
                 else "the context holds no market data")
    report.check("order_type_allowed", action.order_type in controls.order_types,
                 f"{action.order_type} orders {'allowed' if action.order_type in controls.order_types else 'not allowed'}"
                 f" (allowed: {', '.join(controls.order_types)})")
    if gi.mid is None or gi.rules is None:
        report.check("price_available", False, "no mid price or exchange rules for the asset")
        return report
    mid = dec(gi.mid)
    closing = action.action in ("reduce", "close")
    if closing:
        report.check("position_exists", gi.position_size != 0,
                     f"position {gi.position_size}" if gi.position_size else "no open position to reduce or close")
    side = action.side or ("sell" if gi.position_size > 0 else "buy")
    price = None
    if action.order_type == "limit":
        if action.limit_price is None:
            report.check("limit_price_band", False, "a limit order needs limit_price")
        else:
            band = bounds.limit_band_pct
            distance = abs(dec(action.limit_price) - mid) / mid * 100
            report.check("limit_price_band", distance <= band,
                         f"limit {action.limit_price} is {distance:.2f}% from mid {mid} (band {band}%)")
            price = dec(action.limit_price)
    reference = price or mid
    if closing:
        size = abs(gi.position_size) if action.action == "close" else abs(gi.position_size) / 2
        notional = size * reference
    else:
        notional = dec(action.size_usd) if action.size_usd else (
            dec(action.size_fraction) * dec(gi.equity_usd) if action.size_fraction else Decimal(0))
        size = notional / reference
        low, high = bound(controls.min_order_usd), bound(controls.max_order_usd)
        max_position = bound(min(controls.max_position_notional_usd, bounds.max_position_notional_usd))
        position_after = abs(gi.position_size * reference + (notional if side == "buy" else -notional))
        report.check("notional_limits", low <= notional <= high and position_after <= max_position,
                     f"order {notional:.2f} USD (limits {low}..{high}), position after {position_after:.2f} USD "
                     f"(limit {max_position})")
        leverage = action.leverage or 1.0
        exchange_cap, exchange = gi.rules.leverage_cap(position_after)
        caps = [controls.max_leverage, bounds.max_leverage] + ([exchange_cap] if exchange_cap else [])
        report.check("leverage_limits", leverage <= min(caps),
                     f"leverage {leverage} (limit {min(caps)}: block {controls.max_leverage}, global "
                     f"{bounds.max_leverage}, {exchange})")
        if gi.rules.kind == "spot":
            report.check("spot_long_only", side == "buy", f"spot {gi.coin}: buying is allowed" if side == "buy"
                         else f"spot {gi.coin} is long-only: {action.action} refused (no shorting spot)")
    if gi.rules.only_isolated:
        report.check("margin_mode", True, f"{gi.coin} trades isolated margin only: the order is isolated")
    rounded = round_size(size, gi.rules.sz_decimals)
    notes = [f"size {size:.8f} rounded down to the lot: {rounded}"] if rounded != size else [f"size {rounded}"]
    if price is not None and not valid_price(price, gi.rules.kind, gi.rules.sz_decimals):
        safe = round_price(price, gi.rules.kind, gi.rules.sz_decimals, up=side == "sell")
        notes.append(f"limit {price} rounded {'up' if side == 'sell' else 'down'} to the tick: {safe} (safe side)")
        price = safe
    value_ok = rounded > 0 and min_order_value_ok(rounded, price or mid)
    report.check("lot_and_tick", value_ok, "; ".join(notes) + ("" if value_ok else
                 f"; order value {rounded * (price or mid):.2f} below the minimum {MIN_ORDER_VALUE}"))
    hour_cap = min(controls.max_orders_per_hour, bounds.max_orders_per_hour)
    since = None if gi.last_order_ms is None else (gi.as_of_ms - gi.last_order_ms) / 1000
    cooled = since is None or since >= controls.cooldown_s
    report.check("rate_limits", gi.orders_last_hour < hour_cap and cooled,
                 f"{gi.orders_last_hour} orders in the last hour (limit {hour_cap}); "
                 + ("no earlier order" if since is None else f"{since:.0f} s since the last (cooldown {controls.cooldown_s} s)"))
    report.check("kill_switch", gi.kill_switch is None, "no kill switch engaged" if gi.kill_switch is None
                 else f"kill switch engaged: {gi.kill_switch}")
    if not closing:
        report.check("drawdown_stop", gi.drawdown_pct < bounds.drawdown_stop_pct,
                     f"drawdown {gi.drawdown_pct:.2f}% (stop at {bounds.drawdown_stop_pct}%)")
    if not report.failed:  # every verdict came through `check`
        # Targets and stops round toward the entry: a long's target down and stop up, a short's the reverse.
        report.order = OrderDraft(side, rounded, price, action.order_type, closing,
                                  _bracket(action.take_profit, gi.rules, up=side == "sell"),
                                  _bracket(action.stop_loss, gi.rules, up=side == "buy"),
                                  "isolated" if gi.rules.only_isolated else "cross")
    return report


def _bracket(value: float | None, rules: AssetRules, up: bool) -> Decimal | None:
    return None if value is None else round_price(dec(value), rules.kind, rules.sz_decimals, up=up)


_CONTROLS: dict[int, tuple[ExecutionControls, dict]] = {}  # by identity, the object held: its id stays its own


def _controls_json(controls: ExecutionControls) -> dict:
    """A prompt block's controls as JSON-able data, dumped once per controls object (the compiled plans share
    one per block; the dict is shared read-only by every payload that holds it)."""
    found = _CONTROLS.get(id(controls))
    if found is None:
        if len(_CONTROLS) >= 4096:
            _CONTROLS.clear()
        found = _CONTROLS[id(controls)] = controls, controls.model_dump(mode="json")
    return found[1]


@lru_cache(maxsize=4096)
def _rules_json(rules: AssetRules) -> dict:
    """An asset's exchange rules as JSON-able data, once per rules (shared read-only, as `_controls_json`)."""
    return {**vars(rules), "margin_tiers": [list(t) for t in rules.margin_tiers]}


_GATE_INPUT_FIELDS = tuple(f.name for f in fields(GateInput))
_gate_input_values = attrgetter(*_GATE_INPUT_FIELDS)
_HOLD_JSON = HOLD.model_dump(mode="json")  # the hold every hold engine proposes, dumped once


def gate_input_to_dict(gi: GateInput) -> dict:
    """A gate input as JSON-able data (archived with each run, so `clash replay` can re-derive the verdict)."""
    data = dict(zip(_GATE_INPUT_FIELDS, _gate_input_values(gi)))
    data["action"] = _HOLD_JSON if gi.action is HOLD else gi.action.model_dump(mode="json") if gi.action else None
    data["controls"] = _controls_json(gi.controls)
    data["rules"] = _rules_json(gi.rules) if gi.rules else None
    data["position_size"] = str(gi.position_size)
    return data


def gate_input_from_dict(data: dict) -> GateInput:
    return GateInput(**{**data, "action": Action.model_validate(data["action"]) if data["action"] else None,
                        "controls": ExecutionControls.model_validate(data["controls"]),
                        "rules": _rules_from_dict(data["rules"]) if data["rules"] else None,
                        "position_size": Decimal(data["position_size"])})


def _rules_from_dict(data: dict) -> AssetRules:
    tiers = tuple((float(low), int(lev)) for low, lev in data.get("margin_tiers", ()))
    return AssetRules(**{**data, "only_isolated": bool(data.get("only_isolated", False)), "margin_tiers": tiers})
