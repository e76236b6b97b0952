"""Ethereum addresses at the door: ticket holders and creator payout addresses are EIP-55 addresses.

Rules: `0x` and 40 hex digits. A mixed-case address must carry a valid EIP-55 checksum (a bad one is a typo, and
money would go nowhere); an all-lowercase or all-uppercase one carries no checksum and is accepted and stored in
its checksummed form. The zero address (a burn address) is refused.
"""

from __future__ import annotations

import re

from eth_utils import is_checksum_address, to_checksum_address

HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
ZERO = "0x" + "0" * 40


class InvalidAddress(ValueError):
    pass


def shown(value: object, limit: int = 48) -> str:
    """A value for an error line: repr, cut to `limit` characters with its full length said."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value))} characters)"


def checksum_address(value: object, field: str) -> str:
    """The EIP-55 form of `value`; InvalidAddress naming `field` if it is not an acceptable address."""
    if not isinstance(value, str) or not HEX_ADDRESS.fullmatch(value):
        raise InvalidAddress(f"{field}: not an Ethereum address (0x and 40 hex digits): {shown(value)}")
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(value):
        raise InvalidAddress(f"{field}: bad EIP-55 checksum in {value} (a typo? the checksummed form of these "
                             f"digits is {to_checksum_address(value.lower())})")
    if value.lower() == ZERO:
        raise InvalidAddress(f"{field}: the zero address cannot receive payments")
    return to_checksum_address(value.lower())


def payout_address_or_none(value: object) -> str | None:
    """A stored payout address if it is a valid one, else None (legacy placeholders count as missing)."""
    try:
        return checksum_address(value, "payout address")
    except InvalidAddress:
        return None
