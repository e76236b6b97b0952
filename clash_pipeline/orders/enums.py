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
    OPEN = "dry_run_open"          # created, or resting on the (paper) book
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"  # filled in part; the rest was cancelled (see lifecycle)
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


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
    """An execution event: at most one of each kind per run (the table's key)."""

    CREATED = "order_created"
    RESTING = "order_resting"
    FILLED = "order_filled"
    PARTIALLY_FILLED = "order_partially_filled"
    CANCELLED = "order_cancelled"
    REJECTED = "order_rejected"
    EXPIRED = "order_expired"
