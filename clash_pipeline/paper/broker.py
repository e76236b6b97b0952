"""The paper broker: books fills into positions and the ledger, accrues funding, and marks accounts to market.

Every money movement is a ledger event (deposit, fill, fee, funding, realized PnL, liquidation) written in the
caller's transaction with what caused it, and keyed (account, kind, ref) so that a retry applies nothing twice.
An account's balance is always the sum of its ledger, to the micro-USDC.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from clash_pipeline.market.exchange_rules import dec
from clash_pipeline.memory.db import insert_new, next_ids, transaction
from clash_pipeline.orders import lifecycle
from clash_pipeline.orders.enums import EventKind
from clash_pipeline.paper.fills import Fill, FillConfig, OrderSpec, Snapshot, fill_order, fill_resting
from clash_pipeline.paper.market import last_price, oracle_price, snapshot
from clash_pipeline.paper.positions import (
    Position,
    apply_fill,
    from_micro,
    funding_payment,
    maintenance_margin,
    shown_price,
    to_micro,
)
from clash_pipeline.strategy.reads import SqlReader
from clash_pipeline.timeutil import HOUR_MS

DEFAULT_EQUITY_USD = Decimal(10_000)
DRAWDOWN_STOP_PCT = Decimal(25)


@dataclass(slots=True)
class Booking:
    """A fill to book: into which account, why (an order, a stop, a liquidation), and the position's new bounds."""

    account_id: int
    cause: str
    coin: str
    side: str
    fill: Fill
    snap: Snapshot
    ts_ms: int
    order_id: int | None = None
    leverage: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass
class MarkResult:
    account_id: int
    equity: Decimal
    drawdown_pct: Decimal
    closed: list[str]
    funding_events: int


