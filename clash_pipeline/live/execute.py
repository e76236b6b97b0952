"""A gated verdict as one live order on the exchange, sent once.

Before sending, the live-only gates (recorded with the run's other verdicts): the agent is approved and unexpired,
the order's notional is within the live per-order and per-day limits, the account (clearinghouseState) has the value
and free margin for it, and no kill switch is engaged: that last check runs in the transaction that signs the order,
right before it goes out. The client order id is the runtime's deterministic `client_order_id`: a retry never
sends a second order. A timeout after sending asks `orderStatus` by cloid; an order the exchange does not know is
resent as the very same signed request (same nonce), which the exchange applies at most once. Every status and
event goes through the order lifecycle (`clash_pipeline.orders.lifecycle`), with the order's exchange side
(`live.orders`) in the same transaction.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from clash_pipeline.live import orders as live_orders
from clash_pipeline.live import signing
from clash_pipeline.live.agents import Agent, AgentStatus, _end, agent_by_id, next_nonce, trading_agent
from clash_pipeline.live.client import ExchangeClient, ExchangeError, ExchangeTimeout
from clash_pipeline.live.config import LiveConfig
from clash_pipeline.live.keystore import Keystore
from clash_pipeline.market.exchange_rules import dec, round_price
from clash_pipeline.memory.db import transaction
from clash_pipeline.orders import lifecycle
from clash_pipeline.orders.enums import EventKind, OrderStatus, OrderType, Side
from clash_pipeline.orders.lifecycle import Order
from clash_pipeline.paper.positions import from_micro
from clash_pipeline.timeutil import DAY_MS, now_ms

log = logging.getLogger("clash_pipeline")
S = OrderStatus
UNKNOWN_AGENT = "does not exist"  # the exchange's "User or API Wallet 0x... does not exist."


@dataclass(frozen=True)
class Venue:
    """Where and how live orders go: the exchange, the deployment's live settings, the key store, the clock."""

    client: ExchangeClient
    config: LiveConfig
    keystore: Keystore
    clock: Callable[[], int] = now_ms


def venue_from_env(env: dict[str, str] | None = None) -> Venue:
    """The deployment's venue; LiveDisabled or KeystoreError (naming the setting) before any work."""
    from clash_pipeline import timeutil
    from clash_pipeline.live.config import load_live_config

    config = load_live_config(env)
    keystore = Keystore.from_env(env)
    return Venue(ExchangeClient(config.api_url, config.timeout_s), config, keystore, lambda: timeutil.now_ms())


def execute_live(conn: sqlite3.Connection, order_id: int, venue: Venue) -> OrderStatus:
    """Send a recorded order (`orders` row of a live-exchange run) to the exchange once; its status after."""
    order = lifecycle.load(conn, order_id)
    current = lifecycle.status(conn, order_id)
    if current in (S.SENT, S.UNKNOWN):
        return _resume(conn, order, venue)
    if current is not S.OPEN:
        return current
    now = venue.clock()
    agent, why = trading_agent(conn, order.clone_id, now, venue.config.network.value)
    if agent is None:
        return _refuse(conn, order, None, [("live_agent", False, why)], now)
    try:
        asset, kind, sz_decimals = conn.execute("SELECT asset_id, kind, sz_decimals FROM hl_assets WHERE coin = ?",
                                                (order.coin,)).fetchone()
        mid = dec(venue.client.all_mids()[order.coin])
        account = venue.client.clearinghouse_state(agent.owner)
    except (ExchangeError, KeyError, TypeError) as error:
        return _refuse(conn, order, agent, [("live_account", False, f"the exchange's account or price is "
                                             f"unavailable: {error}")], now)
    buy, tif = order.side is Side.BUY, "Gtc" if order.order_type is OrderType.LIMIT else "Ioc"
    price = order.price if order.order_type is OrderType.LIMIT else round_price(
        mid * (1 + venue.config.slippage if buy else 1 - venue.config.slippage), kind, sz_decimals, up=not buy)
    notional = order.size * (order.price or mid)
    verdicts = [("live_agent", True, f"agent {agent.address} approved by {agent.owner}")]
    verdicts += _limit_verdicts(conn, order, notional, now, venue.config)
    verdicts.append(_account_verdict(account, order, notional, live_orders.leverage(conn, order_id)))
    if not all(ok for _, ok, _ in verdicts):
        return _refuse(conn, order, agent, verdicts, now)
    try:
        wires = [signing.order_wire(asset, buy, order.size, price, order.reduce_only, order.client_order_id, tif)]
        for target, tpsl in ((order.take_profit, "tp"), (order.stop_loss, "sl")):
            if target is not None:  # the brackets: reduce-only market triggers on the other side
                wires.append(signing.order_wire(asset, not buy, order.size, target, True, None,
                                                trigger=(target, tpsl)))
    except (ValueError, TypeError) as error:  # not representable exactly on the wire: never rounded silently
        return _refuse(conn, order, agent, verdicts + [("live_wire", False, f"not sendable exactly: {error}")], now)
    action = signing.order_action(wires, "normalTpsl" if len(wires) > 1 else "na")
    with transaction(conn):  # the kill switch, read right before the order is signed and sent
        switch = engaged_switch(conn, order.clone_id)
        if switch is None:
            nonce = next_nonce(conn, agent.agent_id, now)
            body = signing.signed_request(agent.key(venue.keystore), action, nonce, venue.config.mainnet)
            lifecycle.transition(conn, order_id, EventKind.LIVE_SENT, f"{order.side} {order.size} {order.coin} @ "
                                 f"{price} ({tif}, cloid {order.client_order_id}, nonce {nonce})", now)
            live_orders.record_send(conn, order_id, agent.agent_id, notional, nonce, body, now)
            _gates(conn, order.run_id, verdicts + [("kill_switch_at_send", True, "no kill switch engaged at send")])
    if switch is not None:
        return _refuse(conn, order, agent, verdicts + [("kill_switch_at_send", False,
                                                        f"kill switch engaged at send: {switch}")], now)
    return _send(conn, order, agent, body, venue)


