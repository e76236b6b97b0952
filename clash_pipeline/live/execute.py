"""A gated verdict as one live order on the exchange, sent once.

Before sending, the live-only gates (recorded with the run's other verdicts): the agent is approved and unexpired,
the order's notional is within the live per-order and per-day limits, the account (clearinghouseState) has the value
and free margin for it, and no kill switch is engaged: that last check runs in the transaction that signs the order,
right before it goes out. The client order id is the runtime's deterministic `client_order_id`: a retry never
sends a second order. A timeout after sending asks `orderStatus` by cloid; an order the exchange does not know is
resent as the very same signed request (same nonce), which the exchange applies at most once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from clash_pipeline.live import signing
from clash_pipeline.live.agents import Agent, AgentStatus, _end, agent_by_id, next_nonce, trading_agent
from clash_pipeline.live.client import ExchangeClient, ExchangeError, ExchangeTimeout
from clash_pipeline.live.config import LiveConfig
from clash_pipeline.live.keystore import Keystore
from clash_pipeline.live.orders import ORDER_STATUS, LiveOrderState, check_transition, state_of_status
from clash_pipeline.market.exchange_rules import dec, round_price
from clash_pipeline.memory.db import transaction
from clash_pipeline.paper.positions import from_micro, to_micro
from clash_pipeline.timeutil import DAY_MS, now_ms

log = logging.getLogger("clash_pipeline")
S = LiveOrderState
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


@dataclass(frozen=True)
class LiveOrder:
    order_id: int
    run_id: int
    clone_id: int
    coin: str
    side: str
    size: Decimal
    price: Decimal | None
    order_type: str
    reduce_only: bool
    take_profit: Decimal | None
    stop_loss: Decimal | None
    cloid: str
    leverage: Decimal


def load_order(conn: sqlite3.Connection, order_id: int) -> LiveOrder:
    row = conn.execute(
        "SELECT o.order_id, o.run_id, o.clone_id, o.coin, o.side, o.size, o.price, o.order_type, o.reduce_only, "
        "o.take_profit, o.stop_loss, o.client_order_id, a.leverage FROM orders o LEFT JOIN decision_actions a "
        "USING (run_id) WHERE o.order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise LookupError(f"no order {order_id}")
    *head, size, price, kind, reduce_only, tp, sl, cloid, leverage = row
    return LiveOrder(*head, dec(size), _d(price), kind, bool(reduce_only), _d(tp), _d(sl), cloid,
                     dec(leverage) if leverage else Decimal(1))


def execute_live(conn: sqlite3.Connection, order_id: int, venue: Venue) -> LiveOrderState:
    """Send a recorded order (`orders` row of a live-exchange run) to the exchange once; its live state after."""
    order = load_order(conn, order_id)
    row = conn.execute("SELECT state FROM live_orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is not None:
        state = S(row[0])
        return _resume(conn, order, venue) if state in (S.SENT, S.UNKNOWN, S.PENDING) else state
    now = venue.clock()
    agent, why = trading_agent(conn, order.clone_id, now, venue.config.network.value)
    with transaction(conn):
        conn.execute("INSERT INTO live_orders (order_id, agent_id, cloid, state, notional_micro, created_ms, "
                     "updated_ms) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
                     (order_id, agent.agent_id if agent else None, order.cloid, now, now))
    if agent is None:
        return _refuse(conn, order, [("live_agent", False, why)], now)
    try:
        asset, kind, sz_decimals = conn.execute("SELECT asset_id, kind, sz_decimals FROM hl_assets WHERE coin = ?",
                                                (order.coin,)).fetchone()
        mid = dec(venue.client.all_mids()[order.coin])
        account = venue.client.clearinghouse_state(agent.owner)
    except (ExchangeError, KeyError, TypeError) as error:
        return _refuse(conn, order, [("live_account", False, f"the exchange's account or price is unavailable: "
                                      f"{error}")], now)
    price = order.price if order.order_type == "limit" else round_price(
        mid * (1 + venue.config.slippage if order.side == "buy" else 1 - venue.config.slippage), kind, sz_decimals,
        up=order.side == "sell")
    notional = order.size * (order.price or mid)
    verdicts = [("live_agent", True, f"agent {agent.address} approved by {agent.owner}")]
    verdicts += _limit_verdicts(conn, order, notional, now, venue.config)
    verdicts.append(_account_verdict(account, order, notional))
    if not all(ok for _, ok, _ in verdicts):
        return _refuse(conn, order, verdicts, now)
    try:
        wires = [signing.order_wire(asset, order.side == "buy", order.size, price, order.reduce_only, order.cloid,
                                    "Gtc" if order.order_type == "limit" else "Ioc")]
        for target, tpsl in ((order.take_profit, "tp"), (order.stop_loss, "sl")):
            if target is not None:  # the brackets: reduce-only market triggers on the other side
                wires.append(signing.order_wire(asset, order.side != "buy", order.size, target, True, None,
                                                trigger=(target, tpsl)))
    except (ValueError, TypeError) as error:  # not representable exactly on the wire: never rounded silently
        return _refuse(conn, order, verdicts + [("live_wire", False, f"not sendable exactly: {error}")], now)
    action = signing.order_action(wires, "normalTpsl" if len(wires) > 1 else "na")
    with transaction(conn):  # the kill switch, read right before the order is signed and sent
        switch = engaged_switch(conn, order.clone_id)
        if switch is None:
            nonce = next_nonce(conn, agent.agent_id, now)
            body = signing.signed_request(agent.key(venue.keystore), action, nonce, venue.config.mainnet)
            conn.execute("UPDATE live_orders SET state = 'sent', notional_micro = ?, nonce = ?, request_json = ?, "
                         "sent_ms = ?, updated_ms = ? WHERE order_id = ? AND state = 'pending'",
                         (to_micro(notional), nonce, json.dumps(body), now, now, order_id))
            _gates(conn, order.run_id, verdicts + [("kill_switch_at_send", True, "no kill switch engaged at send")])
    if switch is not None:
        return _refuse(conn, order, verdicts + [("kill_switch_at_send", False,
                                                 f"kill switch engaged at send: {switch}")], now)
    _event(conn, order, "live_sent", f"{order.side} {order.size} {order.coin} @ {price} "
                                     f"({'Gtc' if order.order_type == 'limit' else 'Ioc'}, cloid {order.cloid}, "
                                     f"nonce {nonce})", now)
    return _send(conn, order, agent, body, venue)


def _send(conn: sqlite3.Connection, order: LiveOrder, agent: Agent, body: dict, venue: Venue) -> LiveOrderState:
    try:
        answer = venue.client.exchange(body)
    except ExchangeTimeout as error:
        _move(conn, order, S.UNKNOWN, str(error), venue.clock())
        return _resume(conn, order, venue, resend=False)
    except ExchangeError as error:
        _move(conn, order, S.UNKNOWN, str(error), venue.clock())
        return S.UNKNOWN
    return _apply_answer(conn, order, agent, answer, venue.clock())


def _resume(conn: sqlite3.Connection, order: LiveOrder, venue: Venue, resend: bool = True) -> LiveOrderState:
    """An order sent without a known outcome: ask orderStatus by cloid first; resend the same signed request only
    if the exchange does not know it (the same nonce: applied at most once)."""
    state, request, agent_id = conn.execute("SELECT state, request_json, agent_id FROM live_orders WHERE order_id = ?",
                                            (order.order_id,)).fetchone()
    if state == S.PENDING:  # died before signing: nothing went out; the gates run again from the start
        with transaction(conn):
            conn.execute("DELETE FROM live_orders WHERE order_id = ? AND state = 'pending'", (order.order_id,))
        return execute_live(conn, order.order_id, venue)
    agent = agent_by_id(conn, agent_id)
    try:
        status = venue.client.order_status(agent.owner, order.cloid)
    except ExchangeError as error:
        log.warning("orderStatus of %s failed: %s (reconciliation asks again)", order.cloid, error)
        return S(state)
    if status.get("status") == "order":
        return apply_order_status(conn, order, status["order"], venue.clock())
    if not resend or agent.status is not AgentStatus.APPROVED or engaged_switch(conn, order.clone_id):
        return S(state)  # never resend for a revoked agent or under a kill switch: reconciliation keeps asking
    try:
        answer = venue.client.exchange(json.loads(request))
    except ExchangeError as error:
        log.warning("resending %s failed: %s (reconciliation asks again)", order.cloid, error)
        return S(state)
    if "duplicate nonce" in str(answer.get("response")):  # the first send landed meanwhile
        return _resume(conn, order, venue, resend=False)
    return _apply_answer(conn, order, agent, answer, venue.clock())


def apply_order_status(conn: sqlite3.Connection, order: LiveOrder, found: dict, now: int) -> LiveOrderState:
    """orderStatus's answer for the order: its state and exchange id."""
    placed = found.get("order", {})
    state = state_of_status(found.get("status", ""), placed.get("origSz"), placed.get("sz"))
    _move(conn, order, state, f"orderStatus: {found.get('status')}", now, placed.get("oid"))
    return state


