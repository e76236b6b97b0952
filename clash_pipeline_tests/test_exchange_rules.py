"""Hyperliquid's price rules, as properties over many prices: a rounded price is valid, on the safe side, and the
nearest such; a valid price comes back as it is."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from clash_pipeline.market.exchange_rules import price_decimals, quantum, round_price, valid_price

prices = st.one_of(
    st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=9, allow_nan=False),
    st.floats(min_value=1e-8, max_value=1e6).map(lambda x: Decimal(repr(x))),  # as `dec` reads a float
    st.integers(min_value=1, max_value=10**7).map(Decimal),
)


@settings(max_examples=600, deadline=None)
@given(prices, st.sampled_from(["perp", "spot"]), st.integers(min_value=0, max_value=6), st.booleans())
def test_round_price_is_valid_safe_and_nearest(price, kind, sz_decimals, up):
    rounded = round_price(price, kind, sz_decimals, up)
    # valid, unless a buy's price is below the smallest tick (it rounds down to 0, and the order is refused)
    assert valid_price(rounded, kind, sz_decimals) or (rounded == 0 and not up)
    if valid_price(price, kind, sz_decimals):
        assert rounded == price and str(rounded) == str(price)  # unchanged, as written
        return
    assert (rounded > price) if up else (rounded < price)  # a sell rounds up, a buy down: never a worse price
    assert "E" not in str(rounded) or rounded < Decimal("0.000001")  # Decimal's own str: 1E-7 below a millionth
    # nearest: one step back toward the price is past it (or no longer valid)
    step = quantum(min(rounded.adjusted() - 4, 0) if rounded >= 10**5 else max(rounded.adjusted() - 4,
                                                                                 -price_decimals(kind, sz_decimals)))
    back = rounded - step if up else rounded + step
    assert (back < price if up else back > price) or not valid_price(back, kind, sz_decimals)
