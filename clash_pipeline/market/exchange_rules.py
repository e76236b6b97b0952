"""Hyperliquid's order-validity rules, exactly (Decimal): lot size, tick size, minimum order value.

- Size: at most `szDecimals` decimals (spot: the base token's).
- Price: integers always valid; otherwise at most 5 significant figures and at most `6 - szDecimals` decimals for
  perps, `8 - szDecimals` for spot.
- Minimum order value: $10 for perps, 10 units of the quote token for spot.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from functools import lru_cache

MAX_DECIMALS = {"perp": 6, "spot": 8}
MAX_SIGNIFICANT = 5
MIN_ORDER_VALUE = Decimal(10)
_ONE = Decimal(1)
_INTEGER_PRICES_FROM = Decimal(10) ** MAX_SIGNIFICANT  # from here on a price has no decimals


def dec(value: float | str | Decimal) -> Decimal:
    """A float as the shortest decimal that round-trips (30135.0 -> 30135), never its binary expansion."""
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)


@lru_cache(maxsize=1024, typed=True)  # 10 and 10.0 read differently ('10', '10.0')
def bound(value: float) -> Decimal:
    """A configured bound (a block's control, a global bound, a margin tier) as `dec` gives it: few distinct
    values, each converted once."""
    return dec(value)


@lru_cache(maxsize=64)
def quantum(exponent: int) -> Decimal:
    """10 ** exponent, the step a value is quantized to (1E-2: cents)."""
    return _ONE.scaleb(exponent)


def round_size(size: Decimal, sz_decimals: int) -> Decimal:
    """Round a size down to the lot (never more than asked)."""
    return size.quantize(quantum(-sz_decimals), rounding=ROUND_DOWN)


def price_decimals(kind: str, sz_decimals: int) -> int:
    return max(MAX_DECIMALS[kind] - sz_decimals, 0)


def valid_price(price: Decimal, kind: str, sz_decimals: int) -> bool:
    if price <= 0:
        return False
    if price == price.to_integral_value():
        return True
    digits = price.normalize().as_tuple()
    return len(digits.digits) <= MAX_SIGNIFICANT and -digits.exponent <= price_decimals(kind, sz_decimals)


def round_price(price: Decimal, kind: str, sz_decimals: int, up: bool) -> Decimal:
    """The nearest valid price in the given direction (a buy rounds down, a sell up: never a worse price)."""
    rounding = ROUND_CEILING if up else ROUND_FLOOR
    if price >= _INTEGER_PRICES_FROM:
        return price if price == price.to_integral_value() else price.to_integral_value(rounding=rounding)
    exponent = price.adjusted() - (MAX_SIGNIFICANT - 1)  # keep 5 significant figures
    exponent = max(exponent, -price_decimals(kind, sz_decimals))
    rounded = price.quantize(quantum(exponent), rounding=rounding)
    # A positive price is valid exactly when this step holds it as it is (at most 5 significant figures and the
    # asset's decimals, or an integer): a valid price comes back unchanged. (A Decimal of more than the context's
    # 28 digits, which no float or price arithmetic makes, is rounded here where `valid_price` rounds it first.)
    return price if price > 0 and rounded == price else plain(rounded)


def plain(value: Decimal) -> Decimal:
    """Without trailing zeros and never in exponent form (82530, not 8.253E+4)."""
    return value.quantize(_ONE) if value == value.to_integral_value() else value.normalize()


def min_order_value_ok(size: Decimal, price: Decimal) -> bool:
    return size * price >= MIN_ORDER_VALUE