class Broker:
    def __init__(self, conn: sqlite3.Connection, config: FillConfig = FillConfig(),
                 drawdown_stop_pct: Decimal = DRAWDOWN_STOP_PCT, reader: SqlReader | None = None) -> None:
        self.conn, self.config, self.drawdown_stop_pct = conn, config, drawdown_stop_pct
        self.reader = reader or SqlReader(conn)  # how prices are read (a backtest's read-ahead)
        self._leverage: dict[str, int] = {}
        self._accounts: dict[tuple[int, str], int] = {}  # accounts seen committed (never those opened just now)
        self._prices: tuple[int, dict[str, Decimal | None]] = (0, {})  # the last prices of one time, by coin

    # -- accounts ---------------------------------------------------------------------------------------------
    def account(self, clone_id: int, context: str, ts_ms: int,
                starting_usd: Decimal | float = DEFAULT_EQUITY_USD) -> int:
        """The account of a clone in a run context, opened with its deposit on first use (caller's transaction)."""
        if (clone_id, context) in self._accounts:
            return self._accounts[clone_id, context]
        row = self.conn.execute("SELECT account_id FROM paper_accounts WHERE clone_id = ? AND context_label = ?",
                                (clone_id, context)).fetchone()
        if row:  # remembered only once read back: an account opened in a transaction that rolls back is not
            self._accounts[clone_id, context] = row[0]
            return row[0]
        starting_usd = dec(starting_usd)
        amount = to_micro(starting_usd)
        account_id = self.conn.execute(
            "INSERT INTO paper_accounts (clone_id, context_label, starting_micro, balance_micro, peak_equity_micro, "
            "funded_to_ms, created_ms) VALUES (?, ?, ?, 0, ?, ?, ?) RETURNING account_id",
            (clone_id, context, amount, amount, ts_ms - ts_ms % HOUR_MS, ts_ms)).fetchone()[0]
        self._ledger(account_id, "deposit", "account", amount, f"starting equity {starting_usd} USDC", ts_ms)
        return account_id

    def positions(self, account_id: int, coin: str | None = None) -> dict[str, Position]:
        """Open positions of an account (or just its position in `coin`, looked up by primary key)."""
        columns = f"SELECT {_POSITION_COLUMNS} FROM paper_positions WHERE "
        rows = self.conn.execute(columns + "account_id = ? AND size != '0'", (account_id,)).fetchall() \
            if coin is None else self.conn.execute(columns + "account_id = ? AND coin = ? AND size != '0'",
                                                   (account_id, coin)).fetchall()
        return {row[0]: _position(*row) for row in rows}

    def _ledger(self, account_id: int, kind: str, ref: str, amount: int, detail: str, ts_ms: int) -> bool:
        """One ledger event and its effect on the balance; nothing if that (account, kind, ref) exists."""
        return self._ledger_many(account_id, [(kind, ref, amount, detail, ts_ms)]) > 0

    def _ledger_many(self, account_id: int, events: list[tuple[str, str, int, str, int]]) -> int:
        applied, total = 0, 0
        for kind, ref, amount, detail, ts_ms in events:
            if self.conn.execute(
                    "INSERT INTO ledger_events (account_id, kind, ref, amount_micro, detail, ts_ms) VALUES "
                    "(?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (account_id, kind, ref, amount, detail, ts_ms)
            ).rowcount:
                applied, total = applied + 1, total + amount
        if total:
            self.conn.execute("UPDATE paper_accounts SET balance_micro = balance_micro + ? WHERE account_id = ?",
                              (total, account_id))
        return applied

    # -- fills ------------------------------------------------------------------------------------------------
    def book_fill(self, account_id: int, cause: str, coin: str, side: str, fill: Fill, snap: Snapshot, ts_ms: int,
                  order_id: int | None = None, leverage: Decimal | None = None, stop_loss: Decimal | None = None,
                  take_profit: Decimal | None = None) -> None:
        """Record a fill, move the position, and write its ledger events (caller's transaction, idempotent)."""
        self.book_fills([Booking(account_id, cause, coin, side, fill, snap, ts_ms, order_id, leverage, stop_loss,
                                 take_profit)])

    def book_fills(self, bookings: list[Booking]) -> None:
        """Record fills in order, move their positions and write their ledger events: one statement per table for
        all of them (caller's transaction). Idempotent: a fill booked already (same account, cause, asset and
        time) is skipped with everything it would have moved."""
        if not bookings:
            return
        if len(bookings) == 1:  # one fill (a mark's close, a resting limit): the table names its id
            (b,) = bookings
            cursor = self.conn.execute(_FILL_INSERT, _fill_row(None, b))
            booked = [(cursor.lastrowid, b)] if cursor.rowcount else []
        else:
            ids = next_ids(self.conn, "paper_fills", "fill_id", len(bookings))
            new = insert_new(self.conn, _FILL_INSERT, [_fill_row(fill_id, b) for fill_id, b in zip(ids, bookings)],
                             ids, "paper_fills", "fill_id")  # a fill booked already (a retry) is not new
            booked = [(fill_id, b) for fill_id, b in zip(ids, bookings) if fill_id in new]
        if not booked:
            return
        held = self._held([b for _, b in booked])
        events, balances, moved = [], {}, {}
        for fill_id, b in booked:
            ref, fill, key = f"fill:{fill_id}", b.fill, (b.account_id, b.coin)
            current = held.get(key) or Position(b.coin)
            held[key], realized = apply_fill(current, b.side, fill.size, fill.price, b.leverage, b.stop_loss,
                                             b.take_profit)
            fee, gained = -to_micro(fill.fee), to_micro(realized) if realized else 0
            events += [(b.account_id, "fill", ref, 0, f"{b.side} {fill.size} {b.coin} @ {fill.price} ({b.cause})",
                        b.ts_ms), (b.account_id, "fee", ref, fee, f"{fill.liquidity} fee", b.ts_ms)]
            if realized:
                events.append((b.account_id, "realized_pnl", ref, gained,
                               f"closed at {fill.price} vs entry {current.entry}", b.ts_ms))
            balances[b.account_id] = balances.get(b.account_id, 0) + fee + gained
            moved[key] = (moved[key][0] + gained if key in moved else gained, b.ts_ms)
        # The fill rows are new (they are unique), so their events are too: no per-event conflict check.
        self.conn.executemany("INSERT INTO ledger_events (account_id, kind, ref, amount_micro, detail, ts_ms) "
                              "VALUES (?, ?, ?, ?, ?, ?)", events)
        self.conn.executemany("UPDATE paper_accounts SET balance_micro = balance_micro + ? WHERE account_id = ?",
                              [(amount, account_id) for account_id, amount in balances.items()])
        self.conn.executemany(
            "INSERT INTO paper_positions (account_id, coin, size, entry_px, leverage, stop_loss, take_profit, "
            "realized_micro, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, coin) DO UPDATE "
            "SET size = excluded.size, entry_px = excluded.entry_px, leverage = excluded.leverage, "
            "stop_loss = excluded.stop_loss, take_profit = excluded.take_profit, "
            "realized_micro = realized_micro + excluded.realized_micro, updated_ms = excluded.updated_ms",
            [(account_id, coin, str(p.size), str(p.entry), str(p.leverage), _s(p.stop_loss), _s(p.take_profit),
              realized, ts_ms) for (account_id, coin), (realized, ts_ms) in moved.items()
             for p in (held[account_id, coin],)])

    def _held(self, bookings: list[Booking]) -> dict[tuple[int, str], Position]:
        """The open positions the fills will move, by (account, coin): one read for all of them."""
        if len(bookings) == 1:
            b = bookings[0]
            return {(b.account_id, coin): p for coin, p in self.positions(b.account_id, b.coin).items()}
        accounts = sorted({b.account_id for b in bookings})
        return {(a, row[0]): _position(*row) for a, *row in self.conn.execute(
            f"SELECT account_id, {_POSITION_COLUMNS} FROM paper_positions WHERE account_id IN "
            f"({','.join('?' * len(accounts))}) AND size != '0'", accounts)}

    # -- marks ------------------------------------------------------------------------------------------------
    def mark(self, as_of_ms: int, account_ids: list[int] | None = None) -> list[MarkResult]:
        """Accrue funding, fill or expire resting limits, apply SL/TP, liquidations and the drawdown stop, and
        write an equity point: one transaction per account."""
        if account_ids is None:  # every open live account (auditions, races and backtests mark their own)
            account_ids = [a for (a,) in self.conn.execute(
                "SELECT account_id FROM paper_accounts WHERE stopped = 0 AND context_label = 'live'")]
        results = []
        for account_id in account_ids:
            with transaction(self.conn):
                results.append(self._mark_one(account_id, as_of_ms))
        return results

    def last_price(self, coin: str, as_of: int) -> Decimal | None:
        """The last price known at `as_of`, read once per coin for the latest time asked (a mark of many accounts
        reads each coin once)."""
        at, prices = self._prices
        if at != as_of:
            self._prices = at, prices = as_of, {}
        if coin not in prices:
            prices[coin] = last_price(self.reader, coin, as_of)
        return prices[coin]

    def _mark_one(self, account_id: int, as_of: int) -> MarkResult:
        funding = self._accrue_funding(account_id, as_of)
        self._resting_orders(account_id, as_of)
        closed = []
        positions = self.positions(account_id)
        marks = {coin: self.last_price(coin, as_of) for coin in positions}
        for coin, position in positions.items():
            mark = marks[coin]
            if mark is None:
                continue
            long = position.size > 0
            if position.stop_loss and (mark <= position.stop_loss if long else mark >= position.stop_loss):
                closed.append(self._close(account_id, position, "stop_loss", as_of))
            elif position.take_profit and (mark >= position.take_profit if long else mark <= position.take_profit):
                closed.append(self._close(account_id, position, "take_profit", as_of))
        if closed:
            positions = self.positions(account_id)
        equity, margin, unrealized, exposure, maintenance = self._valuation(account_id, as_of, marks, positions)
        (balance, peak, starting) = self.conn.execute(
            "SELECT balance_micro, peak_equity_micro, starting_micro FROM paper_accounts WHERE account_id = ?",
            (account_id,)).fetchone()
        if positions and equity <= maintenance:
            closed += [self._close(account_id, p, "liquidation", as_of) for p in self.positions(account_id).values()]
            self._stop(account_id, f"liquidated: equity {equity:.2f} <= maintenance {maintenance:.2f}")
        peak_usd = max(from_micro(peak), equity)
        drawdown = (peak_usd - equity) / peak_usd * 100 if peak_usd > 0 else Decimal(0)
        if drawdown >= self.drawdown_stop_pct and not self._stopped(account_id):
            closed += [self._close(account_id, p, "drawdown_stop", as_of) for p in self.positions(account_id).values()]
            self._stop(account_id, f"drawdown {drawdown:.2f}% >= {self.drawdown_stop_pct}%")
        if closed:
            equity, margin, unrealized, exposure, _ = self._valuation(account_id, as_of)
            balance = self.conn.execute("SELECT balance_micro FROM paper_accounts WHERE account_id = ?",
                                        (account_id,)).fetchone()[0]
        self.conn.execute("UPDATE paper_accounts SET peak_equity_micro = MAX(peak_equity_micro, ?) WHERE account_id = ?",
                          (to_micro(equity), account_id))
        self.conn.execute(
            "INSERT INTO equity_curve VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
            "equity_micro = excluded.equity_micro, balance_micro = excluded.balance_micro, "
            "margin_micro = excluded.margin_micro, unrealized_micro = excluded.unrealized_micro, "
            "drawdown_pct = excluded.drawdown_pct, exposure_usd = excluded.exposure_usd",
            (account_id, as_of, to_micro(equity), balance, to_micro(margin), to_micro(unrealized), float(drawdown),
             float(exposure)))
        return MarkResult(account_id, equity, drawdown, closed, funding)

    def _valuation(self, account_id: int, as_of: int, marks: dict[str, Decimal | None] | None = None,
                   positions: dict[str, Position] | None = None) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """(equity, margin, unrealized, exposure, maintenance margin) at the last prices (`marks` if known) of
        the account's positions (`positions` if just read)."""
        balance = from_micro(self.conn.execute("SELECT balance_micro FROM paper_accounts WHERE account_id = ?",
                                               (account_id,)).fetchone()[0])
        margin = unrealized = exposure = maintenance = Decimal(0)
        for coin, position in (self.positions(account_id) if positions is None else positions).items():
            known = (marks or {}).get(coin)
            mark = known if known is not None else self.last_price(coin, as_of) or position.entry
            margin += position.margin()
            unrealized += position.unrealized(mark)
            exposure += position.notional(mark)
            maintenance += maintenance_margin(position, mark, self._max_leverage(coin))
        return balance + unrealized, margin, unrealized, exposure, maintenance

    def _max_leverage(self, coin: str) -> int:
        """The asset's max leverage (exchange metadata, cached for the broker's life)."""
        if coin not in self._leverage:
            row = self.conn.execute("SELECT COALESCE(max_leverage, 1) FROM hl_assets WHERE coin = ?", (coin,)).fetchone()
            self._leverage[coin] = row[0] if row else 1
        return self._leverage[coin]

    def _close(self, account_id: int, position: Position, cause: str, as_of: int) -> str:
        """Close a position at market through the fill model (reduce-only); a liquidation closes at the mark."""
        side = "sell" if position.size > 0 else "buy"
        snap = snapshot(self.conn, position.coin, as_of, self.reader)
        fill = fill_order(OrderSpec(side, abs(position.size), "market"), snap, self.config)
        if fill.status not in ("filled", "partial") or cause == "liquidation":
            mark = self.last_price(position.coin, as_of) or position.entry
            fill = Fill("filled", abs(position.size), mark, "taker",
                        abs(position.size) * mark * self.config.fee_rate(snap.kind, "taker"),
                        source="mid_fallback", notes=[f"{cause}: closed at the mark {mark}"])
        self.book_fill(account_id, cause, position.coin, side, fill, snap, as_of)
        if cause == "liquidation":
            self._ledger(account_id, "liquidation", f"{position.coin}:{as_of}", 0,
                         f"{position.coin} {position.size} liquidated at {fill.price}", as_of)
        return f"{position.coin}:{cause}"

    def _stop(self, account_id: int, reason: str) -> None:
        self.conn.execute("UPDATE paper_accounts SET stopped = 1, stop_reason = ? WHERE account_id = ? AND stopped = 0",
                          (reason, account_id))

    def _stopped(self, account_id: int) -> bool:
        return bool(self.conn.execute("SELECT stopped FROM paper_accounts WHERE account_id = ?",
                                      (account_id,)).fetchone()[0])

    def _accrue_funding(self, account_id: int, as_of: int) -> int:
        """Hourly funding for every funding hour in (funded_to, as_of] with a stored rate, on positions held."""
        (funded_to,) = self.conn.execute("SELECT funded_to_ms FROM paper_accounts WHERE account_id = ?",
                                         (account_id,)).fetchone()
        last_hour = as_of - as_of % HOUR_MS
        if last_hour <= funded_to:
            return 0  # no funding hour since the last accrual
        events = 0
        positions = self.positions(account_id)
        for coin, position in positions.items():
            for hour, rate in self.conn.execute(
                    "SELECT hour_ms, funding_rate FROM hl_funding_history WHERE coin = ? AND hour_ms > ? AND hour_ms <= ? "
                    "ORDER BY hour_ms", (coin, funded_to, last_hour)):
                oracle = oracle_price(self.conn, coin, hour, self.reader)
                if oracle is None:
                    continue
                amount = funding_payment(position, oracle, dec(rate))
                events += self._ledger(account_id, "funding", f"{coin}:{hour}", to_micro(amount),
                                       f"{position.size} x oracle {oracle} x rate {rate}", hour)
        self.conn.execute("UPDATE paper_accounts SET funded_to_ms = MAX(funded_to_ms, ?) WHERE account_id = ?",
                          (last_hour, account_id))
        return events

    def _resting_orders(self, account_id: int, as_of: int) -> None:
        """Resting limit orders fill (maker) once 1m candles trade through the limit, or expire by their TTL."""
        clone_id = self.conn.execute("SELECT clone_id FROM paper_accounts WHERE account_id = ?",
                                     (account_id,)).fetchone()[0]
        resting = self.conn.execute(
            "SELECT o.order_id, o.coin, o.side, o.size, o.price, o.created_ms, a.leverage, o.stop_loss, o.take_profit "
            "FROM orders o JOIN decision_runs r USING (run_id) LEFT JOIN decision_actions a USING (run_id) "
            "WHERE o.clone_id = ? AND o.status = 'dry_run_open' AND o.order_type = 'limit' AND r.context_label = "
            "(SELECT context_label FROM paper_accounts WHERE account_id = ?)", (clone_id, account_id)).fetchall()
        for order_id, coin, side, size, price, created, leverage, stop_loss, take_profit in resting:
            low, high = self.conn.execute(
                "SELECT MIN(low), MAX(high) FROM hl_candles WHERE coin = ? AND interval = '1m' AND open_ms >= ? "
                "AND open_ms + 60000 <= ?", (coin, created, as_of)).fetchone()
            kind = self.conn.execute("SELECT kind FROM hl_assets WHERE coin = ?", (coin,)).fetchone()[0]
            fill = None if low is None else fill_resting(OrderSpec(side, dec(size), "limit", dec(price)), dec(low),
                                                         dec(high), kind, self.config)
            if fill:
                snap = Snapshot((), (), dec(price), None, kind, 0, as_of)
                self.book_fill(account_id, "order", coin, side, fill, snap, as_of, order_id,
                               None if leverage is None else dec(leverage), _d(stop_loss), _d(take_profit))
                lifecycle.transition(self.conn, order_id, EventKind.FILLED,
                                     f"{fill.size} @ {shown_price(fill.price)} (maker); " + "; ".join(fill.notes),
                                     as_of)
            elif as_of - created >= self.config.limit_ttl_ms:
                lifecycle.transition(self.conn, order_id, EventKind.EXPIRED, "time in force ran out", as_of)


