"""Arena races: 6-hour windows on a fixed UTC schedule, run forward by a clock (`Arena.advance(now)`).

- At any moment one race is accumulating tickets: the next to start. Sales close when it starts.
- At its start, the arena's clones enter, each on an identical fresh account (the standard 10,000 USDC).
- While it runs, each clock step decides and marks its ticks up to now (`run`); `standings` is the race as it
  stands at its last decided tick.
- Every decision tick of a race reads one frozen market state: the tick's snapshot id (a hash of the newest
  market data known at the tick) is recorded once, and every entrant's run at that tick cites it.
- At its end, entrants are marked and ranked by return; ties break by lower max drawdown, then fewer trades, then
  clone id. Settlement follows (`settlement.py`); clones that hit the retirement rules retire.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime

from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.arena import lifecycle
from clash_pipeline.arena.addresses import checksum_address, payout_address_or_none
from clash_pipeline.arena.payments import PaymentConflict, describe, payment_ref, recorded_as
from clash_pipeline.arena.settlement import TICKET_WEI, SettlementConfig, Ticket, settle
from clash_pipeline.memory.db import transaction
from clash_pipeline.decisions.backtest import simulate
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.metrics import account_metrics
from clash_pipeline.timeutil import HOUR_MS, iso


@dataclass(frozen=True)
class ArenaConfig:
    slots: int = 4
    race_hours: int = 6
    cadence: str = "15m"
    settlement: SettlementConfig = field(default_factory=SettlementConfig)
    retire_drawdown_pct: float = 30.0      # a race drawdown beyond this retires the clone
    retire_last_places: int = 3            # so does this many last places in a row


def race_id(start_ms: int) -> str:
    return datetime.fromtimestamp(start_ms / 1000, tz=UTC).strftime("%Y-%m-%d-%H:%M")


class Arena:
    def __init__(self, conn: sqlite3.Connection, outbox: Outbox, config: ArenaConfig = ArenaConfig()) -> None:
        self.conn, self.outbox, self.config = conn, outbox, config
        self.window = config.race_hours * HOUR_MS

    # -- the accumulating race --------------------------------------------------------------------------------
    def accumulating(self, now_ms: int) -> str:
        """The race now accumulating tickets: the next window to start (created on first ask)."""
        start = now_ms - now_ms % self.window + self.window
        key = race_id(start)
        with transaction(self.conn):
            self.conn.execute("INSERT INTO races (race_id, start_ms, end_ms, status) VALUES (?, ?, ?, 'accumulating') "
                              "ON CONFLICT DO NOTHING", (key, start, start + self.window))
        return key

    def buy_ticket(self, race: str, clone_id: int, holder: str, sale_ref: str, now_ms: int) -> int:
        """Record a ticket sale (0.01 ETH backing one arena clone in the accumulating race) once per payment
        reference: the same reference with the same details returns the recorded ticket (even after sales
        closed); with other details it is a PaymentConflict and nothing is written. The holder is an EIP-55
        address (stored checksummed)."""
        holder = checksum_address(holder, "holder")
        sale_ref = payment_ref(sale_ref, "ref")
        request = (race, clone_id, holder, str(TICKET_WEI))
        with transaction(self.conn):
            recorded = recorded_as(self.conn, sale_ref)
            if recorded and recorded[0] == "ticket" and recorded[1][1:] == request:
                return recorded[1][0]
            if recorded:
                differ = [name for name, mine, theirs in zip(("race", "clone", "holder"), request,
                                                             recorded[1][1:]) if mine != theirs]
                raise PaymentConflict(f"ref {sale_ref!r} already recorded {describe(*recorded)}"
                                      + (f"; this request differs in {', '.join(differ)}" if differ and
                                         recorded[0] == "ticket" else "") + ": nothing recorded")
            row = self.conn.execute("SELECT status, start_ms FROM races WHERE race_id = ?", (race,)).fetchone()
            if row is None:
                raise ValueError(f"no race {race}")
            if row[0] != "accumulating" or now_ms >= row[1]:
                raise ValueError(f"race {race} is {row[0]}: sales closed when it started")
            if lifecycle.state(self.conn, clone_id) != "in_arena":
                raise ValueError(f"clone {clone_id} is not in the arena")
            return self.conn.execute(
                "INSERT INTO tickets (race_id, clone_id, holder, amount_wei, sale_ref, sold_ms) VALUES "
                "(?, ?, ?, ?, ?, ?) RETURNING ticket_id", (*request, sale_ref, now_ms)).fetchone()[0]

    def ticket(self, ticket_id: int) -> dict:
        """A recorded ticket as stored."""
        keys = ("ticket_id", "race", "clone", "holder", "amount_wei", "ref", "sold_ms")
        return dict(zip(keys, self.conn.execute("SELECT ticket_id, race_id, clone_id, holder, amount_wei, sale_ref, "
                                                "sold_ms FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone()))

    # -- running ----------------------------------------------------------------------------------------------
    def start(self, race: str) -> list[int]:
        start_ms, status = self.conn.execute("SELECT start_ms, status FROM races WHERE race_id = ?",
                                             (race,)).fetchone()
        if status != "accumulating":
            return self.entrants(race)
        entrants = [c for (c,) in self.conn.execute(
            "SELECT clone_id FROM clone_lifecycle WHERE state = 'in_arena' ORDER BY clone_id")]
        broker = Broker(self.conn)
        with transaction(self.conn):
            carry = self.conn.execute("SELECT carry_out_wei FROM settlements ORDER BY race_id DESC LIMIT 1").fetchone()
            self.conn.execute("UPDATE races SET status = ?, carry_in_wei = ? WHERE race_id = ?",
                              ("running" if entrants else "cancelled", carry[0] if carry else "0", race))
            for clone_id in entrants:
                broker.account(clone_id, f"race:{race}", start_ms)  # identical fresh accounts
                self.conn.execute("INSERT INTO race_entrants (race_id, clone_id, start_equity_micro) SELECT ?, ?, "
                                  "starting_micro FROM paper_accounts WHERE clone_id = ? AND context_label = ?",
                                  (race, clone_id, clone_id, f"race:{race}"))
        return entrants

    def entrants(self, race: str) -> list[int]:
        return [c for (c,) in self.conn.execute("SELECT clone_id FROM race_entrants WHERE race_id = ? ORDER BY "
                                                "clone_id", (race,))]

    def snapshot_id(self, tick_ms: int) -> str:
        """The frozen market state at a tick: the newest mid, closed candle and book known then."""
        stamps = [self.conn.execute(sql, (tick_ms,)).fetchone()[0] for sql in (
            "SELECT MAX(ts_ms) FROM hl_mids WHERE ts_ms <= ?",
            "SELECT MAX(open_ms) FROM hl_candles WHERE interval = '1m' AND open_ms + 60000 <= ?",
            "SELECT MAX(ts_ms) FROM hl_book_levels WHERE ts_ms <= ?")]
        return hashlib.sha256(json.dumps([tick_ms, *stamps]).encode()).hexdigest()[:16]

    def run(self, race: str, until_ms: int | None = None) -> int:
        """Decide and mark the race's ticks from the last one decided up to `until_ms` (default: its end), each
        priced and marked at that tick; every entrant's run at a tick cites the tick's one snapshot id."""
        start_ms, end_ms = self.conn.execute("SELECT start_ms, end_ms FROM races WHERE race_id = ?",
                                             (race,)).fetchone()
        (last,) = self.conn.execute("SELECT MAX(tick_ms) FROM race_ticks WHERE race_id = ?", (race,)).fetchone()
        entrants = self.entrants(race)

        def cite(tick: int, outcomes: list) -> None:
            snap = self.snapshot_id(tick)
            with transaction(self.conn):
                self.conn.execute("INSERT OR IGNORE INTO race_ticks VALUES (?, ?, ?)", (race, tick, snap))
                self.conn.executemany("INSERT OR IGNORE INTO race_runs VALUES (?, ?, ?, ?, ?)",
                                      [(race, tick, o.run_id, o.due.clone_id, snap) for o in outcomes])

        until = end_ms if until_ms is None else min(until_ms, end_ms)
        decisions, _ = simulate(self.conn, self.outbox, entrants, f"race:{race}",
                                start_ms if last is None else last + 1, until, self.config.cadence, on_tick=cite)
        return decisions

    def standings(self, race: str) -> dict:
        """The race as it stands at its last decided tick: entrants ranked as at the end (return, then lower
        drawdown, fewer trades, clone id), with that tick and its snapshot id."""
        status, start_ms, end_ms = self.conn.execute("SELECT status, start_ms, end_ms FROM races WHERE race_id = ?",
                                                     (race,)).fetchone()
        tick = self.conn.execute("SELECT tick_ms, snapshot_id, (SELECT COUNT(*) FROM race_ticks WHERE race_id = ?) "
                                 "FROM race_ticks WHERE race_id = ? ORDER BY tick_ms DESC LIMIT 1",
                                 (race, race)).fetchone()
        rows = []
        for clone_id, name, account in self.conn.execute(
                "SELECT e.clone_id, c.name, a.account_id FROM race_entrants e JOIN clones c USING (clone_id) JOIN "
                "paper_accounts a ON a.clone_id = e.clone_id AND a.context_label = 'race:' || e.race_id WHERE "
                "e.race_id = ? ORDER BY e.clone_id", (race,)).fetchall():
            m = account_metrics(self.conn, account)
            rows.append({"clone_id": clone_id, "name": name, "equity_micro": round(m.end_equity * 1e6),
                         "return_pct": m.return_pct, "max_drawdown_pct": m.max_drawdown_pct, "trades": m.trades})
        rows.sort(key=lambda r: _rank_key(r["equity_micro"], r))
        for rank, r in enumerate(rows, 1):
            r["rank"] = rank
        return {"race_id": race, "status": status, "start_ms": start_ms, "end_ms": end_ms,
                "tick_ms": tick[0] if tick else None, "snapshot_id": tick[1] if tick else None,
                "ticks": tick[2] if tick else 0, "standings": rows}

    def end(self, race: str) -> list[dict]:
        """Mark, measure and rank the entrants (ties break by drawdown, trades, clone id)."""
        end_ms = self.conn.execute("SELECT end_ms FROM races WHERE race_id = ?", (race,)).fetchone()[0]
        rows = []
        for clone_id in self.entrants(race):
            account = self.conn.execute("SELECT account_id FROM paper_accounts WHERE clone_id = ? AND context_label = ?",
                                        (clone_id, f"race:{race}")).fetchone()[0]
            Broker(self.conn).mark(end_ms, [account])
            m = account_metrics(self.conn, account)
            rows.append({"clone_id": clone_id, "end_equity_micro": round(m.end_equity * 1e6),
                         "return_pct": m.return_pct, "max_drawdown_pct": m.max_drawdown_pct, "trades": m.trades})
        rows.sort(key=lambda r: _rank_key(r["end_equity_micro"], r))
        with transaction(self.conn):
            for rank, r in enumerate(rows, 1):
                r["rank"] = rank
                self.conn.execute("UPDATE race_entrants SET end_equity_micro = ?, return_pct = ?, max_drawdown_pct = ?, "
                                  "trades = ?, rank = ? WHERE race_id = ? AND clone_id = ?",
                                  (r["end_equity_micro"], r["return_pct"], r["max_drawdown_pct"], r["trades"], rank,
                                   race, r["clone_id"]))
            self.conn.execute("UPDATE races SET status = 'ended' WHERE race_id = ? AND status = 'running'", (race,))
        return rows

    def settle(self, race: str, now_ms: int) -> dict:
        """Settle an ended (or cancelled) race once; settling again returns the same receipt."""
        stored = self.conn.execute("SELECT receipt_json FROM settlements WHERE race_id = ?", (race,)).fetchone()
        if stored:
            return json.loads(stored[0])
        status, carry_in = self.conn.execute("SELECT status, carry_in_wei FROM races WHERE race_id = ?",
                                             (race,)).fetchone()
        if status not in ("ended", "cancelled"):
            raise ValueError(f"race {race} is {status}: only an ended or cancelled race settles")
        tickets = [Ticket(t, c, h, int(a)) for t, c, h, a in self.conn.execute(
            "SELECT ticket_id, clone_id, holder, amount_wei FROM tickets WHERE race_id = ? ORDER BY ticket_id", (race,))]
        standings = [(c, e) for c, e in self.conn.execute(
            "SELECT clone_id, end_equity_micro FROM race_entrants WHERE race_id = ? ORDER BY rank", (race,))]
        creators = {c: address for c, address in ((c, payout_address_or_none(a)) for c, a in self.conn.execute(
            "SELECT clone_id, creator FROM clones")) if address}
        result = settle(race, tickets, standings, creators, int(carry_in), status == "cancelled",
                        self.config.settlement)
        receipt = result.receipt()
        with transaction(self.conn):
            self.conn.execute("INSERT INTO settlements VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                              (race, json.dumps(receipt), receipt["sha256"], str(result.carry_out_wei), now_ms))
            self.conn.execute("UPDATE races SET status = 'settled' WHERE race_id = ? AND status = 'ended'", (race,))
        return json.loads(self.conn.execute("SELECT receipt_json FROM settlements WHERE race_id = ?",
                                            (race,)).fetchone()[0])

    def retirements(self, race: str, now_ms: int) -> list[tuple[int, str]]:
        """Apply the retirement rules after a race: a drawdown breach, or a run of last places."""
        retired = []
        for clone_id, drawdown in self.conn.execute("SELECT clone_id, max_drawdown_pct FROM race_entrants WHERE "
                                                    "race_id = ?", (race,)).fetchall():
            places = self.conn.execute(
                "SELECT e.rank = (SELECT COUNT(*) FROM race_entrants x WHERE x.race_id = e.race_id) FROM race_entrants e "
                "JOIN races r USING (race_id) WHERE e.clone_id = ? AND e.rank IS NOT NULL ORDER BY r.start_ms DESC "
                "LIMIT ?", (clone_id, self.config.retire_last_places)).fetchall()
            reason = None
            if drawdown is not None and drawdown > self.config.retire_drawdown_pct:
                reason = f"drawdown {drawdown:.2f}% in race {race} breached {self.config.retire_drawdown_pct}%"
            elif len(places) == self.config.retire_last_places and all(last for (last,) in places) and \
                    len(self.entrants(race)) > 1:
                reason = f"last place in {self.config.retire_last_places} races in a row"
            if reason and lifecycle.state(self.conn, clone_id) == "in_arena":
                from clash_pipeline.arena.careers import retire

                retire(self.conn, self.outbox, clone_id, reason, now_ms)
                retired.append((clone_id, reason))
        return retired

    # -- the clock --------------------------------------------------------------------------------------------
    def advance(self, now_ms: int) -> list[str]:
        """The clock's step for races: start those whose window has begun (sales close), decide and mark each
        running race's ticks up to `now`, end and settle those whose window has passed; open the next."""
        done = []
        for race, start_ms, end_ms, status in self.conn.execute(
                "SELECT race_id, start_ms, end_ms, status FROM races WHERE status IN ('accumulating', 'running', "
                "'ended', 'cancelled') AND start_ms <= ? AND race_id NOT IN (SELECT race_id FROM settlements) "
                "ORDER BY start_ms", (now_ms,)).fetchall():
            if status == "accumulating":
                self.start(race)
                status = self.conn.execute("SELECT status FROM races WHERE race_id = ?", (race,)).fetchone()[0]
                done.append(f"{race}: started with {len(self.entrants(race))} entrants" if status == "running"
                            else f"{race}: cancelled (no entrants)")
            if status == "running":
                decisions = self.run(race, now_ms)
                if end_ms <= now_ms:
                    self.end(race)
                    status = "ended"
                    done.append(f"{race}: ran {decisions} decisions and ended")
                elif decisions:
                    done.append(f"{race}: {decisions} decisions up to {iso(min(now_ms, end_ms))}")
            if status in ("ended", "cancelled") and end_ms <= now_ms:
                receipt = self.settle(race, now_ms)
                done.append(f"{race}: settled, receipt {receipt['sha256'][:16]}")
                for clone_id, reason in self.retirements(race, now_ms):
                    done.append(f"clone {clone_id} retired: {reason}")
        self.accumulating(now_ms)
        return done


def _rank_key(equity_micro: int, row: dict) -> tuple:
    """The ranking: higher equity (return), then lower max drawdown, then fewer trades, then clone id."""
    return -equity_micro, row["max_drawdown_pct"], row["trades"], row["clone_id"]
