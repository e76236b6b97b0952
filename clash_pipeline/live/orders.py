"""A live order's exchange side, and the exchange's reports in the one order lifecycle's terms.

A live order is an `orders` row driven by `clash_pipeline.orders.lifecycle`, which also keeps its status in
`live_orders.state`. Here: the rest of its `live_orders` row (agent, notional, nonce, the signed request, the
exchange's order id and words), and which status and event an exchange report means.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

from clash_pipeline.market.exchange_rules import dec
from clash_pipeline.orders.enums import EventKind, OrderStatus
from clash_pipeline.paper.positions import to_micro

S = OrderStatus
UNSETTLED = (S.SENT, S.UNKNOWN, S.RESTING, S.PARTIALLY_FILLED)  # what reconciliation asks the exchange about
# The event by which the exchange (an order's answer, or orderStatus) reports each status.
REPORTED = {S.RESTING: EventKind.RESTING, S.FILLED: EventKind.FILLED, S.PARTIALLY_FILLED: EventKind.PARTIALLY_FILLED,
            S.CANCELLED: EventKind.CANCELLED, S.REJECTED: EventKind.REJECTED}


def reported_status(status: str, original_size: str | None, remaining: str | None) -> OrderStatus:
    """orderStatus's status (open, filled, canceled, rejected, marginCanceled, ...) as an order status."""
    partly = original_size is not None and remaining is not None and remaining != original_size
    if status == "open":
        return S.PARTIALLY_FILLED if partly else S.RESTING
    if status == "filled":
        return S.FILLED
    if status.lower().endswith("canceled") or status == "scheduledCancel":
        return S.PARTIALLY_FILLED if partly else S.CANCELLED
    return S.REJECTED


def record_send(conn: sqlite3.Connection, order_id: int, agent_id: int, notional: Decimal, nonce: int,
                request: dict, ts_ms: int) -> None:
    """A sent order's agent, notional (what the day limit counts), nonce and signed request."""
    conn.execute("UPDATE live_orders SET agent_id = ?, notional_micro = ?, nonce = ?, request_json = ?, sent_ms = ? "
                 "WHERE order_id = ?", (agent_id, to_micro(notional), nonce, json.dumps(request), ts_ms, order_id))


def note(conn: sqlite3.Connection, order_id: int, detail: str, ts_ms: int, oid: int | None = None,
         agent_id: int | None = None) -> None:
    """The refusal or the exchange's words, and the exchange's order id, on the live order's row."""
    conn.execute("UPDATE live_orders SET detail = ?, exchange_oid = COALESCE(?, exchange_oid), "
                 "agent_id = COALESCE(?, agent_id), updated_ms = ? WHERE order_id = ?",
                 (detail[:500], oid, agent_id, ts_ms, order_id))


def leverage(conn: sqlite3.Connection, order_id: int) -> Decimal:
    """The leverage the order's action asked for (1 if none)."""
    row = conn.execute("SELECT a.leverage FROM orders o LEFT JOIN decision_actions a USING (run_id) WHERE "
                       "o.order_id = ?", (order_id,)).fetchone()
    return dec(row[0]) if row and row[0] else Decimal(1)