_POSITION_COLUMNS = "coin, size, entry_px, leverage, stop_loss, take_profit"


@lru_cache(maxsize=8192, typed=True)
def _position(coin: str, size: str, entry: str, leverage: str, stop_loss: str | None,
              take_profit: str | None) -> Position:
    """A paper_positions row (its _POSITION_COLUMNS) as a Position: a value (frozen), so a row read again (every
    mark and every pass reads an account's positions) is parsed once."""
    return Position(coin, dec(size), dec(entry), dec(leverage), _d(stop_loss), _d(take_profit))


_FILL_INSERT = ("INSERT INTO paper_fills (fill_id, account_id, order_id, cause, coin, side, size, price, liquidity, "
                "fee_micro, half_spread_micro, impact_micro, unfilled, source, notes, snapshot_json, ts_ms) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")


def _fill_row(fill_id: int | None, b: Booking) -> tuple:
    """A booking as its paper_fills row (a NULL id: the table picks the next)."""
    return (fill_id, b.account_id, b.order_id, b.cause, b.coin, b.side, str(b.fill.size), str(b.fill.price),
            b.fill.liquidity, to_micro(b.fill.fee), to_micro(b.fill.half_spread_cost), to_micro(b.fill.impact_cost),
            str(b.fill.unfilled), b.fill.source, json.dumps(b.fill.notes) if b.fill.notes else "[]", b.snap.json,
            b.ts_ms)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
