"""Product-loop commands: lifecycle, audition, arena, race, tickets, hall-of-fame."""

from __future__ import annotations

import argparse
import json
import sys

from clash_pipeline.cli.common import as_of, emit
from clash_pipeline.settings import load_settings


def open_arena(settings=None):
    from clash_pipeline.arena.races import Arena
    from clash_pipeline.decisions.service import runtime_for

    runtime = runtime_for(settings or load_settings())
    return Arena(runtime.conn, runtime.outbox), runtime


def cmd_lifecycle(args: argparse.Namespace) -> int:
    from clash_pipeline.arena import lifecycle

    arena, _ = open_arena()
    data = {"clone_id": args.clone, "state": lifecycle.state(arena.conn, args.clone),
            "events": lifecycle.history(arena.conn, args.clone)}
    return emit(data, args.json, lambda d: f"clone {d['clone_id']}: {d['state']}\n" + "\n".join(
        f"  {e['ts_ms']}  {e['from']} -> {e['to']}  ({e['cause']})" for e in d["events"]))


def cmd_audition(args: argparse.Namespace) -> int:
    from clash_pipeline.arena import lifecycle
    from clash_pipeline.arena.audition import AuditionCriteria, pay_fee, run_audition
    from clash_pipeline.timeutil import HOUR_MS

    arena, _ = open_arena()
    conn = arena.conn
    if args.action == "start":
        criteria = AuditionCriteria(profit_target_pct=args.profit_target, max_drawdown_pct=args.max_drawdown,
                                    min_trades=args.min_trades, min_reliability=args.min_reliability, hours=args.hours)
        start = as_of(args.start) if args.start else as_of(None) - criteria.hours * HOUR_MS
        try:
            if lifecycle.state(conn, args.clone) in ("created", "failed"):
                pay_fee(conn, args.clone, args.payment_ref, start)
            result = run_audition(conn, arena.outbox, args.clone, start, criteria, args.slots)
        except lifecycle.IllegalTransition as error:
            print(error, file=sys.stderr)
            return 1
        return emit(result, args.json, lambda r: f"audition {r['audition_id']} of clone {r['clone_id']}: "
                     f"{'PASSED' if r['passed'] else 'FAILED'}\n" + "\n".join(
                         f"  {c['criterion']:<16} {'pass' if c['passed'] else 'FAIL'}  {c['value']} (needs "
                         f"{c['threshold']})" for c in r["criteria"]))
    rows = [dict(zip(("audition_id", "clone_id", "start_ms", "end_ms", "status"), row)) for row in conn.execute(
        "SELECT audition_id, clone_id, start_ms, end_ms, status FROM auditions ORDER BY audition_id")]
    return emit(rows, args.json, lambda rs: "\n".join(
        f"audition {r['audition_id']}: clone {r['clone_id']} {r['status']}" for r in rs) or "no auditions")


