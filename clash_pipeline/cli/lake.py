"""`clash lake`: export days of market memory to the lake, query it with DuckDB, hydrate a market memory from it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date, timedelta

from clash_pipeline.cli.common import day
from clash_pipeline.settings import load_settings


def _days(first: str, last: str | None) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    if end < start:
        raise SystemExit(f"clash lake: --end {end} is before --day {start}")
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def _non_negative(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number of days >= 0: {value!r}")
    return int(value)


def cmd_export(args: argparse.Namespace) -> int:
    from clash_pipeline.lake.export import export_day
    from clash_pipeline.lake.store import lake_from_settings
    from clash_pipeline.memory.db import open_memory

    days = _days(args.day, args.end)
    settings = load_settings()
    lake = lake_from_settings(settings)
    conn = open_memory(settings.memory_path)
    try:
        manifests = [export_day(conn, lake, d, progress=lambda line: print(line, file=sys.stderr)) for d in days]
    finally:
        conn.close()
    if args.json:
        print(json.dumps(manifests, indent=2))
        return 0
    for m in manifests:
        print(f"{m['day']}: {len(m['files'])} files, {m['rows']} rows, {m['bytes']} bytes -> {lake.describe()}")
        for f in m["files"]:
            print(f"  {f['key']:<60} {f['rows']:>9} rows {f['bytes']:>10} bytes  sha256 {f['sha256'][:12]}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from clash_pipeline.lake.query import run_query
    from clash_pipeline.lake.store import lake_from_settings

    frame = run_query(lake_from_settings(load_settings()), args.sql, args.start, args.end)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso", indent=2))
    elif args.csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        print(frame.to_string(index=False) if len(frame) else f"(no rows; columns: {', '.join(frame.columns)})")
    return 0


def cmd_hydrate(args: argparse.Namespace) -> int:
    from clash_pipeline.lake.hydrate import hydrate
    from clash_pipeline.lake.store import lake_from_settings
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.timeutil import DAY_MS, day_start_ms

    if args.end < args.start:
        raise SystemExit(f"clash lake hydrate: --end {args.end} is before --start {args.start}")
    settings = load_settings()
    lake = lake_from_settings(settings)
    conn = open_memory(settings.memory_path)
    try:
        result = hydrate(lake, conn, day_start_ms(args.start), day_start_ms(args.end) + DAY_MS - 1,
                         args.lookback_days, progress=lambda line: print(line, file=sys.stderr))
    finally:
        conn.close()
    report = {**result.as_dict(), "memory": str(settings.memory_path), "lake": lake.describe()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"hydrated {report['total_rows']} rows from {lake.describe()} into {settings.memory_path}: days "
          f"{', '.join(result.days)}; reference state of {result.reference_day}")
    for table, rows in result.rows.items():
        print(f"  {table:<24} {rows:>9}")
    return 0


def one_line_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The store or the query failed (unreachable, corrupt, bad SQL): one line naming the action, no traceback."""

    def run(args: argparse.Namespace) -> int:
        import duckdb

        from clash_pipeline.archive.store import ArchiveStoreError
        from clash_pipeline.lake.store import LakeIntegrityError

        try:
            return command(args)
        except (duckdb.Error, OSError, ArchiveStoreError, LakeIntegrityError, ValueError) as error:
            raise SystemExit(f"clash lake {args.action}: {(str(error).splitlines() or [repr(error)])[0]}") from None

    return run


def register(commands) -> None:
    lake = commands.add_parser("lake", help="the market-history lake: Parquet days in the archive store, DuckDB")
    actions = lake.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write a day (or days) of market and trading history as Parquet "
                                               "with its manifest; re-running rewrites the same bytes")
    export.add_argument("--day", type=day, required=True, help="the UTC day (YYYY-MM-DD)")
    export.add_argument("--end", type=day, help="last day of a range, inclusive (default: --day)")
    export.add_argument("--json", action="store_true", help="print the manifests as JSON")
    export.set_defaults(func=one_line_errors(cmd_export))
    query = actions.add_parser("query", help="run DuckDB SQL over the lake's views (named as the market-memory "
                                             "tables: hl_candles, decision_runs, ...)")
    query.add_argument("sql", help='the query, e.g. "SELECT coin, count(*) FROM hl_candles GROUP BY coin"')
    query.add_argument("--start", type=day, help="first day of history to scan (default: all)")
    query.add_argument("--end", type=day, help="last day, inclusive (default: all)")
    output = query.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="records as JSON")
    output.add_argument("--csv", action="store_true", help="CSV with a header")
    query.set_defaults(func=one_line_errors(cmd_query))
    hydrate = actions.add_parser("hydrate", help="fill $CLASH_HOME's market memory from the lake for a backtest "
                                                 "window (market history, universe, clones)")
    hydrate.add_argument("--start", type=day, required=True, help="first day of the window (UTC)")
    hydrate.add_argument("--end", type=day, required=True, help="last day, inclusive (UTC)")
    hydrate.add_argument("--lookback-days", type=_non_negative, default=3,
                         help="days before --start to hydrate too, for reads that reach back (default 3)")
    hydrate.add_argument("--json", action="store_true")
    hydrate.set_defaults(func=one_line_errors(cmd_hydrate))