def _send(conn: sqlite3.Connection, order: Order, agent: Agent, body: dict, venue: Venue) -> OrderStatus:
    try:
        answer = venue.client.exchange(body)
    except ExchangeTimeout as error:
        _unanswered(conn, order, str(error), venue.clock())
        return _resume(conn, order, venue, resend=False)
    except ExchangeError as error:
        _unanswered(conn, order, str(error), venue.clock())
        return S.UNKNOWN
    return _apply_answer(conn, order, agent, answer, venue.clock())


def _resume(conn: sqlite3.Connection, order: Order, venue: Venue, resend: bool = True) -> OrderStatus:
    """An order sent without a known outcome: ask orderStatus by cloid first; resend the same signed request only
    if the exchange does not know it (the same nonce: applied at most once)."""
    current = lifecycle.status(conn, order.order_id)
    request, agent_id = conn.execute("SELECT request_json, agent_id FROM live_orders WHERE order_id = ?",
                                     (order.order_id,)).fetchone()
    agent = agent_by_id(conn, agent_id)
    try:
        found = venue.client.order_status(agent.owner, order.client_order_id)
    except ExchangeError as error:
        log.warning("orderStatus of %s failed: %s (reconciliation asks again)", order.client_order_id, error)
        return current
    if found.get("status") == "order":
        return apply_order_status(conn, order, found["order"], venue.clock())
    if not resend or agent.status is not AgentStatus.APPROVED or engaged_switch(conn, order.clone_id):
        return current  # never resend for a revoked agent or under a kill switch: reconciliation keeps asking
    try:
        answer = venue.client.exchange(json.loads(request))
    except ExchangeError as error:
        log.warning("resending %s failed: %s (reconciliation asks again)", order.client_order_id, error)
        return current
    if "duplicate nonce" in str(answer.get("response")):  # the first send landed meanwhile
        return _resume(conn, order, venue, resend=False)
    return _apply_answer(conn, order, agent, answer, venue.clock())


def apply_order_status(conn: sqlite3.Connection, order: Order, found: dict, now: int) -> OrderStatus:
    """orderStatus's answer for the order: its status and exchange id."""
    placed = found.get("order", {})
    reported = live_orders.reported_status(found.get("status", ""), placed.get("origSz"), placed.get("sz"))
    return _report(conn, order, reported, f"orderStatus: {found.get('status')}", now, placed.get("oid"))


def _apply_answer(conn: sqlite3.Connection, order: Order, agent: Agent, answer: dict, now: int) -> OrderStatus:
    if answer.get("status") != "ok":
        text = str(answer.get("response"))
        if UNKNOWN_AGENT in text:  # the owner removed the agent on the exchange: it is revoked here too
            with transaction(conn):
                _end(conn, agent.agent_id, AgentStatus.REVOKED, f"the exchange refused it: {text}", now)
        return _report(conn, order, S.REJECTED, f"exchange: {text}", now)
    statuses = answer["response"]["data"]["statuses"]
    first, brackets = statuses[0], statuses[1:]
    extra = f"; brackets: {', '.join(map(str, brackets))}" if brackets else ""
    if "error" in first:
        return _report(conn, order, S.REJECTED, f"exchange: {first['error']}{extra}", now)
    if "filled" in first:
        filled = first["filled"]
        reported = S.FILLED if dec(filled["totalSz"]) == order.size else S.PARTIALLY_FILLED
        return _report(conn, order, reported, f"exchange oid {filled['oid']}: filled {filled['totalSz']} @ "
                                              f"{filled['avgPx']}{extra}", now, filled["oid"])
    oid = first["resting"]["oid"]
    return _report(conn, order, S.RESTING, f"exchange oid {oid}: resting{extra}", now, oid)


