"""The live order lifecycle: an explicit state machine, and how exchange answers map onto it.

pending -> refused (a live gate) | sent; sent -> unknown (no answer in time) | resting | filled | partially_filled |
cancelled | rejected; unknown -> the same (learned from orderStatus); resting -> partially_filled | filled |
cancelled; partially_filled -> filled | cancelled. refused, filled, cancelled and rejected are final.
"""

from __future__ import annotations

from enum import StrEnum


class LiveOrderState(StrEnum):
    PENDING = "pending"
    REFUSED = "refused"
    SENT = "sent"
    UNKNOWN = "unknown"
    RESTING = "resting"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


S = LiveOrderState
_ANSWERED = {S.RESTING, S.FILLED, S.PARTIALLY_FILLED, S.CANCELLED, S.REJECTED}
TRANSITIONS: dict[LiveOrderState, set[LiveOrderState]] = {
    S.PENDING: {S.REFUSED, S.SENT},
    S.SENT: {S.UNKNOWN} | _ANSWERED,
    S.UNKNOWN: _ANSWERED,
    S.RESTING: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED},
    S.PARTIALLY_FILLED: {S.FILLED, S.CANCELLED},
    S.REFUSED: set(), S.FILLED: set(), S.CANCELLED: set(), S.REJECTED: set(),
}
OPEN = {S.SENT, S.UNKNOWN, S.RESTING, S.PARTIALLY_FILLED}  # what reconciliation asks the exchange about
# The shared `orders.status` of a live order in each state (the others leave it as created).
ORDER_STATUS = {S.REFUSED: "rejected", S.REJECTED: "rejected", S.FILLED: "filled",
                S.PARTIALLY_FILLED: "partially_filled", S.CANCELLED: "cancelled"}


class IllegalTransition(RuntimeError):
    pass


def check_transition(current: LiveOrderState, new: LiveOrderState) -> bool:
    """True if `new` moves the order on, False if it is where it is; IllegalTransition if it cannot go there."""
    if new == current:
        return False
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"a live order cannot go from {current} to {new}")
    return True


def state_of_status(status: str, original_size: str | None, remaining: str | None) -> LiveOrderState:
    """orderStatus's status (open, filled, canceled, rejected, marginCanceled, ...) as a live order state."""
    partly = original_size is not None and remaining is not None and remaining != original_size
    if status == "open":
        return S.PARTIALLY_FILLED if partly else S.RESTING
    if status == "filled":
        return S.FILLED
    if status.lower().endswith("canceled") or status == "scheduledCancel":
        return S.PARTIALLY_FILLED if partly else S.CANCELLED
    return S.REJECTED
