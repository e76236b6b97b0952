"""Market memory commands: ingest, memory status, asset links and latest, archive, record."""

from __future__ import annotations

import argparse
import os
import json
import sys
from pathlib import Path

from clash_pipeline.cli import coverage
from clash_pipeline.cli.common import (CliError, as_of, coin_args, day, day_range, memory, one_line, positive_int,
                                      print_problems, print_status, progress, report_error, today)
from clash_pipeline.settings import INTERVALS_HELP, load_settings


def cmd_ingest(args: argparse.Namespace) -> int:
    """Each source on its own (one down does not stop the others): history, then (without --start) a snapshot."""
    from clash_pipeline import inprocess
    from clash_pipeline.inprocess_ingest import ingest_sources
    from clash_pipeline.timeutil import INTERVAL_MS

    settings = load_settings()
    sources = list(inprocess.SOURCES) if args.source == "all" else [args.source]
    coins, intervals = args.coins, args.intervals  # None: the demanded set, at the intervals its plans read
    start = args.start or today()
    end = args.end or (start if args.start else today())
    day_range(start, end, settings)
    unknown = [i for i in intervals or () if i not in INTERVAL_MS]
    if unknown or coins == [] or intervals == []:
        raise CliError(f"--intervals must name known candle intervals ({INTERVALS_HELP}), not {','.join(unknown)}"
                       if unknown else "--coins and --intervals must name at least one each")
    instance = inprocess.local_instance()
    progress(args, f"{'+'.join(sources)} ({settings.source_mode}): history {start} .. {end}, coins "
                   f"{','.join(coins) if coins else 'the demanded set'}, intervals "
                   f"{','.join(intervals) if intervals else 'those its read plans use'}")
    outcomes = ingest_sources(settings, instance, sources, start, end, coins, intervals, snapshot=not args.start,
                              run_log=run_log(args))
    for outcome in outcomes:
        for step, error in outcome.failures:
            source = outcome.source
            report_error(error, args.verbose, "" if one_line(error).startswith(source) else f"{source} {step}: ")
    failed = {o.source: [step for step, _ in o.failures] for o in outcomes if not o.ok}
    ingested = [source for source in sources if source not in failed]
    if args.json:
        from clash_pipeline.memory.db import open_memory
        from clash_pipeline.memory.status import memory_status

        status = [s.as_dict() for s in memory_status(open_memory(settings.memory_path))]
        print(json.dumps({"ingested": ingested, "failed": failed, "memory": status}, indent=2))
    else:
        print_status(settings)
    if failed and len(sources) > 1:
        print(f"clash: ingest {args.source}: failed: " + ", ".join(f"{s} ({'+'.join(f)})" for s, f in failed.items())
              + (f"; ingested: {', '.join(ingested)}" if ingested else ""), file=sys.stderr)
    return 1 if failed else 0


def run_log(args: argparse.Namespace):
    from clash_pipeline.inprocess import RunLog

    return RunLog.VERBOSE if args.verbose else RunLog.QUIET if args.quiet else RunLog.PROGRESS


