"""The fill model: a pure function of (order, market snapshot, config), with no hidden randomness.

- Market orders walk the snapshot's L2 levels (up to 20 a side), never past the slippage cap (default 5% from
  mid, as Hyperliquid's SDK uses for market orders); what the book or the cap cannot fill is reported as
  unfilled, never invented. With no book: mid +/- (half the last known spread + one tick), said on the fill;
  with no price at all: rejected.
- Limit orders: a marketable one fills at once up to its limit (taker); a resting one fills later, at its limit,
  when a mark or candle crosses it (maker), or expires by its time-in-force.
- Fees from Hyperliquid's base tier; each fill records its cost: fee, half-spread, depth impact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from clash_pipeline.market.exchange_rules import quantum, round_price, round_size

Level = tuple[Decimal, Decimal]  # (px, sz)


@dataclass(frozen=True)
class FillConfig:
    slippage_cap: Decimal = Decimal("0.05")
    perp_taker: Decimal = Decimal("0.00045")
    perp_maker: Decimal = Decimal("0.00015")
    spot_taker: Decimal = Decimal("0.00070")
    spot_maker: Decimal = Decimal("0.00040")
    limit_ttl_ms: int = 24 * 3_600_000   # good-till-cancelled orders expire after a day of paper time

    def fee_rate(self, kind: str, liquidity: str) -> Decimal:
        return {("perp", "taker"): self.perp_taker, ("perp", "maker"): self.perp_maker,
                ("spot", "taker"): self.spot_taker, ("spot", "maker"): self.spot_maker}[kind, liquidity]

    def as_dict(self) -> dict:
        return {k: str(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Snapshot:
    """What the decision read: book levels (best first), the mid, the last known spread, the asset's rules."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    mid: Decimal | None
    last_spread: Decimal | None
    kind: str
    sz_decimals: int
    ts_ms: int | None = None

    def as_dict(self) -> dict:
        return {"bids": [[str(p), str(s)] for p, s in self.bids], "asks": [[str(p), str(s)] for p, s in self.asks],
                "mid": _s(self.mid), "last_spread": _s(self.last_spread), "kind": self.kind,
                "sz_decimals": self.sz_decimals, "ts_ms": self.ts_ms}

    @cached_property
    def data(self) -> dict:
        """`as_dict`, computed once and shared read-only (the payloads of every order it priced hold it)."""
        return self.as_dict()

    @cached_property
    def json(self) -> str:
        """The snapshot as stored with each fill it priced (computed once: a snapshot never changes)."""
        return json.dumps(self.data, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> Snapshot:
        levels = lambda side: tuple((Decimal(p), Decimal(s)) for p, s in data[side])  # noqa: E731
        return cls(levels("bids"), levels("asks"), _d(data["mid"]), _d(data["last_spread"]), data["kind"],
                   data["sz_decimals"], data.get("ts_ms"))


@dataclass(frozen=True)
class OrderSpec:
    side: str                 # buy | sell
    size: Decimal
    order_type: str           # market | limit
    limit_price: Decimal | None = None


@dataclass(frozen=True)
class Fill:
    status: str               # filled | partial | resting | rejected
    size: Decimal = Decimal(0)
    price: Decimal | None = None          # average
    liquidity: str = "taker"
    fee: Decimal = Decimal(0)
    half_spread_cost: Decimal = Decimal(0)
    impact_cost: Decimal = Decimal(0)
    unfilled: Decimal = Decimal(0)
    source: str = "book"      # book | mid_fallback | limit_cross
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"status": self.status, "size": str(self.size), "price": _s(self.price), "liquidity": self.liquidity,
                "fee": str(self.fee), "half_spread_cost": str(self.half_spread_cost),
                "impact_cost": str(self.impact_cost), "unfilled": str(self.unfilled), "source": self.source,
                "notes": self.notes}


