"""`clash demo`: the whole pipeline on the embedded default, end to end."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

from clash_pipeline.cli.common import day_range, positive_int, print_status, today
from clash_pipeline.cli.market import run_log
from clash_pipeline.cli.trading import cmd_accounts
from clash_pipeline.cli.arena import receipt_text
from clash_pipeline.settings import load_settings


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole pipeline on the embedded default; with --json the tour goes to stderr and a summary to stdout."""
    if not args.json:
        return tour(args)[0]
    with contextlib.redirect_stdout(sys.stderr):
        code, summary = tour(args)
    print(json.dumps(summary, indent=2))
    return code


def tour(args: argparse.Namespace) -> tuple[int, dict]:
    """History for the last days, a snapshot of every source, clones, the product loop run forward, decisions,
    paper trading; every stage a named Dagster run."""
    from clash_pipeline import inprocess
    from clash_pipeline.timeutil import DAY_MS, HOUR_MS, now_ms

    settings = load_settings()
    first = (datetime.now(UTC).date() - timedelta(days=args.days - 1)).isoformat()
    day_range(first, today(), settings)
    log = run_log(args)
    instance = inprocess.local_instance()
    print(f"clash demo: source mode {settings.source_mode}, data folder {settings.home}, "
          f"archive {settings.archive_backend}")
    print(f"1/6 history {first} .. {today()}: Hyperliquid candles, funding, volatility for "
          f"{','.join(settings.coins)} ({','.join(settings.intervals)}); DefiLlama TVL, stablecoins, throughput, flows")
    config = {"config": {"coins": list(settings.coins), "intervals": list(settings.intervals)}}
    days = (first, today())
    history = [inprocess.run_job(instance, "hyperliquid_history_job", partition_range=days, run_log=log,
                                 ops={"hyperliquid_candles_raw": config, "hyperliquid_funding_history_raw": config}),
               inprocess.run_job(instance, "defillama_history_job", partition_range=days, run_log=log)]
    print("2/6 snapshots: Hyperliquid universe, mids, contexts, books, funding pressure; Polymarket markets, "
          "horizons, books; DefiLlama capital base, throughput, asset links")
    snapshot = [inprocess.run_job(instance, "hyperliquid_snapshot_job", run_log=log,
                                  ops={"hyperliquid_snapshot_raw": {"config": {"book_coins": list(settings.coins)}}}),
                inprocess.run_job(instance, "polymarket_snapshot_job", run_log=log),
                inprocess.run_job(instance, "defillama_snapshot_job", run_log=log)]
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.strategy.demo import demo_clones

    clones = demo_clones(open_memory(settings.memory_path))
    print("3/6 clones: " + ", ".join(f"{c.identity.name} ({c.control_mode}, {c.identity.key})" for c in clones))
    followed = follow_demand(settings, instance, first, log)
    compiled = inprocess.compile_clones(settings, instance, [c.identity.key for c in clones], log)
    print_status(settings)
    covered = coverage_line(settings, instance, log)
    from clash_pipeline.decisions.service import runtime_for

    runtime = runtime_for(settings)
    print("\n4/6 the product loop, run forward by the replay clock over the last day and a half: auditions, a race "
          "with tickets, settlement (every step a named Dagster run)")
    looped = product_loop(runtime, instance)
    print("\n5/6 decisions (rules engine) at now: one cadence tick through Dagster, then two forced passes")
    ticked = inprocess.run_job(instance, "decision_tick_job", run_log=log)
    forced = [o for _ in range(2) for o in runtime.tick(force=True).outcomes]
    first = forced[0].run_id if forced else None
    print(recent_runs(runtime.conn, since_run=None if first is None else first - 60))
    print("\n6/6 paper trading: mark the live accounts, backtest Basic Betty over the last day, replay the orders")
    marked = inprocess.run_job(instance, "paper_mark_job", run_log=log)
    from clash_pipeline.decisions.backtest import run_backtest
    from clash_pipeline.decisions.replay import replay_run

    end = now_ms() - now_ms() % HOUR_MS
    backtest = run_backtest(runtime.conn, runtime.outbox, clones[0].identity.clone_id, end - DAY_MS, end, "15m")
    print(f"backtest {backtest['backtest_id']}: {backtest['decisions']} decisions, result {backtest['result_sha256'][:16]}")
    ordered = [r for (r,) in runtime.conn.execute("SELECT run_id FROM decision_runs WHERE status = 'ordered' "
                                                  "AND context_label = 'live'")]
    matched = sum(replay_run(runtime.conn, runtime.outbox, r)["matches"] for r in ordered)
    print(f"clash replay: {matched} of {len(ordered)} live orders re-derived exactly from their archived inputs")
    cmd_accounts(argparse.Namespace(action="show", clone_id=None, json=False))
    from clash_pipeline.archive import open_archive

    drain = inprocess.run_job(instance, "archive_drain_job", run_log=log)
    drained = {k: v.value for k, v in drain.asset_materializations_for_node("archive_outbox_drain")[0].metadata.items()}
    archive = open_archive(settings)
    objects = [key for key, _ in archive.store.list("") if key.endswith(".gz")]
    print(f"\noutbox: {drained['uploaded']} decision and career payloads uploaded, {drained['pending']} pending")
    print(f"\narchive: {len(objects)} objects in {archive.store.describe()}")
    named = Counter(r.job_name for r in instance.get_runs())
    print(f"dagster runs: {sum(named.values())} (" + ", ".join(f"{job} {n}" for job, n in sorted(named.items()))
          + "); `make ui` to look at them")
    print("try: clash asset links ETH; clash asset latest HYPE; clash clones list; "
          "clash graph preview clash_pipeline/strategy/examples/power_user.json")
    stages = [*history, *snapshot, compiled, ticked, marked, drain]
    summary = {"dagster_runs": dict(sorted(named.items())), "clones": [c.identity.name for c in clones],
               "backtest": backtest, "replay": {"live_orders": len(ordered), "matched": matched},
               "outbox": {"uploaded": drained["uploaded"], "pending": drained["pending"]},
               "archive_objects": len(objects), "coverage_passed": covered, "product_loop_ok": looped}
    return (0 if all(r.success for r in stages) and followed and covered and looped else 1), summary