def cmd_arena(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.careers import leaderboard

    arena, _ = open_arena()
    conn = arena.conn
    if args.action == "advance":
        for line in arena.advance(as_of(args.to)):
            print(line)
        return 0
    now = as_of(None)
    data = {"slots": arena.config.slots, "accumulating_race": arena.accumulating(now),
            "leaderboard": leaderboard(conn),
            "queue": [c for (c,) in conn.execute("SELECT clone_id FROM promotion_queue ORDER BY passed_ms, clone_id")],
            "races": [dict(zip(("race_id", "status"), r)) for r in conn.execute(
                "SELECT race_id, status FROM races ORDER BY start_ms DESC LIMIT 10")]}
    return emit(data, args.json, lambda d: f"arena: {len(d['leaderboard'])}/{d['slots']} slots, queue {d['queue']}, "
                 f"accumulating {d['accumulating_race']}\n" + "\n".join(
                     f"  {b['name']:<16} races {b['races']} wins {b['wins']}" for b in d["leaderboard"]))


def cmd_race(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.careers import race_results

    arena, _ = open_arena()
    conn = arena.conn
    race = conn.execute("SELECT race_id, start_ms, end_ms, status, carry_in_wei FROM races WHERE race_id = ?",
                        (args.race_id,)).fetchone()
    if race is None:
        print(f"no race {args.race_id}", file=sys.stderr)
        return 1
    if args.action == "settle":
        try:
            receipt = arena.settle(args.race_id, as_of(None))
        except ValueError as error:
            print(error, file=sys.stderr)
            return 1
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
        ticket = arena.buy_ticket(args.race, args.clone, args.holder, args.ref or f"{args.race}:{args.holder}:"
                                  f"{args.clone}:{as_of(None)}", as_of(None))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    return emit({"ticket_id": ticket, "race": args.race, "clone": args.clone, "holder": args.holder,
                  "amount_wei": str(10**16)}, args.json, lambda t: f"ticket {t['ticket_id']}: {t['holder']} backs "
                 f"clone {t['clone']} in race {t['race']} (0.01 ETH)")


def cmd_hall_of_fame(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.careers import hall_of_fame

    arena, _ = open_arena()
    return emit(hall_of_fame(arena.conn), args.json, lambda rows: "\n".join(
        f"{i + 1:>3}. {r['name']:<16} races {r['races']} wins {r['wins']} avg return {r['average_return_pct']} "
        f"({r['reason']})" for i, r in enumerate(rows)) or "the Hall of Fame is empty")


def register(commands) -> None:
    lc = commands.add_parser("lifecycle", help="a clone's lifecycle state and history")
    lc_actions = lc.add_subparsers(dest="action", required=True, metavar="ACTION")
    lc_show = lc_actions.add_parser("show", help="state and every transition with its time and cause")
    lc_show.add_argument("clone", type=int)
    lc_show.add_argument("--json", action="store_true")
    lc.set_defaults(func=cmd_lifecycle)

    audition = commands.add_parser("audition", help="run and list auditions")
    au_actions = audition.add_subparsers(dest="action", required=True, metavar="ACTION")
    au_start = au_actions.add_parser("start", help="record the fee and run an audition over stored history")
    au_start.add_argument("clone", type=int)
    au_start.add_argument("--payment-ref", default="manual", help="the audition fee payment's reference")
    au_start.add_argument("--start", help="audition start (ms or ISO; default: the last --hours)")
    au_start.add_argument("--hours", type=int, default=24)
    au_start.add_argument("--profit-target", type=float, default=0.0, help="minimum return %% (default 0)")
    au_start.add_argument("--max-drawdown", type=float, default=10.0, help="maximum drawdown %% (default 10)")
    au_start.add_argument("--min-trades", type=int, default=3)
    au_start.add_argument("--min-reliability", type=float, default=0.9)
    au_start.add_argument("--slots", type=int, default=4, help="arena slots")
    au_status = au_actions.add_parser("status", help="every audition and its result")
    for sub in (au_start, au_status):
        sub.add_argument("--json", action="store_true")
    audition.set_defaults(func=cmd_audition)

    arena = commands.add_parser("arena", help="the arena: status, and advancing its clock")
    ar_actions = arena.add_subparsers(dest="action", required=True, metavar="ACTION")
    ar_status = ar_actions.add_parser("status", help="slots, queue, leaderboard, accumulating race")
    ar_status.add_argument("--json", action="store_true")
    ar_advance = ar_actions.add_parser("advance", help="start, run, end and settle races due by --to")
    ar_advance.add_argument("--to", help="ms or ISO (default now)")
    arena.set_defaults(func=cmd_arena)

    race = commands.add_parser("race", help="a race: standings and settlement")
    race_actions = race.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, what in (("show", "standings, tickets and the settlement"), ("settle", "settle an ended race "
                                                                                       "(again: the same receipt)")):
        sub = race_actions.add_parser(action, help=what)
        sub.add_argument("race_id", help="e.g. 2026-11-28-06:00")
        sub.add_argument("--json", action="store_true")
    race.set_defaults(func=cmd_race)

    tickets = commands.add_parser("tickets", help="record ticket sales")
    ticket_actions = tickets.add_subparsers(dest="action", required=True, metavar="ACTION")
    buy = ticket_actions.add_parser("buy", help="record a 0.01 ETH ticket backing a clone in the accumulating race")
    buy.add_argument("--race", required=True)
    buy.add_argument("--clone", type=int, required=True)
    buy.add_argument("--holder", required=True, help="the buyer's address")
    buy.add_argument("--ref", help="the payment's reference (a sale is recorded once per reference)")
    buy.add_argument("--json", action="store_true")
    tickets.set_defaults(func=cmd_tickets)

    fame = commands.add_parser("hall-of-fame", help="retired careers, best first (public identities only)")
    fame.add_argument("--json", action="store_true")
    fame.set_defaults(func=cmd_hall_of_fame)
