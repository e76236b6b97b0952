"""What model calls cost: token usage to USD through a price table per model, exact in integer micro-USD.

Prices are USD per million tokens (input, output), which is micro-USD per token: a call's cost is
tokens_in x input + tokens_out x output micro-USD. A model missing from the table is priced at the fallback
(`*`, deliberately dear) so that a budget always holds. Costs are priced from the runs' stored token counts
with the table in use when they are read (`spent_micro`, `model_costs`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

FALLBACK = "*"


@dataclass(frozen=True)
class ModelPrice:
    input_per_mtok: Decimal
    output_per_mtok: Decimal

    def __post_init__(self) -> None:
        for name in ("input_per_mtok", "output_per_mtok"):
            value = Decimal(str(getattr(self, name)))
            if not value.is_finite() or value < 0:
                raise ValueError(f"model price {name} must be a finite USD amount >= 0, got {value}")
            object.__setattr__(self, name, value)


DEFAULT_PRICES = {
    "gpt-4o-mini": ModelPrice(Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": ModelPrice(Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1": ModelPrice(Decimal("2.00"), Decimal("8.00")),
    "gpt-4.1-mini": ModelPrice(Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": ModelPrice(Decimal("0.10"), Decimal("0.40")),
    FALLBACK: ModelPrice(Decimal("10.00"), Decimal("30.00")),
}


class PriceTable:
    """Per-model prices (the defaults, overridden or extended by `prices`: {model: {input_per_mtok,
    output_per_mtok}})."""

    def __init__(self, prices: dict[str, dict | ModelPrice] | None = None) -> None:
        self.prices = dict(DEFAULT_PRICES)
        for model, price in (prices or {}).items():
            self.prices[model] = price if isinstance(price, ModelPrice) else ModelPrice(**price)

    def price(self, model: str | None) -> ModelPrice:
        return self.prices.get(model or "", self.prices[FALLBACK])

    def cost_micro(self, model: str | None, tokens_in: int | None, tokens_out: int | None) -> int:
        """The cost of one call in micro-USD, rounded up."""
        price = self.price(model)
        cost = (tokens_in or 0) * price.input_per_mtok + (tokens_out or 0) * price.output_per_mtok
        return int(cost.to_integral_value(rounding=ROUND_CEILING))


def model_costs(conn: sqlite3.Connection, prices: PriceTable, clone_id: int | None = None,
                context: str | None = None, since_ms: int = 0, until_ms: int = 2**62) -> dict:
    """Model calls (runs with a model) and their cost, per clone and context, ticks in [since, until)."""
    totals: dict[tuple[int, str], dict] = {}
    for clone, label, model, runs, tokens_in, tokens_out in conn.execute(
            "SELECT clone_id, context_label, model, COUNT(tokens_in), SUM(tokens_in), SUM(tokens_out) FROM decision_runs "
            "WHERE model IS NOT NULL AND (? IS NULL OR clone_id = ?) AND (? IS NULL OR context_label = ?) "
            "AND tick_ms >= ? AND tick_ms < ? GROUP BY clone_id, context_label, model",
            (clone_id, clone_id, context, context, since_ms, until_ms)):
        entry = totals.setdefault((clone, label), {"calls": 0, "tokens_in": 0, "tokens_out": 0, "cost_micro": 0})
        entry["calls"] += runs
        entry["tokens_in"] += tokens_in or 0
        entry["tokens_out"] += tokens_out or 0
        entry["cost_micro"] += prices.cost_micro(model, tokens_in, tokens_out)
    return totals


def spent_micro(conn: sqlite3.Connection, prices: PriceTable, clone_id: int, context: str, since_ms: int,
                until_ms: int) -> int:
    """What a clone's model calls cost in a context, ticks in [since, until)."""
    entry = model_costs(conn, prices, clone_id, context, since_ms, until_ms).get((clone_id, context))
    return entry["cost_micro"] if entry else 0