def follow_demand(settings, instance, first_day: str, log) -> bool:
    """What `coverage_backfill_sensor` does once clones exist: one history run for the newly demanded assets (over
    the demo's days, which its auditions need), then a Hyperliquid snapshot with their books and every dex's mids."""
    from clash_pipeline import inprocess
    from clash_pipeline.ingest.demand import RUN_WEIGHT_BUDGET, backfill_batch, backfill_gaps, compute_demand
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.timeutil import now_ms

    conn = open_memory(settings.memory_path)
    demand = compute_demand(conn, settings.coins, settings.intervals)
    batch = backfill_batch(backfill_gaps(conn, demand, now_ms(), settings.history_start), {}, now_ms())
    ok, line = True, f"   demand: {len(demand.assets)} assets (CLASH_COINS and what the clones enable)"
    if batch is not None:
        config = {"config": {"series": list(batch.series), "max_weight": RUN_WEIGHT_BUDGET}}
        run = inprocess.run_job(instance, "hyperliquid_history_job", partition_range=(first_day, today()),
                                run_log=log, ops={"hyperliquid_candles_raw": config, "hyperliquid_funding_history_raw": config})
        weight = sum(_meta(run, node, "hyperliquid_weight_planned")
                     for node in ("hyperliquid_candles_raw", "hyperliquid_funding_history_raw"))
        skipped = sum(_meta(run, node, "pulls_skipped")
                      for node in ("hyperliquid_candles_raw", "hyperliquid_funding_history_raw"))
        ok = run.success
        line += (f"; backfilled {len(batch.gaps)} series of {len(batch.coins)} assets in one run "
                 f"({', '.join(batch.coins)}): weight {weight} planned, {skipped} pulls skipped")
    snapshot = inprocess.run_job(instance, "hyperliquid_snapshot_job", run_log=log)
    print(line + f"; snapshot of {_meta(snapshot, 'hyperliquid_snapshot_raw', 'books')} books and every dex's "
                 f"mids, weight {_meta(snapshot, 'hyperliquid_snapshot_raw', 'hyperliquid_weight')}")
    return ok and snapshot.success


def coverage_line(settings, instance, log) -> bool:
    """Run the `coverage` check through Dagster and print its verdict."""
    from clash_pipeline import inprocess

    result = inprocess.run_job(instance, "coverage_job", run_log=log)
    evaluation = result.get_asset_check_evaluations()[0]
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    print(f"coverage check: {'passed' if evaluation.passed else 'FAILED'}: {meta['channels']} channels of "
          f"{meta['enabled_assets']} enabled assets, {meta['fresh']} fresh, {meta['failing']} failing, "
          f"{meta['not_applicable']} n/a (clash memory coverage)")
    return result.success and evaluation.passed


def _meta(result, node: str, key: str):
    """A materialization's figure, or a range run's (labelled `range/`)."""
    found = result.asset_materializations_for_node(node)
    meta = found[0].metadata if found else {}
    value = meta.get(key) or meta.get(f"range/{key}")
    return value.value if value is not None else 0


