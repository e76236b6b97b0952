"""The order lifecycle: the one writer of `orders` and `execution_events`, and of a live order's status.

An explicit state machine: `TRANSITIONS[(status, event)]` is the status an event leads to; any other event is
refused (IllegalTransition) and changes nothing. Each transition writes the order's status and its event
together, in the caller's transaction (or its own if there is none), so an order never has a status without the
event that set it.

    create_order(conn, NewOrder(...), ts_ms) -> order_id        # the order, status open, and `order_created`
    transition(conn, order_id, EventKind.FILLED, detail, ts_ms)   # one event: the status it leads to
    apply_fill(conn, order_id, fill_status, detail, unfilled, ts_ms)  # what a fill model result means
    place_many(conn, [(NewOrder(...), fill_events(...))], ts_ms)  # orders with their fills at once, batched

A partial fill's unfilled rest is cancelled at once (immediate-or-cancel, as Hyperliquid's market orders are;
a marketable limit's rest too): `order_partially_filled` then `order_cancelled` naming the rest; the order stays
`partially_filled` (what it filled is in `paper_fills`). A limit that is not marketable rests (`order_resting`,
still open) until a mark sees prices trade through it (`order_filled`) or its time in force runs out
(`order_expired`).

The live adapter (`clash_pipeline.live`) drives the same machine: an open order is refused by a live gate
(`live_refused`) or sent (`live_sent`); a lost answer leaves it unknown (`live_unanswered`); the exchange's answer
or orderStatus then moves it by the same `order_*` events (a live partial fill may still fill or be cancelled);
booking an exchange fill (`live_fill`) keeps the status the exchange reported. The statuses only a live order has
are recorded in `orders.status` as open or rejected (`OrderStatus.recorded`); its own status is
`live_orders.state`, whose row its first live event creates (the adapter adds the exchange's side to it).
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

from clash_pipeline.memory.db import insert_new, next_ids, transaction
from clash_pipeline.orders.enums import LIVE_ONLY, EventKind, FillStatus, OrderStatus, OrderType, Side

S, E = OrderStatus, EventKind
OPEN, SENT, UNKNOWN, RESTING = S.OPEN, S.SENT, S.UNKNOWN, S.RESTING
FILLED, PARTIAL, CANCELLED, REJECTED = S.FILLED, S.PARTIALLY_FILLED, S.CANCELLED, S.REJECTED
TRANSITIONS: dict[tuple[OrderStatus, EventKind], OrderStatus] = {
    # paper: the fill model's verdict, then a resting limit's mark or time in force
    (OPEN, E.RESTING): OPEN,
    (OPEN, E.FILLED): FILLED,
    (OPEN, E.PARTIALLY_FILLED): PARTIAL,
    (OPEN, E.REJECTED): REJECTED,
    (OPEN, E.EXPIRED): S.EXPIRED,
    (OPEN, E.CANCELLED): CANCELLED,
    (PARTIAL, E.CANCELLED): PARTIAL,  # the unfilled rest is cancelled; the filled part stands
    # live: refused before sending, or sent; then the exchange's answer, or orderStatus
    (OPEN, E.LIVE_REFUSED): S.REFUSED,
    (OPEN, E.LIVE_SENT): SENT,
    (SENT, E.LIVE_UNANSWERED): UNKNOWN,
    (SENT, E.RESTING): RESTING, (SENT, E.FILLED): FILLED, (SENT, E.PARTIALLY_FILLED): PARTIAL,
    (SENT, E.CANCELLED): CANCELLED, (SENT, E.REJECTED): REJECTED,
    (UNKNOWN, E.RESTING): RESTING, (UNKNOWN, E.FILLED): FILLED, (UNKNOWN, E.PARTIALLY_FILLED): PARTIAL,
    (UNKNOWN, E.CANCELLED): CANCELLED, (UNKNOWN, E.REJECTED): REJECTED,
    (RESTING, E.PARTIALLY_FILLED): PARTIAL, (RESTING, E.FILLED): FILLED, (RESTING, E.CANCELLED): CANCELLED,
    (PARTIAL, E.FILLED): FILLED,  # live: the rest of a resting order filled later
    # live: an exchange fill booked in the ledger, in any status the exchange may have filled it in
    (SENT, E.LIVE_FILL): SENT, (UNKNOWN, E.LIVE_FILL): UNKNOWN, (RESTING, E.LIVE_FILL): RESTING,
    (PARTIAL, E.LIVE_FILL): PARTIAL, (FILLED, E.LIVE_FILL): FILLED,
}
FILL_EVENTS = {FillStatus.FILLED: E.FILLED, FillStatus.PARTIAL: E.PARTIALLY_FILLED,
               FillStatus.RESTING: E.RESTING, FillStatus.REJECTED: E.REJECTED}


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


@dataclass(frozen=True)
class Order(NewOrder):
    """A recorded order: what was ordered, and its id."""

    order_id: int = field(kw_only=True)


def _writing(conn: sqlite3.Connection) -> AbstractContextManager:
    """The caller's transaction if one is open, else one of our own."""
    return nullcontext() if conn.in_transaction else transaction(conn)


