"""`clash`: the command line of clash_pipeline. Run `clash --help` or `clash COMMAND --help`."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from clash_pipeline.settings import INTERVALS_HELP, load_settings


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _day(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def cmd_ingest(args: argparse.Namespace) -> int:
    from clash_pipeline import inprocess

    settings = load_settings()
    sources = list(inprocess.SOURCES) if args.source == "all" else [args.source]
    coins, intervals = args.coins or list(settings.coins), args.intervals or list(settings.intervals)
    start = args.start or _today()
    end = args.end or (start if args.start else _today())
    if end < start:
        print(f"--end {end} is before --start {start}", file=sys.stderr)
        return 2
    instance = inprocess.local_instance()
    print(f"{'+'.join(sources)} ({settings.source_mode}): history {start} .. {end}, coins {','.join(coins)}, "
          f"intervals {','.join(intervals)}")
    ok = True
    history = inprocess.ingest_history(settings, instance, sources, start, end, coins, intervals)
    ok = history is None or history.success
    if not args.start:
        ok = inprocess.ingest_snapshots(settings, instance, sources, coins).success and ok
    _print_status(settings)
    return 0 if ok else 1


def cmd_memory_status(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.json:
        from clash_pipeline.memory.db import open_memory
        from clash_pipeline.memory.status import memory_status

        conn = open_memory(settings.memory_path)
        print(json.dumps([s.as_dict() for s in memory_status(conn)], indent=2))
        return 0
    _print_status(settings)
    return 0


def _print_status(settings) -> None:
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.memory.status import format_status, memory_status

    conn = open_memory(settings.memory_path)
    print(f"\nmarket memory: {settings.memory_path}")
    print(format_status(memory_status(conn)))


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole pipeline on the embedded default: history for the last days, then a snapshot of every source."""
    from clash_pipeline import inprocess
    from clash_pipeline.timeutil import DAY_MS, HOUR_MS, now_ms

    settings = load_settings()
    instance = inprocess.local_instance()
    first = (datetime.now(UTC).date() - timedelta(days=args.days - 1)).isoformat()
    print(f"clash demo: source mode {settings.source_mode}, data folder {settings.home}, "
          f"archive {settings.archive_backend}")
    print(f"1/6 history {first} .. {_today()}: Hyperliquid candles, funding, volatility for "
          f"{','.join(settings.coins)} ({','.join(settings.intervals)}); DefiLlama TVL, stablecoins, throughput, flows")
    history = inprocess.ingest_history(settings, instance, inprocess.SOURCES, first, _today(), settings.coins,
                                       settings.intervals)
    print("2/6 snapshots: Hyperliquid universe, mids, contexts, books, funding pressure; Polymarket markets, "
          "horizons, books; DefiLlama capital base, throughput, asset links")
    snapshot = inprocess.ingest_snapshots(settings, instance, inprocess.SOURCES, settings.coins)
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.strategy.demo import demo_clones

    clones = demo_clones(open_memory(settings.memory_path))
    print("3/6 clones: " + ", ".join(f"{c.identity.name} ({c.control_mode}, {c.identity.key})" for c in clones))
    compiled = inprocess.compile_clones(settings, instance, [c.identity.key for c in clones])
    _print_status(settings)
    print("\n4/6 decisions (rules engine): one cadence tick through Dagster, then two forced passes")
    ticked = inprocess.decision_tick(settings, instance, log_level="WARNING")
    from clash_pipeline.decisions.service import runtime_for

    runtime = runtime_for(settings)
    forced = [o for _ in range(2) for o in runtime.tick(force=True).outcomes]
    first = forced[0].run_id if forced else None
    print(_recent_runs(runtime.conn, since_run=None if first is None else first - 60))
    print("\n5/6 paper trading: mark the live accounts, backtest Basic Betty over the last day, replay the orders")
    runtime.broker.mark(now_ms())
    from clash_pipeline.paper.backtest import run_backtest
    from clash_pipeline.paper.replay import replay_run

    end = now_ms() - now_ms() % HOUR_MS
    backtest = run_backtest(runtime.conn, runtime.outbox, clones[0].identity.clone_id, end - DAY_MS, end, "15m")
    print(f"backtest {backtest['backtest_id']}: {backtest['decisions']} decisions, result {backtest['result_sha256'][:16]}")
    ordered = [r for (r,) in runtime.conn.execute("SELECT run_id FROM decision_runs WHERE status = 'ordered' "
                                                  "AND context_label = 'live'")]
    matched = sum(replay_run(runtime.conn, runtime.outbox, r)["matches"] for r in ordered)
    print(f"clash replay: {matched} of {len(ordered)} live orders re-derived exactly from their archived inputs")
    cmd_accounts(argparse.Namespace(action="show", clone_id=None, json=False))
    print("\n6/6 the product loop, on replay history with a clock: auditions, a race with tickets, settlement")
    product_loop(runtime)
    from clash_pipeline.archive import open_archive

    archive = open_archive(settings)
    objects = [key for key, _ in archive.store.list("") if key.endswith(".gz")]
    print(f"\narchive: {len(objects)} objects in {archive.store.describe()}")
    print(f"dagster runs: {history.run_id} (history), {snapshot.run_id} (snapshots), {compiled.run_id} (read plans), "
          f"{ticked.run_id} (decision tick); `make ui` to look at them")
    print("try: clash asset links ETH; clash asset latest HYPE; clash clones list; "
          "clash graph preview clash_pipeline/strategy/examples/power_user.json")
    return 0 if history.success and snapshot.success and compiled.success and ticked.success else 1