def recent_runs(conn, since_run: int | None, limit: int = 40) -> str:
    rows = conn.execute(
        "SELECT r.run_id, c.name, r.prompt_id, r.coin, r.status, COALESCE(a.action, '-'), "
        "COALESCE(o.side || ' ' || o.size || ' ' || o.order_type, (SELECT group_concat(gate, ',') FROM decision_gates g "
        "WHERE g.run_id = r.run_id AND g.passed = 0), '') FROM decision_runs r JOIN clones c USING (clone_id) "
        "LEFT JOIN decision_actions a USING (run_id) LEFT JOIN orders o USING (run_id) WHERE r.run_id > ? "
        "ORDER BY r.run_id LIMIT ?", (since_run or 0, limit)).fetchall()
    lines = [f"{'run':>5} {'clone':<12} {'strategy':<13} {'asset':<9} {'verdict':<9} {'action':<11} order / failing gates"]
    from clash_pipeline.universe.names import display_names

    names = display_names(conn)
    lines += [f"{r[0]:>5} {r[1]:<12} {r[2]:<13} {names.get(r[3], r[3]):<9} {r[4]:<9} {r[5]:<11} {r[6]}" for r in rows]
    (total,) = conn.execute("SELECT COUNT(*) FROM decision_runs").fetchone()
    counts = dict(conn.execute("SELECT status, COUNT(*) FROM decision_runs GROUP BY status").fetchall())
    (orders,) = conn.execute("SELECT COUNT(*) FROM orders").fetchone()
    return "\n".join(lines) + f"\n{total} decision runs {counts}, {orders} dry-run orders"