def engaged_switch(conn: sqlite3.Connection, clone_id: int) -> str | None:
    """The engaged kill switch (global or the clone's) as "scope: reason", if any."""
    row = conn.execute("SELECT scope || ': ' || COALESCE(reason, '') FROM kill_switches WHERE engaged = 1 AND "
                       "scope IN ('global', ?) ORDER BY scope LIMIT 1", (f"clone:{clone_id}",)).fetchone()
    return row[0] if row else None


def _limit_verdicts(conn: sqlite3.Connection, order: Order, notional: Decimal, now: int,
                    config: LiveConfig) -> list[tuple[str, bool, str]]:
    day_start = now - now % DAY_MS
    (spent,) = conn.execute(
        "SELECT COALESCE(SUM(l.notional_micro), 0) FROM live_orders l JOIN orders o USING (order_id) WHERE "
        "o.clone_id = ? AND l.state NOT IN (?, ?) AND l.created_ms >= ?",
        (order.clone_id, S.REFUSED, S.REJECTED, day_start)).fetchone()
    day = from_micro(spent) + notional
    when = datetime.fromtimestamp(day_start / 1000, UTC).date().isoformat()
    return [("live_order_notional", notional <= config.max_order_usd,
             f"live order {notional:.2f} USD (limit {config.max_order_usd} USD)"),
            ("live_day_notional", day <= config.max_day_usd,
             f"live orders {day:.2f} USD on {when} with this one (limit {config.max_day_usd} USD)")]


def _account_verdict(account: dict, order: Order, notional: Decimal, leverage: Decimal) -> tuple[str, bool, str]:
    value = dec(account["marginSummary"]["accountValue"])
    free = dec(account.get("withdrawable", "0"))
    needed = Decimal(0) if order.reduce_only else notional / leverage
    return ("live_account", value > 0 and needed <= free,
            f"account value {value:.2f} USD, free margin {free:.2f} USD, this order needs {needed:.2f} USD "
            f"at leverage {leverage}")


def _refuse(conn: sqlite3.Connection, order: Order, agent: Agent | None, verdicts: list[tuple[str, bool, str]],
            now: int) -> OrderStatus:
    """A live gate refused the order before it was sent: the gates, the refusal and its event, together."""
    failed = "; ".join(f"{gate}: {why}" for gate, ok, why in verdicts if not ok)
    with transaction(conn):
        _gates(conn, order.run_id, verdicts)
        lifecycle.transition(conn, order.order_id, EventKind.LIVE_REFUSED, failed[:500], now)
        live_orders.note(conn, order.order_id, failed, now, agent_id=agent.agent_id if agent else None)
    log.warning("live order %s of clone %s refused: %s", order.client_order_id, order.clone_id, failed)
    return S.REFUSED


def _unanswered(conn: sqlite3.Connection, order: Order, error: str, now: int) -> None:
    """Sent, and the answer was lost: unknown until orderStatus tells."""
    with transaction(conn):
        lifecycle.transition(conn, order.order_id, EventKind.LIVE_UNANSWERED, error[:500], now)
        live_orders.note(conn, order.order_id, error, now)


def _report(conn: sqlite3.Connection, order: Order, reported: OrderStatus, detail: str, now: int,
            oid: int | None = None) -> OrderStatus:
    """What the exchange says of the order, in one transaction: the event that reports its status (none if the
    order has that status already), and the exchange's words and order id on its live row."""
    with transaction(conn):
        current = lifecycle.status(conn, order.order_id)
        if current != reported:
            lifecycle.transition(conn, order.order_id, live_orders.REPORTED[reported], detail[:500], now)
        elif oid is None:
            return current
        live_orders.note(conn, order.order_id, detail, now, oid)
    return reported


def _gates(conn: sqlite3.Connection, run_id: int, verdicts: list[tuple[str, bool, str]]) -> None:
    conn.executemany("INSERT OR REPLACE INTO decision_gates VALUES (?, ?, ?, ?)",
                     [(run_id, gate, int(ok), why) for gate, ok, why in verdicts])
