"""Trading commands: decisions, accounts, backtest, replay."""

from __future__ import annotations

import argparse
import json

from clash_pipeline.cli.common import as_of, day, text_or_none
from clash_pipeline.settings import load_settings
from clash_pipeline.strategy.store import get_clone


def runs_table(outcomes) -> str:
    lines = [f"{'run':>6} {'clone':>6} {'strategy':<14} {'asset':<10} {'status':<9} {'action':<11} order / reason"]
    for o in outcomes:
        action = o.proposal.action.action if o.proposal and o.proposal.action else "-"
        order = o.gates.order if o.gates else None
        if order:
            what = f"{order.side} {order.size} {order.order_type}" + (f" @ {order.price}" if order.price else "")
        elif o.status == "rejected":
            what = "; ".join(g for g, ok, _ in o.gates.verdicts if not ok)
        else:
            what = o.error or (o.proposal.action.reason[:60] if o.proposal and o.proposal.action else "")
        lines.append(f"{o.run_id:>6} {o.due.clone_id:>6} {o.due.prompt_id:<14} {o.due.coin:<10} {o.status:<9} "
                     f"{action:<11} {what}")
    return "\n".join(lines)


def cmd_decisions(args: argparse.Namespace) -> int:
    from clash_pipeline.decisions.service import run_story, runtime_for, work

    settings = load_settings()
    runtime = runtime_for(settings)
    if args.action == "show":
        story = run_story(runtime.conn, runtime.outbox, args.run_id)
        if args.json:
            print(json.dumps(story, indent=2, default=str))
            return 0
        run = story["run"]
        print(f"run {run['run_id']}: clone {run['clone_id']} v{run['version']} {run['prompt_id']} {run['coin']} "
              f"tick {run['tick_ms']} -> {run['status']} ({run['engine']}, reply {run['reply_status']})")
        if run["error"]:
            print(f"  error: {run['error']}")
        print(f"  action: {json.dumps(story['action'])}")
        for gate in story["gates"]:
            print(f"  gate {gate['gate']:<20} {'pass' if gate['passed'] else 'FAIL'}  {gate['detail']}")
        print(f"  order: {json.dumps(story['order'])}")
        for event in story["events"]:
            print(f"  event {event['kind']}: {event['detail']}")
        channels = list((story["packet"] or {}).get("channels", {}))
        print(f"  packet channels: {', '.join(channels) or '-'}; payload {run['payload_key']} ({run['archive_status']})")
        print(f"  reply: {(story['reply'] or '')[:300]}")
        return 0
    if args.action == "run-once":
        get_clone(runtime.conn, args.clone_id)  # an unknown clone is an error, not "nothing due"
        report = runtime.tick([args.clone_id], args.asset, args.force)
        print(runs_table(report.outcomes) if report.outcomes else "nothing due (use --force to run anyway)")
        print(f"due {report.due}, claimed {report.claimed}, resumed {report.resumed}: {report.counts()}")
        return 1 if report.counts()["failed"] else 0

    def show(report) -> None:
        if report.outcomes or report.resumed:
            print(runs_table(report.outcomes), flush=True)
        print(f"pass: due {report.due}, claimed {report.claimed}, resumed {report.resumed}: {report.counts()}",
              flush=True)

    passes = work(runtime, args.interval, show, max_passes=args.passes)
    print(f"worker stopped after {passes} passes")
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    from clash_pipeline.decisions.service import runtime_for
    from clash_pipeline.paper.metrics import account_metrics, reconcile
    from clash_pipeline.timeutil import now_ms

    runtime = runtime_for(load_settings())
    conn = runtime.conn
    if args.action == "mark":
        results = runtime.broker.mark(as_of(args.as_of) if args.as_of else now_ms())
        for r in results:
            print(f"account {r.account_id}: equity {r.equity:.2f} USDC, drawdown {r.drawdown_pct:.2f}%, "
                  f"{r.funding_events} funding events" + (f", closed {', '.join(r.closed)}" if r.closed else ""))
        print(f"marked {len(results)} open accounts")
        return 0
    from clash_pipeline.decisions.costs import model_costs
    from clash_pipeline.paper.positions import shown_price

    rows = conn.execute("SELECT a.account_id, a.clone_id, c.name, a.context_label, a.stopped, a.stop_reason FROM paper_accounts a "
                        "JOIN clones c USING (clone_id) WHERE (? IS NULL OR a.clone_id = ?) ORDER BY a.account_id",
                        (args.clone_id, args.clone_id)).fetchall()
    report = []
    for account_id, clone_id, name, context, stopped, reason in rows:
        positions = {coin: {"size": str(p.size), "entry": str(shown_price(p.entry)), "stop_loss": text_or_none(p.stop_loss),
                            "take_profit": text_or_none(p.take_profit)} for coin, p in runtime.broker.positions(account_id).items()}
        report.append({"account_id": account_id, "clone": name, "context": context, "stopped": bool(stopped),
                       "stop_reason": reason, "metrics": account_metrics(conn, account_id).as_dict(),
                       "reconciliation": reconcile(conn, account_id), "positions": positions,
                       "model_cost_usd": model_costs(conn, runtime.prices, clone_id, context).get(
                           (clone_id, context), {}).get("cost_micro", 0) / 1e6})
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if not report:
        print("no paper accounts" + (f" for clone {args.clone_id}" if args.clone_id else ""))
    for r in report:
        m = r["metrics"]
        print(f"account {r['account_id']} {r['clone']} [{r['context']}]{' STOPPED: ' + r['stop_reason'] if r['stopped'] else ''}")
        print(f"  equity {m['end_equity']:.2f} ({m['return_pct']:+.3f}%), max drawdown {m['max_drawdown_pct']:.3f}%, "
              f"trades {m['trades']}, fees {m['fees_usd']:.2f}, funding {m['funding_usd']:.2f}, "
              f"ledger {'balanced' if r['reconciliation']['balanced'] else 'NOT BALANCED'}, "
              f"model cost {r['model_cost_usd']:.4f} USD")
        for coin, p in r["positions"].items():
            print(f"  {coin:<10} {p['size']:>14} @ {p['entry']}  SL {p['stop_loss']}  TP {p['take_profit']}")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from clash_pipeline.decisions.service import runtime_for
    from clash_pipeline.decisions.backtest import run_backtest
    from clash_pipeline.timeutil import DAY_MS, day_start_ms

    runtime = runtime_for(load_settings())
    get_clone(runtime.conn, args.clone_id)
    start, end = day_start_ms(args.start), day_start_ms(args.end) + DAY_MS - 1
    result = run_backtest(runtime.conn, runtime.outbox, args.clone_id, start, end, args.cadence, progress=print)
    print(json.dumps(result, indent=2))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from clash_pipeline.decisions.service import runtime_for
    from clash_pipeline.decisions.replay import replay_run

    runtime = runtime_for(load_settings())
    result = replay_run(runtime.conn, runtime.outbox, args.run_id)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        for check in result["checks"]:
            print(f"  {check['check']:<8} {'match' if check['match'] else 'MISMATCH'}  derived {check['derived']}  "
                  f"recorded {check['recorded']}")
        print(f"run {args.run_id}: {'matches' if result['matches'] else 'DOES NOT MATCH'} what was recorded")
    return 0 if result["matches"] else 1