def product_loop(runtime, instance) -> bool:
    """The demo's loop, run forward by the replay clock (`clash run`): Basic Betty and Custom Carl audition (rules
    engine), Holdout Hank (hold engine) fails on trades, over the 24 hours that end an hour before the last
    6-hour race window that has closed; three tickets are sold in that hour; the race then runs tick by tick
    (standings at every 15-minute tick), ends and settles. Prints the standings as they stood mid-race and the
    receipt. The demo's criteria are lenient on profit (documented defaults need a non-negative return)."""
    from clash_pipeline import clock
    from clash_pipeline.arena import lifecycle
    from clash_pipeline.arena.addresses import payout_address_or_none
    from clash_pipeline.arena.audition import AuditionCriteria, pay_fee, start_audition
    from clash_pipeline.arena.payouts import set_payout_address
    from clash_pipeline.arena.races import Arena
    from clash_pipeline.defs.clones import clones_partitions
    from clash_pipeline.strategy import modes, store
    from clash_pipeline.timeutil import HOUR_MS, MINUTE_MS, iso, now_ms

    conn, outbox = runtime.conn, runtime.outbox
    names = {c.name: c.clone_id for c in store.list_public(conn)}
    if "Holdout Hank" not in names:
        hank = store.create_clone(conn, "Holdout Hank", modes.custom_graph(["BTC", "ETH"], {"hyperliquid": "price_action"},
                                                                         "15m", engine="hold"), "custom",
                                  bio="Waits for the perfect trade.")
        names["Holdout Hank"] = hank.identity.clone_id
    instance.add_dynamic_partitions(clones_partitions.name, [store.partition_key(c) for c in names.values()])
    for clone_id, creator in conn.execute("SELECT clone_id, creator FROM clones").fetchall():
        if payout_address_or_none(creator) is None:  # demo creators' payout addresses
            set_payout_address(conn, clone_id, f"0x{0xC0FFEE00 + clone_id:040x}")
    criteria = AuditionCriteria(profit_target_pct=-10.0)  # demo: lenient on profit, default drawdown/trades/reliability
    window = 6 * HOUR_MS
    race_start = now_ms() - now_ms() % window - window  # the last race window that has closed
    audition_start = race_start - (criteria.hours + 1) * HOUR_MS
    auditioning = []
    for name in ("Basic Betty", "Custom Carl", "Holdout Hank"):
        clone_id = names[name]
        if lifecycle.state(conn, clone_id) != "created":
            print(f"  {name}: {lifecycle.state(conn, clone_id)} (from an earlier run)")
            continue
        pay_fee(conn, clone_id, f"demo-fee-{clone_id}", audition_start)
        start_audition(conn, clone_id, audition_start, criteria)
        auditioning.append(name)
    ok = True
    audition_end = audition_start + criteria.hours * HOUR_MS
    print(f"  clash run --from {iso(audition_start)} --until {iso(audition_end)} --every 4h: "
          f"{', '.join(auditioning) or 'no clone'} audition forward (each step decides its sixteen 15m ticks)")
    ok &= _drive(instance, audition_start, audition_end, "4h")
    for name in auditioning:
        row = conn.execute("SELECT status, evaluation_json FROM auditions WHERE clone_id = ? ORDER BY audition_id "
                           "DESC LIMIT 1", (names[name],)).fetchone()
        result = json.loads(row[1]) if row[1] else {"metrics": {"return_pct": 0.0, "trades": 0}, "criteria": []}
        failed = [c["criterion"] for c in result["criteria"] if not c["passed"]]
        print(f"  {name}: audition {'PASSED' if row[0] == 'passed' else 'FAILED (' + ', '.join(failed) + ')'}; "
              f"return {result['metrics']['return_pct']:+.3f}%, trades {result['metrics']['trades']}; "
              f"now {lifecycle.state(conn, names[name])}")
    arena = Arena(conn, outbox)
    sale = race_start - 30 * MINUTE_MS
    with clock.replaying_at(sale):
        race = arena.accumulating(sale)
        in_arena = [c for (c,) in conn.execute("SELECT clone_id FROM clone_lifecycle WHERE state = 'in_arena' "
                                               "ORDER BY clone_id")]
        holders = ("0x" + "a1" * 20, "0x" + "b0" * 20, "0x" + "ca" * 20)  # demo buyers' addresses
        status = conn.execute("SELECT status FROM races WHERE race_id = ?", (race,)).fetchone()[0]
        if status == "accumulating":
            for i, (holder, clone_id) in enumerate(zip(holders, in_arena * 3)):
                arena.buy_ticket(race, clone_id, holder, f"demo-sale-{race}-{i}", sale)
    (sold,) = conn.execute("SELECT COUNT(*) FROM tickets WHERE race_id = ?", (race,)).fetchone()
    print(f"  {iso(sale)}: {sold} tickets sold for race {race}; "
          f"clash run --from {iso(race_start)} --until {iso(race_start + window)}: the race runs forward")
    ok &= _drive(instance, race_start, race_start + window, "15m")
    print(mid_race(instance, race, race_start + window // 2))
    final = conn.execute("SELECT e.rank, c.name, e.return_pct FROM race_entrants e JOIN clones c USING (clone_id) "
                         "WHERE race_id = ? ORDER BY e.rank", (race,)).fetchall()
    print(f"  race {race} final: " + ", ".join(f"#{r} {n} {p:+.3f}%" for r, n, p in final))
    stored = conn.execute("SELECT receipt_json FROM settlements WHERE race_id = ?", (race,)).fetchone()
    if stored:
        print(receipt_text(json.loads(stored[0])))
    return ok and stored is not None


def _drive(instance, start: int, until: int, every: str) -> bool:
    """`clash run --from start --until until --every every`, with its summary line."""
    from clash_pipeline.cli.run import run_clock
    from clash_pipeline.clock import ticks
    from clash_pipeline.timeutil import interval_ms

    report = run_clock(instance, ticks(start, until, interval_ms(every)), every)
    jobs = ", ".join(f"{name} {n}" for name, n in report["runs_by_job"].items())
    print(f"    {report['ticks']} ticks, {report['runs']} named runs ({jobs}), {len(report['failed'])} failed, "
          f"{report['seconds']:.1f} s")
    return not report["failed"]


def mid_race(instance, race: str, middle_ms: int) -> str:
    """The race's standings as they stood at its middle tick, read back from its `race_standings`
    materializations (one per tick, each with its tick)."""
    import dagster as dg

    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=dg.AssetKey("race_standings"),
                                                                    asset_partitions=[race]), limit=1000).records
    metas = [{k: v.value for k, v in r.asset_materialization.metadata.items()} for r in records]
    metas = [m for m in metas if m.get("tick_ms")]
    if not metas:
        return f"  race {race}: no standings were materialized"
    middle = min(metas, key=lambda m: abs(m["tick_ms"] - middle_ms))
    returns = sorted(((k.removeprefix("return_pct/"), v) for k, v in middle.items() if k.startswith("return_pct/")),
                     key=lambda kv: -kv[1])
    before_end = sum(m["tick_ms"] < int(_ms(m["window_end"])) for m in metas)
    return (f"  race {race}: standings materialized at {len(metas)} ticks ({before_end} before the window closed); "
            f"mid-race at {middle['tick']} (tick {middle['ticks_decided']}, snapshot {middle['snapshot_id']}): "
            + ", ".join(f"#{i} {name} {value:+.3f}%" for i, (name, value) in enumerate(returns, 1)))


def _ms(text: str) -> int:
    from clash_pipeline.timeutil import to_ms

    return to_ms(datetime.fromisoformat(text))


def register(commands) -> None:
    demo = commands.add_parser("demo", help="run the whole pipeline on the embedded default and print a summary")
    demo.add_argument("--days", type=positive_int, default=3,
                      help="days of history to ingest, ending today (default 3; from CLASH_HISTORY_START at most)")
    demo.add_argument("--json", action="store_true", help="the tour on stderr, a JSON summary on stdout")
    demo.set_defaults(func=cmd_demo)
