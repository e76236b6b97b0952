"""The exchange's record into ours, then a check: fills (`userFillsByTime`), funding (`userFunding`) and order
statuses (`orderStatus`) land in the same ledger, positions and execution events as paper fills (each fill a
`live_fill` event of the order lifecycle), marked as exchange fills with their exchange ids (source 'exchange',
trade ids in `live_fills`); then our positions are compared with `clearinghouseState`, and a difference fails
loudly (ReconciliationMismatch, and a failed row in `live_reconciliations`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from clash_pipeline.live import orders as live_orders
from clash_pipeline.live.agents import current_agent
from clash_pipeline.live.config import LIVE_CONTEXT
from clash_pipeline.live.execute import Venue, apply_order_status
from clash_pipeline.market.exchange_rules import dec
from clash_pipeline.memory.db import transaction
from clash_pipeline.orders import lifecycle
from clash_pipeline.orders.enums import EventKind
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.fills import Fill, Snapshot
from clash_pipeline.paper.positions import to_micro

log = logging.getLogger("clash_pipeline")


class ReconciliationMismatch(RuntimeError):
    """Our positions differ from the exchange's."""


@dataclass
class Reconciliation:
    clone_id: int
    fills: int
    funding: int
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


def reconcile(conn: sqlite3.Connection, clone_id: int, venue: Venue, raise_on_mismatch: bool = True
              ) -> Reconciliation:
    agent = current_agent(conn, clone_id)
    account = conn.execute("SELECT account_id, created_ms FROM paper_accounts WHERE clone_id = ? AND "
                           "context_label = ?", (clone_id, LIVE_CONTEXT)).fetchone()
    if agent is None or account is None:
        raise LookupError(f"clone {clone_id} has no live account (clash live connect, then approve)")
    account_id, since = account
    now, client, broker = venue.clock(), venue.client, Broker(conn)
    for (order_id,) in conn.execute(
            "SELECT l.order_id FROM live_orders l JOIN orders o USING (order_id) WHERE o.clone_id = ? AND l.state IN "
            f"({', '.join('?' * len(live_orders.UNSETTLED))})", (clone_id, *live_orders.UNSETTLED)).fetchall():
        order = lifecycle.load(conn, order_id)
        found = client.order_status(agent.owner, order.client_order_id)
        if found.get("status") == "order":
            apply_order_status(conn, order, found["order"], now)
    fills = _book_fills(conn, broker, account_id, client.user_fills_by_time(agent.owner, since, now))
    funding = _book_funding(conn, broker, account_id, client.user_funding(agent.owner, since, now))
    state = client.clearinghouse_state(agent.owner)
    ours = {coin: p.size for coin, p in broker.positions(account_id).items()}
    theirs = {p["position"]["coin"]: dec(p["position"]["szi"]) for p in state.get("assetPositions", [])
              if dec(p["position"]["szi"]) != 0}
    differences = [f"{coin}: ours {ours.get(coin, Decimal(0))}, exchange {theirs.get(coin, Decimal(0))}"
                   for coin in sorted(set(ours) | set(theirs)) if ours.get(coin, Decimal(0)) != theirs.get(coin,
                                                                                                      Decimal(0))]
    result = Reconciliation(clone_id, fills, funding, differences)
    with transaction(conn):
        _equity_point(conn, account_id, state, now)
        conn.execute("INSERT INTO live_reconciliations (clone_id, ts_ms, ok, fills, funding, detail) VALUES "
                     "(?, ?, ?, ?, ?, ?)", (clone_id, now, int(result.ok), fills, funding,
                                            "; ".join(differences) or "positions match"))
    if differences:
        message = f"clone {clone_id}: positions differ from the exchange's: {'; '.join(differences)}"
        log.error("live reconciliation failed: %s", message)
        if raise_on_mismatch:
            raise ReconciliationMismatch(message)
    return result