def _recent_runs(conn, since_run: int | None, limit: int = 40) -> str:
    rows = conn.execute(
        "SELECT r.run_id, c.name, r.prompt_id, r.coin, r.status, COALESCE(a.action, '-'), "
        "COALESCE(o.side || ' ' || o.size || ' ' || o.order_type, (SELECT group_concat(gate, ',') FROM decision_gates g "
        "WHERE g.run_id = r.run_id AND g.passed = 0), '') FROM decision_runs r JOIN clones c USING (clone_id) "
        "LEFT JOIN decision_actions a USING (run_id) LEFT JOIN orders o USING (run_id) WHERE r.run_id > ? "
        "ORDER BY r.run_id LIMIT ?", (since_run or 0, limit)).fetchall()
    lines = [f"{'run':>5} {'clone':<12} {'strategy':<13} {'asset':<9} {'verdict':<9} {'action':<11} order / failing gates"]
    lines += [f"{r[0]:>5} {r[1]:<12} {r[2]:<13} {r[3]:<9} {r[4]:<9} {r[5]:<11} {r[6]}" for r in rows]
    (total,) = conn.execute("SELECT COUNT(*) FROM decision_runs").fetchone()
    counts = dict(conn.execute("SELECT status, COUNT(*) FROM decision_runs GROUP BY status").fetchall())
    (orders,) = conn.execute("SELECT COUNT(*) FROM orders").fetchone()
    return "\n".join(lines) + f"\n{total} decision runs {counts}, {orders} dry-run orders"


def product_loop(runtime) -> None:
    """The demo's loop: Basic Betty and Custom Carl audition (rules engine), Holdout Hank (hold engine) fails on
    trades; the passing clones race one 6-hour window with three tickets; the race settles and prints its receipt.
    The demo's criteria are lenient on profit (documented defaults need a non-negative return)."""
    from clash_pipeline.arena import lifecycle
    from clash_pipeline.arena.audition import AuditionCriteria, pay_fee, run_audition
    from clash_pipeline.arena.races import Arena
    from clash_pipeline.strategy import modes, store
    from clash_pipeline.timeutil import HOUR_MS, now_ms

    conn, outbox = runtime.conn, runtime.outbox
    names = {c.name: c.clone_id for c in store.list_public(conn)}
    if "Holdout Hank" not in names:
        hank = store.create_clone(conn, "Holdout Hank", modes.custom_graph(["BTC", "ETH"], {"hyperliquid": "price_action"},
                                                                         "15m", engine="hold"), "custom",
                                  bio="Waits for the perfect trade.")
        names["Holdout Hank"] = hank.identity.clone_id
    conn.execute("UPDATE clones SET creator = COALESCE(creator, '0xcreator' || printf('%04d', clone_id))")
    criteria = AuditionCriteria(profit_target_pct=-5.0)  # demo: lenient on profit, default drawdown/trades/reliability
    now = now_ms()
    audition_start = now - now % HOUR_MS - 46 * HOUR_MS
    for name in ("Basic Betty", "Custom Carl", "Holdout Hank"):
        clone_id = names[name]
        if lifecycle.state(conn, clone_id) != "created":
            print(f"  {name}: {lifecycle.state(conn, clone_id)} (from an earlier run)")
            continue
        pay_fee(conn, clone_id, f"demo-fee-{clone_id}", audition_start)
        result = run_audition(conn, outbox, clone_id, audition_start, criteria)
        failed = [c["criterion"] for c in result["criteria"] if not c["passed"]]
        print(f"  {name}: audition {'PASSED' if result['passed'] else 'FAILED (' + ', '.join(failed) + ')'}; "
              f"return {result['metrics']['return_pct']:+.3f}%, trades {result['metrics']['trades']}; "
              f"now {lifecycle.state(conn, clone_id)}")
    arena = Arena(conn, outbox)
    race = arena.accumulating(audition_start + criteria.hours * HOUR_MS)
    start, end, status = conn.execute("SELECT start_ms, end_ms, status FROM races WHERE race_id = ?",
                                      (race,)).fetchone()
    if status == "accumulating":
        in_arena = [c for (c,) in conn.execute("SELECT clone_id FROM clone_lifecycle WHERE state = 'in_arena' "
                                               "ORDER BY clone_id")]
        for i, (holder, clone_id) in enumerate(zip(("0xalice", "0xbob", "0xcarol"), in_arena * 3)):
            arena.buy_ticket(race, clone_id, holder, f"demo-sale-{race}-{i}", start - 60_000)
    for line in arena.advance(end + 60_000):
        print(f"  {line}")
    standings = conn.execute("SELECT e.rank, c.name, e.return_pct FROM race_entrants e JOIN clones c USING (clone_id) "
                             "WHERE race_id = ? ORDER BY e.rank", (race,)).fetchall()
    print(f"  race {race}: " + ", ".join(f"#{r} {n} {p:+.3f}%" for r, n, p in standings))
    stored = conn.execute("SELECT receipt_json FROM settlements WHERE race_id = ?", (race,)).fetchone()
    if stored:
        print(_receipt_text(json.loads(stored[0])))