def create_order(conn: sqlite3.Connection, order: NewOrder, ts_ms: int) -> int:
    """The order (open) and its `order_created` event; a second call for the same run returns the same order."""
    return place_many(conn, [(order, [])], ts_ms)[0]


def load(conn: sqlite3.Connection, order_id: int) -> Order:
    """The recorded order; isolated if its asset trades isolated margin only (as the gates decided)."""
    row = conn.execute(
        "SELECT o.run_id, o.clone_id, o.coin, o.side, o.size, o.order_type, o.client_order_id, o.price, "
        "o.reduce_only, o.take_profit, o.stop_loss, COALESCE(h.only_isolated, 0) FROM orders o LEFT JOIN hl_assets h "
        "USING (coin) WHERE o.order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise KeyError(f"no order {order_id}")
    run_id, clone_id, coin, side, size, kind, cloid, price, reduce_only, take_profit, stop_loss, isolated = row
    return Order(run_id, clone_id, coin, Side(side), Decimal(size), OrderType(kind), cloid, _decimal(price),
                 bool(reduce_only), _decimal(take_profit), _decimal(stop_loss), bool(isolated), order_id=order_id)


def _current(conn: sqlite3.Connection, order_id: int) -> tuple[int, OrderStatus, bool]:
    """The order's run, its status (a live order's own) and whether it is live."""
    row = conn.execute("SELECT o.run_id, COALESCE(l.state, o.status), l.order_id IS NOT NULL FROM orders o "
                       "LEFT JOIN live_orders l USING (order_id) WHERE o.order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise KeyError(f"no order {order_id}")
    return row[0], OrderStatus(row[1]), bool(row[2])


def status(conn: sqlite3.Connection, order_id: int) -> OrderStatus:
    """The order's status: a live order's own (`live_orders.state`), else `orders.status`."""
    return _current(conn, order_id)[1]


def transition(conn: sqlite3.Connection, order_id: int, event: EventKind, detail: str, ts_ms: int) -> OrderStatus:
    """Apply one event: the order's new status and the event, written together; IllegalTransition (nothing
    written) if the machine does not allow the event in the order's status."""
    with _writing(conn):
        run_id, current, live = _current(conn, order_id)
        new = TRANSITIONS.get((current, event))
        if new is None:
            allowed = ", ".join(sorted(e for s, e in TRANSITIONS if s == current)) or "nothing (final)"
            raise IllegalTransition(f"order {order_id} is {current}: {event} is not allowed (allowed: {allowed})")
        if new.recorded != current.recorded:
            conn.execute("UPDATE orders SET status = ? WHERE order_id = ?", (str(new.recorded), order_id))
        if live and new != current:
            conn.execute("UPDATE live_orders SET state = ?, updated_ms = ? WHERE order_id = ?",
                         (str(new), ts_ms, order_id))
        elif not live and new in LIVE_ONLY:  # its first live event: the live order's row
            conn.execute("INSERT INTO live_orders (order_id, cloid, state, notional_micro, created_ms, updated_ms) "
                         "SELECT order_id, client_order_id, ?, 0, ?, ? FROM orders WHERE order_id = ?",
                         (str(new), ts_ms, ts_ms, order_id))
        conn.execute("INSERT INTO execution_events (run_id, order_id, kind, detail, created_ms) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT DO NOTHING", (run_id, order_id, str(event), detail, ts_ms))
        return new


def apply_fill(conn: sqlite3.Connection, order_id: int, fill_status: FillStatus, detail: str, unfilled: Decimal,
               ts_ms: int) -> OrderStatus:
    """What the fill model said, as events: filled, resting, rejected, or partially filled and the rest
    cancelled."""
    with _writing(conn):
        new = OPEN
        for event, text in fill_events(fill_status, detail, unfilled):
            new = transition(conn, order_id, event, text, ts_ms)
        return new


def place_many(conn: sqlite3.Connection, placed: list[tuple[NewOrder, list[tuple[EventKind, str]]]],
               ts_ms: int) -> list[int]:
    """New orders, each in the status its events lead it to from open, with `order_created` and those events: the
    same machine and rows as `create_order` then `apply_fill`, in one statement per table for all of them. An
    order its run has already keeps its row and events (its id is returned, nothing is written)."""
    statuses = []
    for _, events in placed:
        status = OPEN
        for event, _ in events:
            status = TRANSITIONS[status, event]
        statuses.append(status)
    with _writing(conn):
        ids = next_ids(conn, "orders", "order_id", len(placed))
        new = insert_new(
            conn, "INSERT INTO orders (order_id, run_id, clone_id, coin, side, size, price, order_type, reduce_only, "
            "take_profit, stop_loss, client_order_id, status, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?) ON CONFLICT (run_id) DO NOTHING",
            [(order_id, o.run_id, o.clone_id, o.coin, str(o.side), str(o.size), _text(o.price), str(o.order_type),
              int(o.reduce_only), _text(o.take_profit), _text(o.stop_loss), o.client_order_id, str(status.recorded),
              ts_ms) for order_id, (o, _), status in zip(ids, placed, statuses)], ids, "orders", "order_id")
        order_ids = list(ids)
        if len(new) != len(placed):  # some run had its order already: that order stands
            runs = [o.run_id for o, _ in placed]
            existing = dict(conn.execute(f"SELECT run_id, order_id FROM orders WHERE run_id IN "
                                         f"({','.join('?' * len(runs))})", runs).fetchall())
            order_ids = [existing[run_id] for run_id in runs]
        conn.executemany("INSERT INTO execution_events (run_id, order_id, kind, detail, created_ms) VALUES "
                         "(?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         [(o.run_id, order_id, str(event), text, ts_ms)
                          for order_id, (o, events) in zip(order_ids, placed) if order_id in new
                          for event, text in [(EventKind.CREATED, o.describe()), *events]])
        return order_ids


def fill_events(fill_status: FillStatus, detail: str, unfilled: Decimal) -> list[tuple[EventKind, str]]:
    """The events a fill model result makes: its own, and for a partial fill the rest cancelled at once."""
    events = [(FILL_EVENTS[FillStatus(fill_status)], detail)]
    if fill_status == FillStatus.PARTIAL:
        events.append((EventKind.CANCELLED, f"the unfilled rest {unfilled} is cancelled (immediate-or-cancel)"))
    return events


def reject_runs(conn: sqlite3.Connection, rejected: list[tuple[int, str]], ts_ms: int) -> None:
    """Proposed trades the gates refused, (run, why) each: an `order_rejected` event per run, no order."""
    conn.executemany("INSERT INTO execution_events (run_id, kind, detail, created_ms) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT DO NOTHING", [(run_id, str(EventKind.REJECTED), detail, ts_ms)
                                                for run_id, detail in rejected])


def events(conn: sqlite3.Connection, run_id: int) -> list[tuple[str, str]]:
    return conn.execute("SELECT kind, detail FROM execution_events WHERE run_id = ? ORDER BY event_id",
                        (run_id,)).fetchall()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