def fill_order(order: OrderSpec, snap: Snapshot, config: FillConfig = FillConfig()) -> Fill:
    buying = order.side == "buy"
    levels = snap.asks if buying else snap.bids
    if order.order_type == "limit" and order.limit_price is not None:
        best = levels[0][0] if levels else snap.mid
        marketable = best is not None and (best <= order.limit_price if buying else best >= order.limit_price)
        if not marketable:
            return Fill("resting", unfilled=order.size, liquidity="maker", source="limit_cross",
                        notes=[f"rests at {order.limit_price}: not marketable against {best}"])
    if snap.mid is None and not levels:
        return Fill("rejected", unfilled=order.size, notes=["no book and no price: nothing to fill against"])
    if not levels:
        return _mid_fallback(order, snap, config)
    mid = snap.mid if snap.mid is not None else (snap.bids[0][0] + snap.asks[0][0]) / 2 if snap.bids and snap.asks \
        else levels[0][0]
    cap = mid * (1 + config.slippage_cap) if buying else mid * (1 - config.slippage_cap)
    limit = order.limit_price if order.order_type == "limit" else None
    remaining, filled, cost = order.size, Decimal(0), Decimal(0)
    for px, sz in levels:
        beyond_cap = px > cap if buying else px < cap
        beyond_limit = limit is not None and (px > limit if buying else px < limit)
        if remaining <= 0 or beyond_cap or beyond_limit:
            break
        take = min(sz, remaining)
        filled, cost, remaining = filled + take, cost + take * px, remaining - take
    filled = round_size(filled, snap.sz_decimals)
    notes = []
    if filled == 0:
        return Fill("rejected", unfilled=order.size, notes=["no level within the slippage cap or the limit"])
    if remaining > 0:
        notes.append(f"{remaining} unfilled: the book within {'the limit' if limit else 'the slippage cap'} "
                     f"({cap:.6g}) ran out")
    average = cost / filled
    best = levels[0][0]
    fee = filled * average * config.fee_rate(snap.kind, "taker")
    half_spread = abs(best - mid) * filled
    impact = abs(average - best) * filled
    return Fill("filled" if remaining == 0 else "partial", filled, average, "taker", fee, half_spread, impact,
                order.size - filled, "book", notes)


def _mid_fallback(order: OrderSpec, snap: Snapshot, config: FillConfig) -> Fill:
    """No book: mid +/- (half the last known spread + one tick), rounded to the tick on the adverse side."""
    buying = order.side == "buy"
    tick = quantum(-max(0, (8 if snap.kind == "spot" else 6) - snap.sz_decimals))
    half = (snap.last_spread or Decimal(0)) / 2
    raw = snap.mid + (half + tick if buying else -(half + tick))
    price = round_price(raw, snap.kind, snap.sz_decimals, up=buying)
    if order.order_type == "limit" and order.limit_price is not None and \
            (price > order.limit_price if buying else price < order.limit_price):
        return Fill("resting", unfilled=order.size, liquidity="maker", source="limit_cross",
                    notes=[f"no book; the fallback price {price} is beyond the limit {order.limit_price}"])
    size = round_size(order.size, snap.sz_decimals)
    fee = size * price * config.fee_rate(snap.kind, "taker")
    return Fill("filled", size, price, "taker", fee, abs(price - snap.mid) * size, Decimal(0), order.size - size,
                "mid_fallback", [f"no book: mid {snap.mid} +/- (half spread {half} + tick {tick}) = {price}"])


def fill_resting(order: OrderSpec, crossed_low: Decimal, crossed_high: Decimal, kind: str,
                 config: FillConfig = FillConfig()) -> Fill | None:
    """A resting limit fills at its limit (maker) once prices trade through it; None while not crossed."""
    limit = order.limit_price
    if (order.side == "buy" and crossed_low <= limit) or (order.side == "sell" and crossed_high >= limit):
        fee = order.size * limit * config.fee_rate(kind, "maker")
        return Fill("filled", order.size, limit, "maker", fee, source="limit_cross",
                    notes=[f"prices traded through the limit {limit} (low {crossed_low}, high {crossed_high})"])
    return None


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