def _apply_answer(conn: sqlite3.Connection, order: LiveOrder, agent: Agent, answer: dict, now: int) -> LiveOrderState:
    if answer.get("status") != "ok":
        text = str(answer.get("response"))
        if UNKNOWN_AGENT in text:  # the owner removed the agent on the exchange: it is revoked here too
            with transaction(conn):
                _end(conn, agent.agent_id, AgentStatus.REVOKED, f"the exchange refused it: {text}", now)
        _move(conn, order, S.REJECTED, f"exchange: {text}", now)
        _event(conn, order, "order_rejected", f"exchange: {text}", now)
        return S.REJECTED
    statuses = answer["response"]["data"]["statuses"]
    first, brackets = statuses[0], statuses[1:]
    extra = f"; brackets: {', '.join(map(str, brackets))}" if brackets else ""
    if "error" in first:
        _move(conn, order, S.REJECTED, f"exchange: {first['error']}{extra}", now)
        _event(conn, order, "order_rejected", f"exchange: {first['error']}", now)
        return S.REJECTED
    if "filled" in first:
        filled = first["filled"]
        state = S.FILLED if dec(filled["totalSz"]) == order.size else S.PARTIALLY_FILLED
        _move(conn, order, state, f"filled {filled['totalSz']} @ {filled['avgPx']}{extra}", now, filled["oid"])
        _event(conn, order, "live_accepted", f"exchange oid {filled['oid']}: filled {filled['totalSz']} @ "
                                             f"{filled['avgPx']}{extra}", now)
        return state
    oid = first["resting"]["oid"]
    _move(conn, order, S.RESTING, f"resting{extra}", now, oid)
    _event(conn, order, "live_accepted", f"exchange oid {oid}: resting{extra}", now)
    return S.RESTING


