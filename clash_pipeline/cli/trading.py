"""Trading commands: decisions, accounts, backtest, replay."""

from __future__ import annotations

import argparse
import json

from clash_pipeline.cli.common import as_of, day, day_range, positive_int, positive_number, progress, text_or_none
from clash_pipeline.settings import load_settings
from clash_pipeline.strategy.catalog import CADENCES
from clash_pipeline.strategy.store import get_clone
from clash_pipeline.universe.names import display_names


def runs_table(outcomes, names: dict[str, str] | None = None) -> str:
    """One line per decision run; `names` gives the readable asset names (HYPE/USDC for @107)."""
    names = names or {}
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
        coin = names.get(o.due.coin, o.due.coin)
        lines.append(f"{o.run_id:>6} {o.due.clone_id:>6} {o.due.prompt_id:<14} {coin:<10} {o.status:<9} "
                     f"{action:<11} {what}")
    return "\n".join(lines)


def runs_json(report) -> dict:
    """A tick's report as JSON: counts and one entry per run (verdict, action, order or failing gates)."""
    runs = []
    for o in report.outcomes:
        order = o.gates.order if o.gates else None
        runs.append({"run_id": o.run_id, "clone_id": o.due.clone_id, "prompt_id": o.due.prompt_id, "coin": o.due.coin,
                     "status": o.status,
                     "action": o.proposal.action.action if o.proposal and o.proposal.action else None,
                     "order": None if order is None else {"side": order.side, "size": str(order.size),
                                                          "price": text_or_none(order.price),
                                                          "order_type": order.order_type},
                     "failing_gates": [g for g, ok, _ in o.gates.verdicts if not ok] if o.gates else [],
                     "error": o.error})
    return {"due": report.due, "claimed": report.claimed, "resumed": report.resumed, "counts": report.counts(),
            "runs": runs}


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
        coin = display_names(runtime.conn).get(run["coin"], run["coin"])
        print(f"run {run['run_id']}: clone {run['clone_id']} v{run['version']} {run['prompt_id']} {coin} "
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
        if args.json:
            print(json.dumps(runs_json(report), indent=2))
            return 1 if report.counts()["failed"] else 0
        print(runs_table(report.outcomes, display_names(runtime.conn)) if report.outcomes
              else "nothing due (use --force to run anyway)")
        print(f"due {report.due}, claimed {report.claimed}, resumed {report.resumed}: {report.counts()}")
        return 1 if report.counts()["failed"] else 0

    def show(report) -> None:
        if args.json:  # one JSON object per line and pass
            print(json.dumps(runs_json(report)), flush=True)
            return
        if report.outcomes or report.resumed:
            print(runs_table(report.outcomes, display_names(runtime.conn)), flush=True)
        print(f"pass: due {report.due}, claimed {report.claimed}, resumed {report.resumed}: {report.counts()}",
              flush=True)

    passes = work(runtime, args.interval, show, max_passes=args.passes)
    if args.json:  # stdout holds only the passes' JSON lines
        progress(args, f"worker stopped after {passes} passes")
    else:
        print(f"worker stopped after {passes} passes")
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    from clash_pipeline.decisions.service import runtime_for
    from clash_pipeline.paper.metrics import account_metrics, reconcile
    from clash_pipeline.timeutil import now_ms

    when = as_of(args.as_of) if getattr(args, "as_of", None) else now_ms()  # refused before anything opens
    runtime = runtime_for(load_settings())
    conn = runtime.conn
    if args.action == "mark":
        results = runtime.broker.mark(when)
        if args.json:
            print(json.dumps([{"account_id": r.account_id, "equity": str(r.equity), "drawdown_pct": str(r.drawdown_pct),
                               "funding_events": r.funding_events, "closed": r.closed} for r in results], indent=2))
            return 0
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
    names = display_names(conn)
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
            print(f"  {names.get(coin, coin):<10} {p['size']:>14} @ {p['entry']}  SL {p['stop_loss']}  "
                  f"TP {p['take_profit']}")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from clash_pipeline.decisions.service import runtime_for
    from clash_pipeline.decisions.backtest import run_backtest
    from clash_pipeline.timeutil import DAY_MS, day_start_ms

    settings = load_settings()
    day_range(args.start, args.end, settings)
    runtime = runtime_for(settings)
    get_clone(runtime.conn, args.clone_id)
    start, end = day_start_ms(args.start), day_start_ms(args.end) + DAY_MS - 1
    result = run_backtest(runtime.conn, runtime.outbox, args.clone_id, start, end, args.cadence,
                          progress=lambda line: progress(args, line))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    m = result["metrics"]
    print(f"backtest {result['backtest_id']} [{result['context']}]: {result['ticks']} ticks, {result['decisions']} "
          "decisions" + (f"; return {m['return_pct']:+.3f}%, max drawdown {m['max_drawdown_pct']:.3f}%, trades "
                         f"{m['trades']}, fees {m['fees_usd']:.2f}" if m else "; no trades, no account")
          + f"; result {(result['result_sha256'] or '-')[:16]}")
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
    once.add_argument("--json", action="store_true", help="print the runs as JSON")
    worker = decision_actions.add_parser("worker", help="a loop that decides whatever is due; SIGINT/SIGTERM stop "
                                                        "it after the pass in progress")
    worker.add_argument("--interval", type=positive_number, default=15.0, help="seconds between passes (default 15)")
    worker.add_argument("--passes", type=positive_int, help="stop after this many passes (default: run until stopped)")
    worker.add_argument("--json", action="store_true", help="one JSON object per pass and line")
    story = decision_actions.add_parser("show", help="the whole story of one run: packet, prompt, reply, gates, order")
    story.add_argument("run_id", type=int)
    story.add_argument("--json", action="store_true")
    decisions.set_defaults(func=cmd_decisions)

    accounts = commands.add_parser("accounts", help="paper accounts: mark to market, show")
    account_actions = accounts.add_subparsers(dest="action", required=True, metavar="ACTION")
    mark = account_actions.add_parser("mark", help="mark every open account: funding, resting limits, SL/TP, "
                                                   "liquidations, drawdown stop, an equity point")
    mark.add_argument("--as-of", help="ms or ISO time (default now)")
    mark.add_argument("--json", action="store_true")
    show_accounts = account_actions.add_parser("show", help="accounts with metrics, positions and the ledger check")
    show_accounts.add_argument("--clone-id", type=int)
    show_accounts.add_argument("--json", action="store_true")
    accounts.set_defaults(func=cmd_accounts)

    backtest = commands.add_parser("backtest", help="run a clone over stored history through the live code path")
    backtest.add_argument("--clone-id", type=int, required=True)
    backtest.add_argument("--start", type=day, required=True, help="first day (UTC), from CLASH_HISTORY_START")
    backtest.add_argument("--end", type=day, required=True, help="last day, inclusive (UTC), up to today")
    backtest.add_argument("--cadence", default="15m", choices=CADENCES, help="decision cadence (default 15m)")
    backtest.add_argument("--json", action="store_true", help="print the result as JSON")
    backtest.set_defaults(func=cmd_backtest)

    replay = commands.add_parser("replay", help="re-derive a decision's verdict, order and fill from its archived "
                                                "inputs (no model call) and compare")
    replay.add_argument("run_id", type=int)
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(func=cmd_replay)