def register(commands) -> None:
    decisions = commands.add_parser("decisions", help="run, watch and explain trading decisions")
    decision_actions = decisions.add_subparsers(dest="action", required=True, metavar="ACTION")
    once = decision_actions.add_parser("run-once", help="decide what is due now for one clone")
    once.add_argument("--clone-id", type=int, required=True)
    once.add_argument("--force", action="store_true", help="run now even if this cadence tick already ran")
    once.add_argument("--asset", help="only this asset (default: every enabled asset)")
    worker = decision_actions.add_parser("worker", help="a loop that decides whatever is due; SIGINT/SIGTERM stop "
                                                        "it after the pass in progress")
    worker.add_argument("--interval", type=float, default=15.0, help="seconds between passes (default 15)")
    worker.add_argument("--passes", type=int, help="stop after this many passes (default: run until stopped)")
    story = decision_actions.add_parser("show", help="the whole story of one run: packet, prompt, reply, gates, order")
    story.add_argument("run_id", type=int)
    story.add_argument("--json", action="store_true")
    decisions.set_defaults(func=cmd_decisions)

    accounts = commands.add_parser("accounts", help="paper accounts: mark to market, show")
    account_actions = accounts.add_subparsers(dest="action", required=True, metavar="ACTION")
    mark = account_actions.add_parser("mark", help="mark every open account: funding, resting limits, SL/TP, "
                                                   "liquidations, drawdown stop, an equity point")
    mark.add_argument("--as-of", help="ms or ISO time (default now)")
    show_accounts = account_actions.add_parser("show", help="accounts with metrics, positions and the ledger check")
    show_accounts.add_argument("--clone-id", type=int)
    show_accounts.add_argument("--json", action="store_true")
    accounts.set_defaults(func=cmd_accounts)

    backtest = commands.add_parser("backtest", help="run a clone over stored history through the live code path")
    backtest.add_argument("--clone-id", type=int, required=True)
    backtest.add_argument("--start", type=day, required=True, help="first day (UTC)")
    backtest.add_argument("--end", type=day, required=True, help="last day, inclusive (UTC)")
    backtest.add_argument("--cadence", default="15m", help="decision cadence (default 15m)")
    backtest.set_defaults(func=cmd_backtest)

    replay = commands.add_parser("replay", help="re-derive a decision's verdict, order and fill from its archived "
                                                "inputs (no model call) and compare")
    replay.add_argument("run_id", type=int)
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(func=cmd_replay)
