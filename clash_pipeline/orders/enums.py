"""The closed sets of the decision and order path. StrEnums: each member is the string stored in SQLite."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    """An order's status. `orders.status` holds the first six (`recorded`); a live order's own status, finer on
    the way to the exchange, is also in `live_orders.state`."""

    OPEN = "dry_run_open"          # created, or resting on the (paper) book
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"  # filled in part; paper: the rest was cancelled (see lifecycle)
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SENT = "sent"                  # live: signed and sent, not yet answered
    UNKNOWN = "unknown"            # live: sent, no answer came back (orderStatus will tell)
    RESTING = "resting"            # live: on the exchange's book
    REFUSED = "refused"            # live: a live gate refused it; never sent

    @property
    def recorded(self) -> OrderStatus:
        """What `orders.status` holds for an order in this status."""
        return LIVE_ONLY.get(self, self)


# The statuses only a live order has, and what `orders.status` holds for each.
LIVE_ONLY = {OrderStatus.SENT: OrderStatus.OPEN, OrderStatus.UNKNOWN: OrderStatus.OPEN,
             OrderStatus.RESTING: OrderStatus.OPEN, OrderStatus.REFUSED: OrderStatus.REJECTED}


class FillStatus(StrEnum):
    """What the fill model says of an order at one moment."""

    FILLED = "filled"
    PARTIAL = "partial"
    RESTING = "resting"
    REJECTED = "rejected"


class RunStatus(StrEnum):
    RUNNING = "running"
    HELD = "held"
    REJECTED = "rejected"
    ORDERED = "ordered"
    FAILED = "failed"


class ReplyStatus(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    MALFORMED = "malformed"
    EMPTY = "empty"
    ERROR = "error"


class EventKind(StrEnum):
    """An execution event: at most one of each kind per run (the table's key). The `order_*` kinds mean the same
    for paper and live orders (live: what the exchange answered or orderStatus reported); `live_*` are live only."""

    CREATED = "order_created"
    RESTING = "order_resting"
    FILLED = "order_filled"
    PARTIALLY_FILLED = "order_partially_filled"
    CANCELLED = "order_cancelled"
    REJECTED = "order_rejected"
    EXPIRED = "order_expired"
    LIVE_REFUSED = "live_refused"        # a live gate (agent, limits, account, wire, kill switch at send) refused it
    LIVE_SENT = "live_sent"              # signed and sent to the exchange
    LIVE_UNANSWERED = "live_unanswered"  # sent, and the exchange's answer was lost (timeout or error)
    LIVE_FILL = "live_fill"              # an exchange fill booked in the ledger (the status is the exchange's)