def cmd_memory_status(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.json:
        from clash_pipeline.memory.db import open_memory
        from clash_pipeline.memory.status import memory_status

        conn = open_memory(settings.memory_path)
        print(json.dumps([s.as_dict() for s in memory_status(conn)], indent=2))
        return 0
    print_status(settings)
    return 0


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
    rules = ", ".join(f"{r['rule']} ({r['markets']})" for r in report["polymarket_rules"][:8])
    print(f"  {report['polymarket_linked_markets']} linked markets in all" + (f", by {rules}" if rules else ""))
    return 0


def cmd_asset_latest(args: argparse.Namespace) -> int:
    """The structured memory an asset receives now: every source's default profile."""
    from clash_pipeline.strategy.graph import GraphInvalid
    from clash_pipeline.strategy.modes import custom_graph
    from clash_pipeline.strategy.packet import build_packet
    from clash_pipeline.strategy.store import validate

    when = as_of(args.as_of)
    conn = memory()
    try:
        graph = custom_graph([args.symbol], {"hyperliquid": "full", "polymarket": "prediction_markets",
                                             "defillama": "macro"})
        _, compiled = validate(conn, graph)
    except GraphInvalid as error:
        return print_problems(error)
    packet = build_packet(conn, compiled.asset_plans()[0], when)
    if args.json:
        print(json.dumps(packet, indent=2))
        return 0
    print(f"{packet.get('name', packet['asset'])} ({packet['symbol']}) as of {packet['as_of_ms']}")
    for name, channel in packet["channels"].items():
        for read, body in channel["reads"].items():
            latest = body["rows"][-1] if body["rows"] else None
            print(f"  {name}.{read:<18} {len(body['rows']):>4} rows; latest {latest}")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    """Live pulls that save every response in the replay layout (see README: Replay and recordings)."""
    from clash_pipeline.ingest import hyperliquid as ingest
    from clash_pipeline.sources.connect import hyperliquid_client
    from clash_pipeline.timeutil import DAY_MS, day_start_ms

    settings = load_settings({**os.environ, "CLASH_SOURCE_MODE": "live"})
    coins, intervals = args.coins or list(settings.coins), args.intervals or list(settings.intervals)
    if args.end and not args.start:
        raise CliError("--end needs --start")
    if args.start and (args.end or args.start) < args.start:
        raise CliError(f"--end {args.end} is before --start {args.start}")
    client = hyperliquid_client(settings, record_dir=Path(args.out))
    try:
        raws = ingest.pull_snapshot(client, coins)
        if args.start:
            start, end = day_start_ms(args.start), day_start_ms(args.end or args.start) + DAY_MS
            raws += ingest.pull_candles(client, coins, intervals, start, end, lambda line: progress(args, line))
            raws += ingest.pull_funding(client, coins, start, end, lambda line: progress(args, line))
    finally:
        client.close()
    result = {"responses": len(raws), "out": args.out}
    print(json.dumps(result) if args.json else
          f"recorded {len(raws)} responses under {args.out}; replay with CLASH_REPLAY_DIR={args.out}")
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
        if args.json:
            print(json.dumps([{"key": key, "bytes": size} for key, size in entries], indent=2))
        for key, size in entries if not args.json else []:
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
        print(json.dumps({"verified": len(keys), "corrupt": bad}, indent=2) if args.json else
              f"verified {len(keys)} objects: {len(keys) - len(bad)} ok, {len(bad)} corrupt")
        return 1 if bad else 0
    result = Outbox(settings.outbox_dir, open_memory(settings.memory_path), archive).drain()
    for error in result.errors:
        print(error, file=sys.stderr)
    print(json.dumps({"uploaded": result.uploaded, "pending": result.pending, "swept": result.swept,
                      "errors": [str(e) for e in result.errors], "store": archive.store.describe()}, indent=2)
          if args.json else f"drained {result.uploaded} objects to {archive.store.describe()}; {result.pending} still "
          f"pending" + (f"; swept {result.swept} local files no row pointed at" if result.swept else ""))
    return 1 if result.errors else 0


def register(commands) -> None:
    ingest = commands.add_parser("ingest", help="ingest a source into market memory")
    sources = ingest.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for source, what in (("hyperliquid", "candles, funding history, volatility; universe, mids, contexts, books"),
                         ("polymarket", "related markets, links to symbols, horizons, books (snapshot only)"),
                         ("defillama", "TVL, stablecoins, throughput, flows; chains and asset links"),
                         ("all", "all three sources")):
        parser_ = sources.add_parser(
            source, help=what,
            description=f"{source}: {what}. Runs the Dagster assets in process on the local instance (the runs "
                        "show in the UI), each source on its own: one that fails is named and the others still run. "
                        "With --start/--end (CLASH_HISTORY_START .. today): the daily history partitions of that "
                        "range, in one run. Without: today's history partition, then a snapshot.")
        coin_args(parser_)
        parser_.add_argument("--start", type=day, help="first day, YYYY-MM-DD (UTC)")
        parser_.add_argument("--end", type=day, help="last day, inclusive, YYYY-MM-DD (default: --start)")
        parser_.add_argument("--json", action="store_true",
                             help="print {ingested, failed, memory} as JSON instead of the memory table")
        parser_.set_defaults(func=cmd_ingest)

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
    coverage.register(memory_commands)

    archive = commands.add_parser("archive", help="the artifact archive (local folder or R2)")
    actions = archive.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = actions.add_parser("ls", help="list objects (size and key) under a prefix")
    ls.add_argument("prefix", nargs="?", default="", help="key prefix, e.g. hyperliquid_candles_raw/2026-11-28")
    ls.add_argument("--refs", action="store_true", help="also list the refs/ pointers")
    ls.add_argument("--json", action="store_true")
    get = actions.add_parser("get", help="print an object's payload (hash-verified, decompressed)")
    get.add_argument("key")
    get.add_argument("--out", help="write to this file instead of standard output")
    verify = actions.add_parser("verify", help="re-hash objects and report any whose bytes do not match their key")
    verify.add_argument("--sample", type=positive_int, help="check this many objects, chosen at random (default: all)")
    verify.add_argument("--json", action="store_true")
    drain = actions.add_parser("drain", help="upload payloads waiting in the local outbox, idempotently")
    drain.add_argument("--json", action="store_true")
    archive.set_defaults(func=cmd_archive)

    record = commands.add_parser("record", help="call the live API and save every response for replay")
    record.add_argument("--out", required=True, help="folder for the recordings (then CLASH_REPLAY_DIR=that)")
    coin_args(record, demanded=False)
    record.add_argument("--start", type=day, help="also record history from this day (YYYY-MM-DD)")
    record.add_argument("--end", type=day, help="last day of history, inclusive (default: --start)")
    record.add_argument("--json", action="store_true")
    record.set_defaults(func=cmd_record)