def cmd_asset_links(args: argparse.Namespace) -> int:
    """Why each DefiLlama and Polymarket row reaches an asset's context."""
    from clash_pipeline.links.report import asset_links
    from clash_pipeline.memory.db import open_memory

    report = asset_links(open_memory(load_settings().memory_path), args.symbol)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.symbol}: {report['asset'] or 'not in the Hyperliquid universe'}")
    print("\nDefiLlama links (chain and stablecoin rows this asset receives):")
    for link in report["defillama_links"] or [{"subject_kind": "-", "subject": "none", "reason": "no link"}]:
        print(f"  {link['subject_kind']:<11} {link['subject']:<20} {link['reason']}")
    print("\nDefiLlama global rows (every asset receives them):")
    for row in report["defillama_global"]:
        print(f"  {row['table']:<22} {row['rows']:>6} rows, latest {row['latest']}")
    print("\nPolymarket markets (links/polymarket.toml):")
    for row in report["polymarket_horizons"]:
        print(f"  {row['horizon']:<16} {row['question']}  (ends {row['end']})")
    print(f"  {report['polymarket_linked_markets']} linked markets in all")
    return 0


def _memory():
    from clash_pipeline.memory.db import open_memory

    return open_memory(load_settings().memory_path)


def _print_problems(error) -> int:
    print(f"rejected: {len(error.problems)} problem(s)", file=sys.stderr)
    for problem in error.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def _read_graph(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise SystemExit(f"cannot read graph file {path}: {error}") from None


def cmd_clones(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from clash_pipeline.strategy import modes, store
    from clash_pipeline.strategy.graph import GraphInvalid

    conn = _memory()
    if args.action == "list":
        identities = [asdict(i) for i in store.list_public(conn)]
        if args.json:
            print(json.dumps(identities, indent=2))
        for i in identities if not args.json else []:
            print(f"{i['clone_id']:>6}  {i['name']:<24} {i['status']:<8} {i['bio'] or ''}")
        return 0
    if args.action == "show":
        clone = store.get_clone(conn, args.clone_id)
        view = {"identity": asdict(clone.identity)}
        if not args.public:
            view.update({"control_mode": clone.control_mode, "version": clone.version,
                         "graph": clone.graph.model_dump(mode="json")})
        print(json.dumps(view, indent=2) if args.json else _describe_clone(view))
        return 0
    try:
        if args.mode == "basic":
            graph = modes.basic_graph(args.risk, args.category, args.subcategory, args.cadence, args.engine)
        elif args.mode == "custom":
            if not args.assets:
                raise SystemExit("--mode custom needs --assets")
            presets = dict(item.split("=", 1) for item in args.presets)
            graph = modes.custom_graph(args.assets, presets, args.cadence, args.risk, args.engine)
        else:
            if not args.graph:
                raise SystemExit("--mode power needs --graph FILE")
            graph = _read_graph(args.graph)
        clone = store.create_clone(conn, args.name, graph, args.mode, args.avatar_url, args.bio)
    except GraphInvalid as error:
        return _print_problems(error)
    print(json.dumps(asdict(clone.identity)) if args.json else
          f"created clone {clone.identity.clone_id} ({clone.identity.key}) {clone.identity.name!r}, "
          f"{clone.control_mode} mode, version {clone.version}")
    return 0


def _describe_clone(view: dict) -> str:
    identity = view["identity"]
    lines = [f"clone {identity['clone_id']}: {identity['name']} [{identity['status']}]",
             f"  avatar: {identity['avatar_url'] or '-'}", f"  bio: {identity['bio'] or '-'}"]
    if "graph" in view:
        lines.append(f"  {view['control_mode']} mode, active version {view['version']}")
        for block in view["graph"]["blocks"]:
            lines.append(f"    {block['kind']:<15} {block['id']}")
    return "\n".join(lines)


def _as_of(value: str | None) -> int:
    from clash_pipeline.timeutil import now_ms, to_ms

    if value is None:
        return now_ms()
    if value.isdigit():
        return int(value)
    try:
        return to_ms(datetime.fromisoformat(value))
    except ValueError:
        raise SystemExit(f"--as-of must be ms or an ISO time, not {value!r}") from None


def cmd_graph(args: argparse.Namespace) -> int:
    from clash_pipeline.strategy.graph import GraphInvalid
    from clash_pipeline.strategy.packet import build_packet
    from clash_pipeline.strategy.store import validate

    conn = _memory()
    try:
        graph, compiled = validate(conn, _read_graph(args.file))
    except GraphInvalid as error:
        if args.json:
            print(json.dumps({"valid": False, "problems": [vars(p) for p in error.problems]}, indent=2))
            return 1
        return _print_problems(error)
    if args.action == "validate":
        print(json.dumps({"valid": True, **compiled.summary()}, indent=2) if args.json else
              f"valid: {sum(len(p.assets) for p in compiled.prompts)} (prompt, asset) pairs, "
              f"strategy {compiled.strategy_hash[:12]}")
        return 0
    as_of = _as_of(args.as_of)
    packets = [build_packet(conn, plan, as_of) for plan in compiled.asset_plans()]
    if args.json:
        print(json.dumps({"plan": compiled.as_dict(), "packets": packets}, indent=2))
        return 0
    for prompt in compiled.prompts:
        print(f"prompt {prompt.prompt_id}: engine {prompt.engine}, cadence {prompt.cadence}")
        for plan, packet in zip(prompt.assets, [p for p in packets if p["prompt_id"] == prompt.prompt_id]):
            sizes = ", ".join(f"{name} {sum(len(r['rows']) for r in ch['reads'].values())}"
                              for name, ch in packet["channels"].items())
            print(f"  {plan.coin:<10} {len(plan.reads)} reads -> {sizes}")
    return 0


def cmd_asset_latest(args: argparse.Namespace) -> int:
    """The structured memory an asset receives now: every source's default profile."""
    from clash_pipeline.strategy.graph import GraphInvalid
    from clash_pipeline.strategy.modes import custom_graph
    from clash_pipeline.strategy.packet import build_packet
    from clash_pipeline.strategy.store import validate

    conn = _memory()
    try:
        graph = custom_graph([args.symbol], {"hyperliquid": "full", "polymarket": "prediction_markets",
                                             "defillama": "macro"})
        _, compiled = validate(conn, graph)
    except GraphInvalid as error:
        return _print_problems(error)
    packet = build_packet(conn, compiled.asset_plans()[0], _as_of(args.as_of))
    if args.json:
        print(json.dumps(packet, indent=2))
        return 0
    print(f"{packet['asset']} ({packet['symbol']}) as of {packet['as_of_ms']}")
    for name, channel in packet["channels"].items():
        for read, body in channel["reads"].items():
            latest = body["rows"][-1] if body["rows"] else None
            print(f"  {name}.{read:<18} {len(body['rows']):>4} rows; latest {latest}")
    return 0


def _runs_table(outcomes) -> str:
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
        try:
            story = run_story(runtime.conn, runtime.outbox, args.run_id)
        except KeyError as error:
            print(error.args[0], file=sys.stderr)
            return 1
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
        report = runtime.tick([args.clone_id], args.asset, args.force)
        print(_runs_table(report.outcomes) if report.outcomes else "nothing due (use --force to run anyway)")
        print(f"due {report.due}, claimed {report.claimed}, resumed {report.resumed}: {report.counts()}")
        return 1 if report.counts()["failed"] else 0

    def show(report) -> None:
        if report.outcomes or report.resumed:
            print(_runs_table(report.outcomes), flush=True)
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
        results = runtime.broker.mark(_as_of(args.as_of) if args.as_of else now_ms())
        for r in results:
            print(f"account {r.account_id}: equity {r.equity:.2f} USDC, drawdown {r.drawdown_pct:.2f}%, "
                  f"{r.funding_events} funding events" + (f", closed {', '.join(r.closed)}" if r.closed else ""))
        print(f"marked {len(results)} open accounts")
        return 0
    rows = conn.execute("SELECT a.account_id, c.name, a.context_label, a.stopped, a.stop_reason FROM paper_accounts a "
                        "JOIN clones c USING (clone_id) WHERE (? IS NULL OR a.clone_id = ?) ORDER BY a.account_id",
                        (args.clone_id, args.clone_id)).fetchall()
    report = []
    for account_id, name, context, stopped, reason in rows:
        positions = {coin: {"size": str(p.size), "entry": str(p.entry), "stop_loss": _str(p.stop_loss),
                            "take_profit": _str(p.take_profit)} for coin, p in runtime.broker.positions(account_id).items()}
        report.append({"account_id": account_id, "clone": name, "context": context, "stopped": bool(stopped),
                       "stop_reason": reason, "metrics": account_metrics(conn, account_id).as_dict(),
                       "reconciliation": reconcile(conn, account_id), "positions": positions})
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for r in report:
        m = r["metrics"]
        print(f"account {r['account_id']} {r['clone']} [{r['context']}]{' STOPPED: ' + r['stop_reason'] if r['stopped'] else ''}")
        print(f"  equity {m['end_equity']:.2f} ({m['return_pct']:+.3f}%), max drawdown {m['max_drawdown_pct']:.3f}%, "
              f"trades {m['trades']}, fees {m['fees_usd']:.2f}, funding {m['funding_usd']:.2f}, "
              f"ledger {'balanced' if r['reconciliation']['balanced'] else 'NOT BALANCED'}")
        for coin, p in r["positions"].items():
            print(f"  {coin:<10} {p['size']:>14} @ {p['entry']}  SL {p['stop_loss']}  TP {p['take_profit']}")
    return 0


def _str(value) -> str | None:
    return None if value is None else str(value)


def cmd_backtest(args: argparse.Namespace) -> int:
    from clash_pipeline.decisions.service import runtime_for
    from clash_pipeline.paper.backtest import run_backtest
    from clash_pipeline.timeutil import DAY_MS, day_start_ms

    runtime = runtime_for(load_settings())
    start, end = day_start_ms(args.start), day_start_ms(args.end) + DAY_MS - 1
    result = run_backtest(runtime.conn, runtime.outbox, args.clone_id, start, end, args.cadence, progress=print)
    print(json.dumps(result, indent=2))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from clash_pipeline.decisions.service import runtime_for
    from clash_pipeline.paper.replay import replay_run

    runtime = runtime_for(load_settings())
    try:
        result = replay_run(runtime.conn, runtime.outbox, args.run_id)
    except KeyError as error:
        print(error.args[0], file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        for check in result["checks"]:
            print(f"  {check['check']:<8} {'match' if check['match'] else 'MISMATCH'}  derived {check['derived']}  "
                  f"recorded {check['recorded']}")
        print(f"run {args.run_id}: {'matches' if result['matches'] else 'DOES NOT MATCH'} what was recorded")
    return 0 if result["matches"] else 1


def _emit(data, as_json: bool, text) -> int:
    print(json.dumps(data, indent=2, default=str) if as_json else text(data))
    return 0


def _arena(settings=None):
    from clash_pipeline.arena.races import Arena
    from clash_pipeline.decisions.service import runtime_for

    runtime = runtime_for(settings or load_settings())
    return Arena(runtime.conn, runtime.outbox), runtime


def cmd_lifecycle(args: argparse.Namespace) -> int:
    from clash_pipeline.arena import lifecycle

    arena, _ = _arena()
    try:
        data = {"clone_id": args.clone, "state": lifecycle.state(arena.conn, args.clone),
                "events": lifecycle.history(arena.conn, args.clone)}
    except KeyError as error:
        print(error.args[0], file=sys.stderr)
        return 1
    return _emit(data, args.json, lambda d: f"clone {d['clone_id']}: {d['state']}\n" + "\n".join(
        f"  {e['ts_ms']}  {e['from']} -> {e['to']}  ({e['cause']})" for e in d["events"]))


def cmd_audition(args: argparse.Namespace) -> int:
    from clash_pipeline.arena import lifecycle
    from clash_pipeline.arena.audition import AuditionCriteria, pay_fee, run_audition
    from clash_pipeline.timeutil import HOUR_MS

    arena, _ = _arena()
    conn = arena.conn
    if args.action == "start":
        criteria = AuditionCriteria(profit_target_pct=args.profit_target, max_drawdown_pct=args.max_drawdown,
                                    min_trades=args.min_trades, min_reliability=args.min_reliability, hours=args.hours)
        start = _as_of(args.start) if args.start else _as_of(None) - criteria.hours * HOUR_MS
        try:
            if lifecycle.state(conn, args.clone) in ("created", "failed"):
                pay_fee(conn, args.clone, args.payment_ref, start)
            result = run_audition(conn, arena.outbox, args.clone, start, criteria, args.slots)
        except (lifecycle.IllegalTransition, KeyError) as error:
            print(error, file=sys.stderr)
            return 1
        return _emit(result, args.json, lambda r: f"audition {r['audition_id']} of clone {r['clone_id']}: "
                     f"{'PASSED' if r['passed'] else 'FAILED'}\n" + "\n".join(
                         f"  {c['criterion']:<16} {'pass' if c['passed'] else 'FAIL'}  {c['value']} (needs "
                         f"{c['threshold']})" for c in r["criteria"]))
    rows = [dict(zip(("audition_id", "clone_id", "start_ms", "end_ms", "status"), row)) for row in conn.execute(
        "SELECT audition_id, clone_id, start_ms, end_ms, status FROM auditions ORDER BY audition_id")]
    return _emit(rows, args.json, lambda rs: "\n".join(
        f"audition {r['audition_id']}: clone {r['clone_id']} {r['status']}" for r in rs) or "no auditions")


def cmd_arena(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.careers import leaderboard

    arena, _ = _arena()
    conn = arena.conn
    if args.action == "advance":
        for line in arena.advance(_as_of(args.to)):
            print(line)
        return 0
    now = _as_of(None)
    data = {"slots": arena.config.slots, "accumulating_race": arena.accumulating(now),
            "leaderboard": leaderboard(conn),
            "queue": [c for (c,) in conn.execute("SELECT clone_id FROM promotion_queue ORDER BY passed_ms, clone_id")],
            "races": [dict(zip(("race_id", "status"), r)) for r in conn.execute(
                "SELECT race_id, status FROM races ORDER BY start_ms DESC LIMIT 10")]}
    return _emit(data, args.json, lambda d: f"arena: {len(d['leaderboard'])}/{d['slots']} slots, queue {d['queue']}, "
                 f"accumulating {d['accumulating_race']}\n" + "\n".join(
                     f"  {b['name']:<16} races {b['races']} wins {b['wins']}" for b in d["leaderboard"]))


def cmd_race(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.careers import race_results

    arena, _ = _arena()
    conn = arena.conn
    race = conn.execute("SELECT race_id, start_ms, end_ms, status, carry_in_wei FROM races WHERE race_id = ?",
                        (args.race_id,)).fetchone()
    if race is None:
        print(f"no race {args.race_id}", file=sys.stderr)
        return 1
    if args.action == "settle":
        try:
            receipt = arena.settle(args.race_id, _as_of(None))
        except ValueError as error:
            print(error, file=sys.stderr)
            return 1
        return _emit(receipt, args.json, _receipt_text)
    stored = conn.execute("SELECT receipt_json FROM settlements WHERE race_id = ?", (args.race_id,)).fetchone()
    data = {"race": dict(zip(("race_id", "start_ms", "end_ms", "status", "carry_in_wei"), race)),
            "standings": race_results(conn, args.race_id),
            "tickets": conn.execute("SELECT COUNT(*) FROM tickets WHERE race_id = ?", (args.race_id,)).fetchone()[0],
            "settlement": json.loads(stored[0]) if stored else None}
    return _emit(data, args.json, lambda d: f"race {d['race']['race_id']} [{d['race']['status']}], "
                 f"{d['tickets']} tickets\n" + "\n".join(
                     f"  #{s['rank']} {s['name']:<16} return {s['return_pct']}% drawdown {s['max_drawdown_pct']}% "
                     f"tickets {s['tickets']}" for s in d["standings"]))


def _receipt_text(receipt: dict) -> str:
    lines = [f"settlement of race {receipt['race_id']}: pool {receipt['pool_wei']} wei "
             f"(sales {receipt['sales_wei']}, carry in {receipt['carry_in_wei']})"]
    lines += [f"  {kind:<15} {recipient:<20} {amount:>22} wei  {note}" for kind, recipient, amount, note in
              receipt["lines"]]
    lines.append(f"  receipt sha256 {receipt['sha256']}")
    return "\n".join(lines)


def cmd_tickets(args: argparse.Namespace) -> int:
    arena, _ = _arena()
    try:
        ticket = arena.buy_ticket(args.race, args.clone, args.holder, args.ref or f"{args.race}:{args.holder}:"
                                  f"{args.clone}:{_as_of(None)}", _as_of(None))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    return _emit({"ticket_id": ticket, "race": args.race, "clone": args.clone, "holder": args.holder,
                  "amount_wei": str(10**16)}, args.json, lambda t: f"ticket {t['ticket_id']}: {t['holder']} backs "
                 f"clone {t['clone']} in race {t['race']} (0.01 ETH)")


def cmd_hall_of_fame(args: argparse.Namespace) -> int:
    from clash_pipeline.arena.careers import hall_of_fame

    arena, _ = _arena()
    return _emit(hall_of_fame(arena.conn), args.json, lambda rows: "\n".join(
        f"{i + 1:>3}. {r['name']:<16} races {r['races']} wins {r['wins']} avg return {r['average_return_pct']} "
        f"({r['reason']})" for i, r in enumerate(rows)) or "the Hall of Fame is empty")


def cmd_record(args: argparse.Namespace) -> int:
    """Live pulls that save every response in the replay layout (see README: Replay and recordings)."""
    from clash_pipeline.ingest import hyperliquid as ingest
    from clash_pipeline.sources.connect import hyperliquid_client
    from clash_pipeline.timeutil import DAY_MS, day_start_ms

    settings = load_settings({**__import__("os").environ, "CLASH_SOURCE_MODE": "live"})
    coins, intervals = args.coins or list(settings.coins), args.intervals or list(settings.intervals)
    client = hyperliquid_client(settings, record_dir=Path(args.out))
    try:
        raws = ingest.pull_snapshot(client, coins)
        if args.start:
            start, end = day_start_ms(args.start), day_start_ms(args.end or args.start) + DAY_MS
            raws += ingest.pull_candles(client, coins, intervals, start, end, print)
            raws += ingest.pull_funding(client, coins, start, end, print)
    finally:
        client.close()
    print(f"recorded {len(raws)} responses under {args.out}; replay with CLASH_REPLAY_DIR={args.out}")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    """ls / get / verify / drain over the configured archive (local folder or R2)."""
    import random

    from clash_pipeline.archive import open_archive
    from clash_pipeline.archive.archive import ArchiveIntegrityError
    from clash_pipeline.archive.outbox import Outbox
    from clash_pipeline.memory.db import open_memory

    settings = load_settings()
    archive = open_archive(settings)
    if args.action == "ls":
        entries = [(key, size) for key, size in archive.store.list(args.prefix) if args.refs or not key.startswith("refs/")]
        for key, size in entries:
            print(f"{size:>12}  {key}")
        print(f"{len(entries)} objects, {sum(s for _, s in entries):,} bytes in {archive.store.describe()}",
              file=sys.stderr)
        return 0
    if args.action == "get":
        payload = archive.get(args.key)
        if args.out:
            Path(args.out).write_bytes(payload)
        else:
            sys.stdout.buffer.write(payload)
        return 0
    if args.action == "verify":
        keys = [key for key, _ in archive.store.list("") if key.endswith(".gz")]
        if args.sample and args.sample < len(keys):
            keys = random.Random(0).sample(keys, args.sample)
        bad = []
        for key in keys:
            try:
                archive.get(key)
            except ArchiveIntegrityError as error:
                bad.append(str(error))
                print(error, file=sys.stderr)
        print(f"verified {len(keys)} objects: {len(keys) - len(bad)} ok, {len(bad)} corrupt")
        return 1 if bad else 0
    result = Outbox(settings.outbox_dir, open_memory(settings.memory_path), archive).drain()
    for error in result.errors:
        print(error, file=sys.stderr)
    print(f"drained {result.uploaded} objects to {archive.store.describe()}; {result.pending} still pending")
    return 1 if result.errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clash", description="clash_pipeline: market memory and the paper-trading runtime of Clash of Clones.",
        epilog="Settings come from the environment: CLASH_HOME, CLASH_SOURCE_MODE, HYPERLIQUID_API_URL, "
               "CLASH_REPLAY_DIR, CLASH_COINS, CLASH_INTERVALS (see README).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the whole pipeline on the embedded default and print a summary")
    demo.add_argument("--days", type=int, default=3, help="days of history to ingest, ending today (default 3)")
    demo.set_defaults(func=cmd_demo)

    ingest = commands.add_parser("ingest", help="ingest a source into market memory")
    sources = ingest.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for source, what in (("hyperliquid", "candles, funding history, volatility; universe, mids, contexts, books"),
                         ("polymarket", "related markets, links to symbols, horizons, books (snapshot only)"),
                         ("defillama", "TVL, stablecoins, throughput, flows; chains and asset links"),
                         ("all", "all three sources")):
        parser_ = sources.add_parser(
            source, help=what,
            description=f"{source}: {what}. Runs the Dagster assets in process on the local instance (the runs "
                        "show in the UI). With --start/--end: the daily history partitions of that range, in one "
                        "run. Without: today's history partition, then a snapshot.")
        _coin_args(parser_)
        parser_.add_argument("--start", type=_day, help="first day, YYYY-MM-DD (UTC)")
        parser_.add_argument("--end", type=_day, help="last day, inclusive, YYYY-MM-DD (default: --start)")
        parser_.set_defaults(func=cmd_ingest)

    clones = commands.add_parser("clones", help="create, show and list clones")
    clone_actions = clones.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = clone_actions.add_parser("create", help="create a clone from a control mode (validated, versioned)")
    create.add_argument("--name", required=True)
    create.add_argument("--mode", choices=("basic", "custom", "power"), default="basic")
    create.add_argument("--risk", choices=("low", "medium", "high"), default="medium", help="basic/custom")
    create.add_argument("--category", default="Crypto", help="basic: Perps, Spot, Crypto, Tradfi, Trending, ...")
    create.add_argument("--subcategory", default=None, help="basic: e.g. Layer 1, AI, Stocks")
    create.add_argument("--cadence", default="15m", help="1m, 5m, 15m, 1h, 4h or 1d")
    create.add_argument("--engine", choices=("hold", "rules", "openai"), default="rules")
    create.add_argument("--assets", type=_csv, help="custom: symbols, e.g. BTC,ETH,HYPE/USDC")
    create.add_argument("--presets", type=_csv, default=["hyperliquid=price_action", "defillama=macro"],
                        help="custom: source=profile pairs (default hyperliquid=price_action,defillama=macro)")
    create.add_argument("--graph", help="power: a graph JSON file")
    create.add_argument("--avatar-url")
    create.add_argument("--bio")
    create.add_argument("--json", action="store_true")
    show = clone_actions.add_parser("show", help="a clone: identity, mode, active version and graph")
    show.add_argument("clone_id", type=int)
    show.add_argument("--public", action="store_true", help="only what the public sees (no strategy)")
    show.add_argument("--json", action="store_true")
    listing = clone_actions.add_parser("list", help="public identities of every clone")
    listing.add_argument("--json", action="store_true")
    clones.set_defaults(func=cmd_clones)

    graph = commands.add_parser("graph", help="validate or preview a draft graph file (nothing is stored)")
    graph_actions = graph.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, what in (("validate", "list every problem, by block id and field"),
                         ("preview", "compiled read plans and effective context packets")):
        sub = graph_actions.add_parser(action, help=what)
        sub.add_argument("file", help="a graph JSON file: {blocks, edges, layout}")
        sub.add_argument("--json", action="store_true")
        if action == "preview":
            sub.add_argument("--as-of", help="packet time: ms or ISO (default now); nothing after it is read")
    graph.set_defaults(func=cmd_graph)

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
    backtest.add_argument("--start", type=_day, required=True, help="first day (UTC)")
    backtest.add_argument("--end", type=_day, required=True, help="last day, inclusive (UTC)")
    backtest.add_argument("--cadence", default="15m", help="decision cadence (default 15m)")
    backtest.set_defaults(func=cmd_backtest)

    replay = commands.add_parser("replay", help="re-derive a decision's verdict, order and fill from its archived "
                                                "inputs (no model call) and compare")
    replay.add_argument("run_id", type=int)
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(func=cmd_replay)

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

    asset = commands.add_parser("asset", help="what context an asset receives")
    asset_actions = asset.add_subparsers(dest="asset_command", required=True, metavar="ACTION")
    links = asset_actions.add_parser("links", help="the DefiLlama and Polymarket rows linked to a symbol, and why")
    links.add_argument("symbol", help="a symbol of the universe: ETH, HYPE, USDC, xyz:TSLA, ...")
    links.add_argument("--json", action="store_true", help="print JSON")
    links.set_defaults(func=cmd_asset_links)
    latest = asset_actions.add_parser("latest", help="the structured memory an asset receives (all sources)")
    latest.add_argument("symbol")
    latest.add_argument("--as-of", help="ms or ISO time (default now)")
    latest.add_argument("--json", action="store_true")
    latest.set_defaults(func=cmd_asset_latest)

    memory = commands.add_parser("memory", help="inspect market memory")
    memory_commands = memory.add_subparsers(dest="memory_command", required=True, metavar="ACTION")
    status = memory_commands.add_parser("status", help="every table with its row count and time range")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=cmd_memory_status)

    archive = commands.add_parser("archive", help="the artifact archive (local folder or R2)")
    actions = archive.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = actions.add_parser("ls", help="list objects (size and key) under a prefix")
    ls.add_argument("prefix", nargs="?", default="", help="key prefix, e.g. hyperliquid_candles_raw/2026-11-28")
    ls.add_argument("--refs", action="store_true", help="also list the refs/ pointers")
    get = actions.add_parser("get", help="print an object's payload (hash-verified, decompressed)")
    get.add_argument("key")
    get.add_argument("--out", help="write to this file instead of standard output")
    verify = actions.add_parser("verify", help="re-hash objects and report any whose bytes do not match their key")
    verify.add_argument("--sample", type=int, help="check this many objects, chosen at random (default: all)")
    actions.add_parser("drain", help="upload payloads waiting in the local outbox, idempotently")
    archive.set_defaults(func=cmd_archive)

    record = commands.add_parser("record", help="call the live API and save every response for replay")
    record.add_argument("--out", required=True, help="folder for the recordings (then CLASH_REPLAY_DIR=that)")
    _coin_args(record)
    record.add_argument("--start", type=_day, help="also record history from this day (YYYY-MM-DD)")
    record.add_argument("--end", type=_day, help="last day of history, inclusive (default: --start)")
    record.set_defaults(func=cmd_record)
    return parser


def _coin_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coins", type=_csv, help="comma-separated coins, API names (BTC,ETH,xyz:TSLA,@107); "
                                                   "default CLASH_COINS")
    parser.add_argument("--intervals", type=_csv, help=f"comma-separated candle intervals ({INTERVALS_HELP}); "
                                                       "default CLASH_INTERVALS")


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message=r".*currently in beta")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
