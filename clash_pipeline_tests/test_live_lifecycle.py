"""One order lifecycle for paper and live: only `orders/lifecycle.py` writes `orders`, `execution_events` and a
live order's status; each live transition writes its status and exactly one event; an illegal one raises and
writes nothing, through the lifecycle and through the live adapter."""

from __future__ import annotations

import ast
import itertools
import re
from decimal import Decimal
from pathlib import Path

import pytest

import clash_pipeline
from clash_pipeline.live.config import LIVE_CONTEXT
from clash_pipeline.live.execute import apply_order_status
from clash_pipeline.memory.db import open_memory, transaction
from clash_pipeline.orders import lifecycle
from clash_pipeline.orders.enums import EventKind, OrderStatus, OrderType, Side
from clash_pipeline_tests.conftest import NOW_MS

S, E = OrderStatus, EventKind
PACKAGE = Path(clash_pipeline.__file__).parent
LIFECYCLE = PACKAGE / "orders" / "lifecycle.py"
WRITES = re.compile(r"\b(UPDATE|INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|DELETE\s+FROM)\s+(orders|execution_events)\b",
                    re.IGNORECASE)
STATUS_WRITES = re.compile(r"\bUPDATE\s+live_orders\s+SET\b[^;]*\bstate\s*=|\bINTO\s+live_orders\s*\([^)]*\bstate\b",
                           re.IGNORECASE)
# How a live order comes to each status it can be in: the events from open.
PATHS = {S.OPEN: [], S.REFUSED: [E.LIVE_REFUSED], S.SENT: [E.LIVE_SENT], S.UNKNOWN: [E.LIVE_SENT, E.LIVE_UNANSWERED],
         S.RESTING: [E.LIVE_SENT, E.RESTING], S.PARTIALLY_FILLED: [E.LIVE_SENT, E.PARTIALLY_FILLED],
         S.FILLED: [E.LIVE_SENT, E.FILLED], S.CANCELLED: [E.LIVE_SENT, E.CANCELLED],
         S.REJECTED: [E.LIVE_SENT, E.REJECTED]}
LIVE_ROWS = [(s, e) for s, e in lifecycle.TRANSITIONS if s is not S.OPEN or e in (E.LIVE_SENT, E.LIVE_REFUSED)]