def engaged_switch(conn: sqlite3.Connection, clone_id: int) -> str | None:
    """The engaged kill switch (global or the clone's) as "scope: reason", if any."""
    row = conn.execute("SELECT scope || ': ' || COALESCE(reason, '') FROM kill_switches WHERE engaged = 1 AND "
                       "scope IN ('global', ?) ORDER BY scope LIMIT 1", (f"clone:{clone_id}",)).fetchone()
    return row[0] if row else None


def _limit_verdicts(conn: sqlite3.Connection, order: LiveOrder, notional: Decimal, now: int,
                    config: LiveConfig) -> list[tuple[str, bool, str]]:
    day_start = now - now % DAY_MS
    (spent,) = conn.execute(
        "SELECT COALESCE(SUM(l.notional_micro), 0) FROM live_orders l JOIN orders o USING (order_id) WHERE "
        "o.clone_id = ? AND l.state NOT IN ('pending', 'refused', 'rejected') AND l.created_ms >= ?",
        (order.clone_id, day_start)).fetchone()
    day = from_micro(spent) + notional
    when = datetime.fromtimestamp(day_start / 1000, UTC).date().isoformat()
    return [("live_order_notional", notional <= config.max_order_usd,
             f"live order {notional:.2f} USD (limit {config.max_order_usd} USD)"),
            ("live_day_notional", day <= config.max_day_usd,
             f"live orders {day:.2f} USD on {when} with this one (limit {config.max_day_usd} USD)")]


def _account_verdict(account: dict, order: LiveOrder, notional: Decimal) -> tuple[str, bool, str]:
    value = dec(account["marginSummary"]["accountValue"])
    free = dec(account.get("withdrawable", "0"))
    needed = Decimal(0) if order.reduce_only else notional / order.leverage
    return ("live_account", value > 0 and needed <= free,
            f"account value {value:.2f} USD, free margin {free:.2f} USD, this order needs {needed:.2f} USD "
            f"at leverage {order.leverage}")


def _refuse(conn: sqlite3.Connection, order: LiveOrder, verdicts: list[tuple[str, bool, str]], now: int
            ) -> LiveOrderState:
    failed = "; ".join(f"{gate}: {why}" for gate, ok, why in verdicts if not ok)
    with transaction(conn):
        _gates(conn, order.run_id, verdicts)
    _move(conn, order, S.REFUSED, failed, now)
    _event(conn, order, "live_refused", failed, now)
    log.warning("live order %s of clone %s refused: %s", order.cloid, order.clone_id, failed)
    return S.REFUSED


def _move(conn: sqlite3.Connection, order: LiveOrder, new: LiveOrderState, detail: str, now: int,
          oid: int | None = None) -> None:
    with transaction(conn):
        (current,) = conn.execute("SELECT state FROM live_orders WHERE order_id = ?", (order.order_id,)).fetchone()
        if not check_transition(S(current), new) and oid is None:
            return
        conn.execute("UPDATE live_orders SET state = ?, detail = ?, exchange_oid = COALESCE(?, exchange_oid), "
                     "updated_ms = ? WHERE order_id = ?", (new.value, detail[:500], oid, now, order.order_id))
        if new in ORDER_STATUS:
            conn.execute("UPDATE orders SET status = ? WHERE order_id = ?", (ORDER_STATUS[new], order.order_id))


def _gates(conn: sqlite3.Connection, run_id: int, verdicts: list[tuple[str, bool, str]]) -> None:
    conn.executemany("INSERT OR REPLACE INTO decision_gates VALUES (?, ?, ?, ?)",
                     [(run_id, gate, int(ok), why) for gate, ok, why in verdicts])


def _event(conn: sqlite3.Connection, order: LiveOrder, kind: str, detail: str, now: int) -> None:
    with transaction(conn):
        conn.execute("INSERT INTO execution_events (run_id, order_id, kind, detail, created_ms) VALUES "
                     "(?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (order.run_id, order.order_id, kind, detail[:500], now))


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
