"""Product-loop commands: lifecycle, audition, arena, race, tickets, hall-of-fame.

Every argument is checked before any work (addresses, payment references, race ids, bounded numbers and times);
a refusal is one line on stderr, `clash: COMMAND ACTION: what`, exit 2 for a malformed argument and 1 for a
refused request, and nothing is written. Results go to stdout, as text or `--json`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from datetime import UTC, datetime

from clash_pipeline.cli.common import as_of, emit
from clash_pipeline.settings import load_settings

RACE_ID = re.compile(r"\d{4}-\d{2}-\d{2}-\d{2}:\d{2}")
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def open_arena(settings=None):
    from clash_pipeline.arena.races import Arena
    from clash_pipeline.decisions.service import runtime_for

    runtime = runtime_for(settings or load_settings())
    return Arena(runtime.conn, runtime.outbox), runtime


def fail(args: argparse.Namespace, error: object) -> int:
    print(f"clash: {args.command} {args.action}: {error}", file=sys.stderr)
    return 1


class OneLineParser(argparse.ArgumentParser):
    """A refused argument is one line (`clash: tickets buy: argument --holder: ...`), exit 2; --help has usage."""

    def error(self, message: str):
        self.exit(2, f"clash: {self.prog.removeprefix('clash ')}: {message} (see --help)\n")


# -- argument types ---------------------------------------------------------------------------------------------
def _typed(check):
    def parse(value: str):
        try:
            return check(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = check.__name__
    return parse


@_typed
def clone_id(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise ValueError(f"not a clone id (a positive whole number): {value[:40]!r}")
    return int(value)


@_typed
def count(value: str) -> int:
    if not value.lstrip("-").isdigit() or len(value) > 12:
        raise ValueError(f"not a whole number: {value[:40]!r}")
    return int(value)


@_typed
def slots(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise ValueError(f"arena slots must be a whole number from 1 to 64, not {value[:40]!r}")
    return int(value)


@_typed
def finite(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, not {value!r}")
    return number


@_typed
def moment(value: str) -> int:
    """ms since the epoch or an ISO time, between 2000 and 2100 UTC."""
    try:
        when = (datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value.isdigit() and len(value) <= 15 else
                datetime.fromisoformat(value))
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"not a time (ms or ISO, e.g. 2026-11-28T06:00): {value[:40]!r}") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if not EARLIEST <= when < LATEST:
        raise ValueError(f"{value!r} is outside 2000-2100")
    return int(when.timestamp() * 1000)


@_typed
def race_key(value: str) -> str:
    try:
        if not RACE_ID.fullmatch(value):
            raise ValueError
        datetime.strptime(value, "%Y-%m-%d-%H:%M")
    except ValueError:
        raise ValueError(f"not a race id (like 2026-11-28-06:00): {value[:40]!r}") from None
    return value


@_typed
def address(value: str) -> str:
    from clash_pipeline.arena.addresses import checksum_address

    return checksum_address(value, "address")


@_typed
def reference(value: str) -> str:
    from clash_pipeline.arena.payments import payment_ref

    return payment_ref(value, "reference")


@_typed
def reason(value: str) -> str:
    from clash_pipeline.strategy.identity import plain_text

    text = plain_text("reason", value, 200)
    if not text:
        raise ValueError("reason: is empty")
    return text


def history_bounds() -> tuple[int, int]:
    from clash_pipeline.timeutil import day_start_ms

    return day_start_ms(load_settings().history_start), as_of(None)


# -- commands -----------------------------------------------------------------------------------------------------
def cmd_lifecycle(args: argparse.Namespace) -> int:
    from clash_pipeline.arena import lifecycle
    from clash_pipeline.arena.audition import promote
    from clash_pipeline.arena.payouts import set_payout_address

    arena, _ = open_arena()
    if args.action == "set-payout":
        stored = set_payout_address(arena.conn, args.clone, args.address)
        promoted = promote(arena.conn, as_of(None), arena.config.slots)
        data = {"clone_id": args.clone, "payout_address": stored, "promoted": promoted}
        return emit(data, args.json, lambda d: f"clone {d['clone_id']}: creator payout address {d['payout_address']}"
                    + (f"; promoted into the arena: {d['promoted']}" if d["promoted"] else ""))
    data = {"clone_id": args.clone, "state": lifecycle.state(arena.conn, args.clone),
            "events": lifecycle.history(arena.conn, args.clone)}
    return emit(data, args.json, lambda d: f"clone {d['clone_id']}: {d['state']}\n" + "\n".join(
        f"  {e['ts_ms']}  {e['from']} -> {e['to']}  ({e['cause']})" for e in d["events"]))


def audition_text(r: dict) -> str:
    if r["status"] == "running":  # its window goes past now: the clock decides the rest tick by tick
        return (f"audition {r['audition_id']} of clone {r['clone_id']}: running, {r['ticks']} of {r['ticks_total']} "
                f"ticks decided (the rest as the clock passes them); return {r['metrics']['return_pct']:+.3f}%")
    return f"audition {r['audition_id']} of clone {r['clone_id']}: {'PASSED' if r['passed'] else 'FAILED'}\n" + \
        "\n".join(f"  {c['criterion']:<16} {'pass' if c['passed'] else 'FAIL'}  {c['value']} (needs "
                  f"{c['threshold']})" for c in r["criteria"])


def cmd_audition(args: argparse.Namespace) -> int:
    from clash_pipeline.arena import audition, lifecycle
    from clash_pipeline.timeutil import HOUR_MS

    if args.action == "start":  # every argument checked before the memory is opened
        try:
            criteria = audition.AuditionCriteria(
                profit_target_pct=args.profit_target, max_drawdown_pct=args.max_drawdown, min_trades=args.min_trades,
                min_reliability=args.min_reliability, hours=args.hours)
            earliest, now = history_bounds()
            start = args.start if args.start is not None else now - now % HOUR_MS - criteria.hours * HOUR_MS
            audition.check_window(start, criteria.hours, earliest, now)
        except ValueError as error:
            return fail(args, error)
    arena, _ = open_arena()
    conn = arena.conn
    try:
        if args.action == "start":
            if lifecycle.state(conn, args.clone) in ("created", "failed"):
                if not args.payment_ref:
                    return fail(args, f"clone {args.clone} owes the audition fee: give its --payment-ref")
                if not audition.pay_fee(conn, args.clone, args.payment_ref, start):
                    return fail(args, f"payment {args.payment_ref!r} already paid an earlier audition of clone "
                                      f"{args.clone}: a new audition needs a new payment")
            return emit(audition.run_audition(conn, arena.outbox, args.clone, start, criteria, args.slots,
                                              now_ms=history_bounds()[1]), args.json, audition_text)
        if args.action == "resume":
            return emit(audition.resume(conn, arena.outbox, args.clone, as_of(None), args.slots), args.json,
                        audition_text)
        if args.action == "abandon":
            return emit(audition.abandon(conn, args.clone, args.reason, as_of(None)), args.json, lambda r:
                        f"audition {r['audition_id']} of clone {r['clone_id']} abandoned; the clone is "
                        f"{r['state']} (its fee stands for a new audition)")
    except ValueError as error:
        return fail(args, error)
    rows = [dict(zip(("audition_id", "clone_id", "start_ms", "end_ms", "status"), row)) for row in conn.execute(
        "SELECT audition_id, clone_id, start_ms, end_ms, status FROM auditions ORDER BY audition_id")]
    return emit(rows, args.json, lambda rs: "\n".join(
        f"audition {r['audition_id']}: clone {r['clone_id']} {r['status']}" for r in rs) or "no auditions")


def cmd_arena(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.audition import queue
    from clash_pipeline.arena.careers import leaderboard
    from clash_pipeline.timeutil import iso

    if args.action == "advance" and args.to is not None:
        earliest, now = history_bounds()
        if not earliest <= args.to <= now:
            return fail(args, f"--to {iso(args.to)} must be between the history start {iso(earliest)} "
                              f"(CLASH_HISTORY_START) and now {iso(now)}")
    arena, _ = open_arena()
    conn = arena.conn
    if args.action == "advance":
        from clash_pipeline.arena.forward import step

        report = step(conn, arena.outbox, args.to if args.to is not None else as_of(None), arena.config)
        log = report.events + [f"audition {a['audition_id']} of clone {a['clone_id']}: {a['status']}"
                               for a in report.verdicts]
        return emit(log, args.json, lambda lines: "\n".join(lines) or "nothing due")
    now = as_of(None)
    data = {"slots": arena.config.slots, "accumulating_race": arena.accumulating(now),
            "leaderboard": leaderboard(conn), "queue": queue(conn),
            "races": [dict(zip(("race_id", "status"), r)) for r in conn.execute(
                "SELECT race_id, status FROM races ORDER BY start_ms DESC LIMIT 10")]}
    return emit(data, args.json, lambda d: f"arena: {len(d['leaderboard'])}/{d['slots']} slots, "
                f"{len(d['queue'])} queued, accumulating {d['accumulating_race']}\n" + "\n".join(
                    [f"  {b['name']:<16} races {b['races']} wins {b['wins']}" for b in d["leaderboard"]] +
                    [f"  queued: clone {q['clone_id']} {q['name']}, waiting for {q['waiting_for']}"
                     for q in d["queue"]]))


def cmd_race(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.careers import race_results

    arena, _ = open_arena()
    conn = arena.conn
    race = conn.execute("SELECT race_id, start_ms, end_ms, status, carry_in_wei FROM races WHERE race_id = ?",
                        (args.race_id,)).fetchone()
    if race is None:
        return fail(args, f"no race {args.race_id}")
    if args.action == "settle":
        try:
            receipt = arena.settle(args.race_id, as_of(None))
        except ValueError as error:
            return fail(args, error)
        return emit(receipt, args.json, receipt_text)
    stored = conn.execute("SELECT receipt_json FROM settlements WHERE race_id = ?", (args.race_id,)).fetchone()
    data = {"race": dict(zip(("race_id", "start_ms", "end_ms", "status", "carry_in_wei"), race)),
            "standings": race_results(conn, args.race_id),
            "tickets": conn.execute("SELECT COUNT(*) FROM tickets WHERE race_id = ?", (args.race_id,)).fetchone()[0],
            "settlement": json.loads(stored[0]) if stored else None}
    return emit(data, args.json, lambda d: f"race {d['race']['race_id']} [{d['race']['status']}], "
                 f"{d['tickets']} tickets\n" + "\n".join(
                     f"  #{s['rank']} {s['name']:<16} return {s['return_pct']}% drawdown {s['max_drawdown_pct']}% "
                     f"tickets {s['tickets']}" for s in d["standings"]))


def receipt_text(receipt: dict) -> str:
    lines = [f"settlement of race {receipt['race_id']}: pool {receipt['pool_wei']} wei "
             f"(sales {receipt['sales_wei']}, carry in {receipt['carry_in_wei']})"]
    lines += [f"  {kind:<15} {recipient:<20} {amount:>22} wei  {note}" for kind, recipient, amount, note in
              receipt["lines"]]
    lines.append(f"  receipt sha256 {receipt['sha256']}")
    return "\n".join(lines)


def cmd_tickets(args: argparse.Namespace) -> int:
    arena, _ = open_arena()
    try:
        ticket = arena.buy_ticket(args.race, args.clone, args.holder, args.ref, as_of(None))
    except ValueError as error:
        return fail(args, error)
    return emit(arena.ticket(ticket), args.json, lambda t: f"ticket {t['ticket_id']}: {t['holder']} backs clone "
                f"{t['clone']} in race {t['race']} (0.01 ETH, ref {t['ref']})")


def cmd_hall_of_fame(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.careers import hall_of_fame

    arena, _ = open_arena()
    return emit(hall_of_fame(arena.conn), args.json, lambda rows: "\n".join(
        f"{i + 1:>3}. {r['name']:<16} races {r['races']} wins {r['wins']} avg return {r['average_return_pct']} "
        f"({r['reason']})" for i, r in enumerate(rows)) or "the Hall of Fame is empty")


def register(commands) -> None:
    lc = commands.add_parser("lifecycle", help="a clone's lifecycle state and history; its creator payout address")
    lc_actions = lc.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=OneLineParser)
    lc_show = lc_actions.add_parser("show", help="state and every transition with its time and cause")
    lc_show.add_argument("clone", type=clone_id)
    lc_payout = lc_actions.add_parser("set-payout", help="set the creator payout address (EIP-55) a clone needs to "
                                                         "enter the arena; promotes it if a slot is open")
    lc_payout.add_argument("clone", type=clone_id)
    lc_payout.add_argument("--address", type=address, required=True,
                           help="0x and 40 hex digits; mixed case must carry a valid EIP-55 checksum")
    for sub in (lc_show, lc_payout):
        sub.add_argument("--json", action="store_true")
    lc.set_defaults(func=cmd_lifecycle)

    audition = commands.add_parser("audition", help="run, resume, abandon and list auditions")
    au_actions = audition.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=OneLineParser)
    au_start = au_actions.add_parser("start", help="record the fee and run an audition over stored history")
    au_start.add_argument("clone", type=clone_id)
    au_start.add_argument("--payment-ref", type=reference,
                          help="the audition fee payment's reference (required when a fee is due; one payment "
                               "pays one audition)")
    au_start.add_argument("--start", type=moment, help="audition start (ms or ISO; default: the last --hours, "
                                                       "from the hour); the window must lie in stored history")
    au_start.add_argument("--hours", type=count, default=24, help="1 to 168 (default 24)")
    au_start.add_argument("--profit-target", type=finite, default=0.0, help="minimum return %% (-100..1000, "
                                                                             "default 0)")
    au_start.add_argument("--max-drawdown", type=finite, default=10.0, help="maximum drawdown %% (0..100, "
                                                                             "default 10)")
    au_start.add_argument("--min-trades", type=count, default=3, help="0..10000 (default 3)")
    au_start.add_argument("--min-reliability", type=finite, default=0.9, help="0..1 (default 0.9)")
    au_resume = au_actions.add_parser("resume", help="finish a stranded audition (its process died): the rest of "
                                                     "its window runs, then it is evaluated")
    au_resume.add_argument("clone", type=clone_id)
    au_abandon = au_actions.add_parser("abandon", help="give up a stranded audition; the paid fee stands for a "
                                                       "new one")
    au_abandon.add_argument("clone", type=clone_id)
    au_abandon.add_argument("--reason", type=reason, default="abandoned by command",
                            help="recorded with the event (plain text, at most 200 characters)")
    for sub in (au_start, au_resume):
        sub.add_argument("--slots", type=slots, default=4, help="arena slots, 1 to 64 (default 4)")
    au_status = au_actions.add_parser("status", help="every audition and its result")
    for sub in (au_start, au_resume, au_abandon, au_status):
        sub.add_argument("--json", action="store_true")
    audition.set_defaults(func=cmd_audition)

    arena = commands.add_parser("arena", help="the arena: status, and advancing its clock")
    ar_actions = arena.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=OneLineParser)
    ar_status = ar_actions.add_parser("status", help="slots, queue (and what each clone waits for), leaderboard, "
                                                     "accumulating race")
    ar_advance = ar_actions.add_parser("advance", help="start, run, end and settle races due by --to")
    ar_advance.add_argument("--to", type=moment, help="ms or ISO, from CLASH_HISTORY_START to now (default now)")
    for sub in (ar_status, ar_advance):
        sub.add_argument("--json", action="store_true")
    arena.set_defaults(func=cmd_arena)

    race = commands.add_parser("race", help="a race: standings and settlement")
    race_actions = race.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=OneLineParser)
    for action, what in (("show", "standings, tickets and the settlement"), ("settle", "settle an ended race "
                                                                                       "(again: the same receipt)")):
        sub = race_actions.add_parser(action, help=what)
        sub.add_argument("race_id", type=race_key, help="e.g. 2026-11-28-06:00")
        sub.add_argument("--json", action="store_true")
    race.set_defaults(func=cmd_race)

    tickets = commands.add_parser("tickets", help="record ticket sales")
    ticket_actions = tickets.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=OneLineParser)
    buy = ticket_actions.add_parser("buy", help="record a 0.01 ETH ticket backing a clone in the accumulating race")
    buy.add_argument("--race", type=race_key, required=True)
    buy.add_argument("--clone", type=clone_id, required=True)
    buy.add_argument("--holder", type=address, required=True,
                     help="the buyer's address: 0x and 40 hex digits; mixed case must carry a valid EIP-55 checksum")
    buy.add_argument("--ref", type=reference, required=True,
                     help="the payment's reference, its idempotency key: the same reference and details return the "
                          "recorded ticket; other details are refused")
    buy.add_argument("--json", action="store_true")
    tickets.set_defaults(func=cmd_tickets)

    fame = commands.add_parser("hall-of-fame", help="retired careers, best first (public identities only)")
    fame.add_argument("--json", action="store_true")
    fame.set_defaults(func=cmd_hall_of_fame)
