"""Position arithmetic (one-way, cross margin), exact in Decimal; money leaves here as integer micro-USDC."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from clash_pipeline.market.exchange_rules import plain, quantum

MICRO = Decimal("0.000001")


LEDGER_LIMIT = 2**63  # SQLite's INTEGER: the ledger holds amounts strictly inside +/- this many micro-USDC
_LEDGER_LIMIT_USD = LEDGER_LIMIT * MICRO
_ONE = Decimal(1)


def to_micro(usd: Decimal) -> int:
    """USD to integer micro-USDC (banker's rounding): what the ledger stores, so sums are exact. An amount the
    ledger cannot hold (not finite, or beyond SQLite's 64-bit integers) is a ValueError naming it."""
    if not usd.is_finite() or abs(usd) >= _LEDGER_LIMIT_USD:
        raise ValueError(f"{usd} USD is out of the ledger's range (finite, below {_LEDGER_LIMIT_USD:.0f} USD)")
    return int((usd / MICRO).quantize(_ONE, rounding=ROUND_HALF_EVEN))


def shown_price(price: Decimal) -> Decimal:
    """A price as shown: 5 significant figures at most (Hyperliquid's price precision), never in exponent
    form. The exact Decimal stays in the books; this is for people."""
    if not price.is_finite() or price == 0:
        return price
    exponent = min(0, price.adjusted() - 4)
    return plain(price.quantize(quantum(exponent), rounding=ROUND_HALF_EVEN))


def from_micro(amount: int) -> Decimal:
    return Decimal(amount) * MICRO


@dataclass(frozen=True)
class Position:
    coin: str
    size: Decimal = Decimal(0)        # signed base units: long > 0, short < 0
    entry: Decimal = Decimal(0)       # average entry price
    leverage: Decimal = Decimal(1)
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None

    @property
    def side(self) -> int:
        return (self.size > 0) - (self.size < 0)

    def unrealized(self, mark: Decimal) -> Decimal:
        return self.size * (mark - self.entry)

    def margin(self) -> Decimal:
        return abs(self.size) * self.entry / self.leverage

    def notional(self, mark: Decimal) -> Decimal:
        return abs(self.size) * mark


def apply_fill(position: Position, side: str, size: Decimal, price: Decimal, leverage: Decimal | None = None,
               stop_loss: Decimal | None = None, take_profit: Decimal | None = None) -> tuple[Position, Decimal]:
    """The position after a fill, and the PnL the fill realized (on the part that reduced the position)."""
    delta = size if side == "buy" else -size
    current = position.size
    if current == 0 or (current > 0) == (delta > 0):
        new_size = current + delta
        entry = (abs(current) * position.entry + size * price) / abs(new_size)
        return Position(position.coin, new_size, entry, leverage or position.leverage, stop_loss or position.stop_loss,
                        take_profit or position.take_profit), Decimal(0)
    closed = min(size, abs(current))
    realized = closed * (price - position.entry) * position.side
    new_size = current + delta
    if new_size == 0:
        return Position(position.coin, leverage=position.leverage), realized
    if (new_size > 0) == (current > 0):  # reduced
        return Position(position.coin, new_size, position.entry, position.leverage, position.stop_loss,
                        position.take_profit), realized
    return Position(position.coin, new_size, price, leverage or position.leverage, stop_loss, take_profit), realized


def maintenance_margin(position: Position, mark: Decimal, max_leverage: int) -> Decimal:
    """Half the initial margin at the asset's max leverage (Hyperliquid's maintenance rule)."""
    return position.notional(mark) / (2 * Decimal(max_leverage))


def liquidation_price(position: Position, mark: Decimal, equity: Decimal, other_maintenance: Decimal,
                      max_leverage: int) -> Decimal | None:
    """The mark at which account equity falls to the maintenance margin, other positions held still."""
    if position.size == 0:
        return None
    s, rate = position.size, Decimal(1) / (2 * Decimal(max_leverage))
    price = (other_maintenance - equity + s * mark) / (s - abs(s) * rate)
    return price if price > 0 else None


def funding_payment(position: Position, oracle: Decimal, rate: Decimal) -> Decimal:
    """Cash the position receives for one funding hour (negative: it pays). Longs pay when the rate is positive."""
    return -position.size * oracle * rate