def _book_fills(conn: sqlite3.Connection, broker: Broker, account_id: int, fills: list[dict]) -> int:
    """New exchange fills of our orders, one paper fill per (order, time), each trade id recorded once."""
    known = {tid for (tid,) in conn.execute("SELECT tid FROM live_fills WHERE account_id = ?", (account_id,))}
    ours = {oid: (order_id, cloid) for order_id, oid, cloid in conn.execute(
        "SELECT l.order_id, l.exchange_oid, l.cloid FROM live_orders l JOIN orders o USING (order_id) JOIN "
        "paper_accounts a ON a.clone_id = o.clone_id WHERE a.account_id = ? AND l.exchange_oid IS NOT NULL",
        (account_id,))}
    by_cloid = {cloid: (order_id, oid) for oid, (order_id, cloid) in ours.items()}
    groups: dict[tuple[int, int, str], list[dict]] = defaultdict(list)
    for fill in fills:
        oid = fill["oid"] if fill["oid"] in ours else by_cloid.get(fill.get("cloid"), (None, None))[1]
        if fill["tid"] in known:
            continue
        if oid is None:
            log.warning("exchange fill %s (oid %s) is not from a live order of this clone", fill["tid"], fill["oid"])
            continue
        groups[oid, fill["time"], fill["coin"]].append(fill)
    booked = 0
    for (oid, time, coin), parts in sorted(groups.items(), key=lambda g: g[0][1]):
        order_id = ours[oid][0]
        size = sum(dec(f["sz"]) for f in parts)
        price = sum(dec(f["px"]) * dec(f["sz"]) for f in parts) / size
        kind, sz_decimals = conn.execute("SELECT kind, sz_decimals FROM hl_assets WHERE coin = ?", (coin,)).fetchone()
        fill = Fill("filled", size, price, "taker" if any(f["crossed"] for f in parts) else "maker",
                    sum(dec(f["fee"]) for f in parts), source="exchange",
                    notes=[f"exchange oid {oid}", "tids " + ",".join(str(f["tid"]) for f in parts),
                           f"hash {parts[0].get('hash')}"])
        side = "buy" if parts[0]["side"] == "B" else "sell"
        with transaction(conn):
            broker.book_fill(account_id, "order", coin, side, fill, Snapshot((), (), price, None, kind, sz_decimals,
                                                                             time), time, order_id,
                             live_orders.leverage(conn, order_id))
            fill_id = conn.execute("SELECT fill_id FROM paper_fills WHERE account_id = ? AND cause = 'order' AND "
                                   "coin = ? AND ts_ms = ?", (account_id, coin, time)).fetchone()[0]
            conn.executemany("INSERT INTO live_fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             [(f["tid"], account_id, fill_id, order_id, oid, coin, f.get("hash"), time) for f in parts])
            lifecycle.transition(conn, order_id, EventKind.LIVE_FILL, f"exchange fill {size} @ {price} (oid {oid}, "
                                 f"{len(parts)} trade(s))", time)
        booked += len(parts)
    return booked


def _book_funding(conn: sqlite3.Connection, broker: Broker, account_id: int, updates: list[dict]) -> int:
    """The exchange's hourly funding payments, each once (ref exchange:<coin>:<time>)."""
    applied = 0
    with transaction(conn):
        for update in updates:
            delta = update.get("delta", {})
            if delta.get("type") != "funding":
                continue
            applied += broker._ledger(  # the broker's ledger writer: the same idempotent (account, kind, ref) key
                account_id, "funding", f"exchange:{delta['coin']}:{update['time']}", to_micro(dec(delta["usdc"])),
                f"exchange funding {delta['szi']} {delta['coin']} x rate {delta['fundingRate']}", update["time"])
    return applied


def _equity_point(conn: sqlite3.Connection, account_id: int, state: dict, now: int) -> None:
    """The exchange's account value as the live account's equity point (what the drawdown gate reads)."""
    summary = state["marginSummary"]
    equity = to_micro(dec(summary["accountValue"]))
    unrealized = sum(to_micro(dec(p["position"].get("unrealizedPnl", "0"))) for p in state.get("assetPositions", []))
    balance, peak = conn.execute("SELECT balance_micro, MAX(peak_equity_micro, ?) FROM paper_accounts WHERE "
                                 "account_id = ?", (equity, account_id)).fetchone()
    conn.execute("UPDATE paper_accounts SET peak_equity_micro = ? WHERE account_id = ?", (peak, account_id))
    drawdown = float((peak - equity) / peak * 100) if peak > 0 else 0.0
    conn.execute("INSERT OR REPLACE INTO equity_curve VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (account_id, now, equity, balance, to_micro(dec(summary.get("totalMarginUsed", "0"))), unrealized,
                  drawdown, float(dec(summary.get("totalNtlPos", "0")))))
