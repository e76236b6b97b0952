"""The order lifecycle: the one writer of `orders` and `execution_events`.

An explicit state machine: `TRANSITIONS[(status, event)]` is the status an event leads to; any other event is
refused (IllegalTransition) and changes nothing. Each transition writes the order's status and its event
together, in the caller's transaction (or its own if there is none), so an order never has a status without the
event that set it.

    create_order(conn, NewOrder(...), ts_ms) -> order_id        # the order, status open, and `order_created`
    transition(conn, order_id, EventKind.FILLED, detail, ts_ms)   # one event: the status it leads to
    apply_fill(conn, order_id, fill_status, detail, unfilled, ts_ms)  # what a fill model result means

A partial fill's unfilled rest is cancelled at once (immediate-or-cancel, as Hyperliquid's market orders are;
a marketable limit's rest too): `order_partially_filled` then `order_cancelled` naming the rest; the order stays
`partially_filled` (what it filled is in `paper_fills`). A limit that is not marketable rests (`order_resting`,
still open) until a mark sees prices trade through it (`order_filled`) or its time in force runs out
(`order_expired`). A live adapter drives the same machine with the exchange's events.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal

from clash_pipeline.memory.db import transaction
from clash_pipeline.orders.enums import EventKind, FillStatus, OrderStatus, OrderType, Side

OPEN, FILLED, PARTIAL = OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED
TRANSITIONS: dict[tuple[OrderStatus, EventKind], OrderStatus] = {
    (OPEN, EventKind.RESTING): OPEN,
    (OPEN, EventKind.FILLED): FILLED,
    (OPEN, EventKind.PARTIALLY_FILLED): PARTIAL,
    (OPEN, EventKind.REJECTED): OrderStatus.REJECTED,
    (OPEN, EventKind.EXPIRED): OrderStatus.EXPIRED,
    (OPEN, EventKind.CANCELLED): OrderStatus.CANCELLED,
    (PARTIAL, EventKind.CANCELLED): PARTIAL,  # the unfilled rest is cancelled; the filled part stands
}
FILL_EVENTS = {FillStatus.FILLED: EventKind.FILLED, FillStatus.PARTIAL: EventKind.PARTIALLY_FILLED,
               FillStatus.RESTING: EventKind.RESTING, FillStatus.REJECTED: EventKind.REJECTED}


class IllegalTransition(ValueError):
    pass


@dataclass(frozen=True)
class NewOrder:
    run_id: int
    clone_id: int
    coin: str
    side: Side
    size: Decimal
    order_type: OrderType
    client_order_id: str
    price: Decimal | None = None
    reduce_only: bool = False
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    isolated: bool = False

    def describe(self) -> str:
        text = f"{self.side} {self.size} {self.coin} {self.order_type}" + (f" @ {self.price}" if self.price else "")
        return text + (" (isolated margin)" if self.isolated else "")


def _writing(conn: sqlite3.Connection) -> AbstractContextManager:
    """The caller's transaction if one is open, else one of our own."""
    return nullcontext() if conn.in_transaction else transaction(conn)


def create_order(conn: sqlite3.Connection, order: NewOrder, ts_ms: int) -> int:
    """The order (open) and its `order_created` event; a second call for the same run returns the same order."""
    with _writing(conn):
        row = conn.execute(
            "INSERT INTO orders (run_id, clone_id, coin, side, size, price, order_type, reduce_only, take_profit, "
            "stop_loss, client_order_id, status, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id) DO NOTHING RETURNING order_id",
            (order.run_id, order.clone_id, order.coin, str(order.side), str(order.size), _text(order.price),
             str(order.order_type), int(order.reduce_only), _text(order.take_profit), _text(order.stop_loss),
             order.client_order_id, str(OPEN), ts_ms)).fetchone()
        if row is None:
            return conn.execute("SELECT order_id FROM orders WHERE run_id = ?", (order.run_id,)).fetchone()[0]
        conn.execute("INSERT INTO execution_events (run_id, order_id, kind, detail, created_ms) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT DO NOTHING", (order.run_id, row[0], str(EventKind.CREATED), order.describe(), ts_ms))
        return row[0]


def status(conn: sqlite3.Connection, order_id: int) -> OrderStatus:
    row = conn.execute("SELECT status FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise KeyError(f"no order {order_id}")
    return OrderStatus(row[0])


def transition(conn: sqlite3.Connection, order_id: int, event: EventKind, detail: str, ts_ms: int) -> OrderStatus:
    """Apply one event: the order's new status and the event, written together; IllegalTransition (nothing
    written) if the machine does not allow the event in the order's status."""
    with _writing(conn):
        run_id, current = conn.execute("SELECT run_id, status FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        current = OrderStatus(current)
        new = TRANSITIONS.get((current, event))
        if new is None:
            allowed = ", ".join(sorted(e for s, e in TRANSITIONS if s == current)) or "nothing (final)"
            raise IllegalTransition(f"order {order_id} is {current}: {event} is not allowed (allowed: {allowed})")
        if new != current:
            conn.execute("UPDATE orders SET status = ? WHERE order_id = ?", (str(new), order_id))
        conn.execute("INSERT INTO execution_events (run_id, order_id, kind, detail, created_ms) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT DO NOTHING", (run_id, order_id, str(event), detail, ts_ms))
        return new


def apply_fill(conn: sqlite3.Connection, order_id: int, fill_status: FillStatus, detail: str, unfilled: Decimal,
               ts_ms: int) -> OrderStatus:
    """What the fill model said, as events: filled, resting, rejected, or partially filled and the rest
    cancelled."""
    with _writing(conn):
        new = transition(conn, order_id, FILL_EVENTS[FillStatus(fill_status)], detail, ts_ms)
        if fill_status == FillStatus.PARTIAL:
            new = transition(conn, order_id, EventKind.CANCELLED, f"the unfilled rest {unfilled} is cancelled "
                             "(immediate-or-cancel)", ts_ms)
        return new


def reject_run(conn: sqlite3.Connection, run_id: int, detail: str, ts_ms: int) -> None:
    """A proposed trade the gates refused: an `order_rejected` event of the run, with no order."""
    conn.execute("INSERT INTO execution_events (run_id, kind, detail, created_ms) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT DO NOTHING", (run_id, str(EventKind.REJECTED), detail, ts_ms))


def events(conn: sqlite3.Connection, run_id: int) -> list[tuple[str, str]]:
    return conn.execute("SELECT kind, detail FROM execution_events WHERE run_id = ? ORDER BY event_id",
                        (run_id,)).fetchall()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