def _sql(path: Path) -> list[str]:
    """Every string literal of a module (adjacent literals joined; an f-string's fields as '?')."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.JoinedStr):
            found.append("".join(v.value if isinstance(v, ast.Constant) else "?" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
    return found


def test_only_the_order_lifecycle_writes_orders_events_and_live_statuses():
    offenders = [f"{path.relative_to(PACKAGE)}: {text[:80]!r}" for path in sorted(PACKAGE.rglob("*.py"))
                 if path != LIFECYCLE for text in _sql(path) if WRITES.search(text) or STATUS_WRITES.search(text)]
    assert offenders == []
    own = " ".join(text for text in _sql(LIFECYCLE) if WRITES.search(text) or STATUS_WRITES.search(text))
    for write in ("UPDATE orders", "INSERT INTO orders", "INSERT INTO execution_events", "UPDATE live_orders SET state",
                  "INSERT INTO live_orders (order_id, cloid, state"):
        assert write in own  # the patterns do match the one writer's SQL


@pytest.fixture
def conn(trading_home):
    conn = open_memory(trading_home / "market_memory.sqlite")
    yield conn
    conn.close()


_ticks = itertools.count(1)


def _order_in(conn, status: OrderStatus) -> int:
    """A fresh live-exchange order, driven from open to `status` by live events."""
    with transaction(conn):
        run_id = conn.execute(
            "INSERT INTO decision_runs (clone_id, version, prompt_id, coin, tick_ms, context_label, status, engine, "
            "worker, claimed_ms) VALUES (1, 1, 'p', 'BTC', ?, ?, 'ordered', 'rules', 'w', 0) RETURNING run_id",
            (next(_ticks), LIVE_CONTEXT)).fetchone()[0]
        order_id = lifecycle.create_order(conn, lifecycle.NewOrder(run_id, 1, "BTC", Side.BUY, Decimal("0.01"),
                                                                   OrderType.MARKET, f"0x{run_id:032x}"), NOW_MS)
        for event in PATHS[status]:
            lifecycle.transition(conn, order_id, event, f"on the way: {event}", NOW_MS)
    assert lifecycle.status(conn, order_id) is status
    return order_id


def _tables(conn) -> list[list[tuple]]:
    return [conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("orders", "live_orders", "execution_events")]


def _statuses(conn, order_id: int) -> tuple[str, str | None]:
    return conn.execute("SELECT o.status, l.state FROM orders o LEFT JOIN live_orders l USING (order_id) WHERE "
                        "o.order_id = ?", (order_id,)).fetchone()


def test_each_live_transition_writes_its_status_and_exactly_one_event(conn):
    assert {s for s, _ in lifecycle.TRANSITIONS} <= set(PATHS)  # every status a row starts from is reached here
    for current, event in LIVE_ROWS:
        order_id = _order_in(conn, current)
        run_id = conn.execute("SELECT run_id FROM orders WHERE order_id = ?", (order_id,)).fetchone()[0]
        before = lifecycle.events(conn, run_id)
        new = lifecycle.transition(conn, order_id, event, f"{current} + {event}", NOW_MS + 1)
        assert new is lifecycle.TRANSITIONS[current, event]
        assert lifecycle.events(conn, run_id) == before + [(event, f"{current} + {event}")], (current, event)
        assert _statuses(conn, order_id) == (new.recorded, new), (current, event)
    refused = _order_in(conn, S.REFUSED)  # refused by a live gate: rejected in `orders`, refused on its live row
    assert _statuses(conn, refused) == ("rejected", "refused")
    assert conn.execute("SELECT cloid, notional_micro, created_ms FROM live_orders WHERE order_id = ?",
                        (refused,)).fetchone() == (f"0x{refused:032x}", 0, NOW_MS)


def test_an_illegal_live_transition_raises_and_writes_nothing(conn):
    filled = _order_in(conn, S.FILLED)
    before = _tables(conn)
    with pytest.raises(lifecycle.IllegalTransition, match=f"order {filled} is filled: order_resting is not allowed "
                                                          r"\(allowed: live_fill\)"):
        lifecycle.transition(conn, filled, E.RESTING, "late", NOW_MS)
    assert _tables(conn) == before
    for current in PATHS:
        for event in E:
            if (current, event) in lifecycle.TRANSITIONS:
                continue
            order_id = _order_in(conn, current)
            before = _tables(conn)
            with pytest.raises(lifecycle.IllegalTransition, match=f"is {current}: {event} is not allowed"):
                lifecycle.transition(conn, order_id, event, "illegal", NOW_MS + 1)
            assert _tables(conn) == before, (current, event)


def test_the_live_adapter_reports_the_exchange_through_the_lifecycle(conn):
    sent = _order_in(conn, S.SENT)
    order = lifecycle.load(conn, sent)
    assert (order.order_id, order.side, order.order_type, order.size) == (sent, Side.BUY, OrderType.MARKET,
                                                                          Decimal("0.01"))
    found = {"status": "filled", "order": {"oid": 77, "origSz": "0.01", "sz": "0.0"}}
    assert apply_order_status(conn, order, found, NOW_MS + 1) is S.FILLED
    kinds = [k for k, _ in lifecycle.events(conn, order.run_id)]
    assert kinds == ["order_created", "live_sent", "order_filled"] and _statuses(conn, sent) == ("filled", "filled")
    assert conn.execute("SELECT exchange_oid, detail FROM live_orders WHERE order_id = ?", (sent,)).fetchone() == \
        (77, "orderStatus: filled")
    assert apply_order_status(conn, order, found, NOW_MS + 2) is S.FILLED  # said again: no second event
    assert len(lifecycle.events(conn, order.run_id)) == 3
    before = _tables(conn)  # a filled order the exchange says is open again: refused, nothing written
    with pytest.raises(lifecycle.IllegalTransition, match="is filled: order_resting is not allowed"):
        apply_order_status(conn, order, {"status": "open", "order": {"oid": 78, "origSz": "0.01", "sz": "0.01"}},
                           NOW_MS + 3)
    assert _tables(conn) == before
