"""`clash memory coverage`: per enabled asset and channel its read plans read, the newest row and its age."""

from __future__ import annotations

import argparse
import json
import sys

from clash_pipeline.settings import load_settings


def cmd_memory_coverage(args: argparse.Namespace) -> int:
    from clash_pipeline.cli.common import memory
    from clash_pipeline.ingest.coverage import coverage, format_coverage
    from clash_pipeline.ingest.demand import compute_demand
    from clash_pipeline.timeutil import now_ms

    settings = load_settings()
    conn = memory()
    demand = compute_demand(conn, settings.coins, settings.intervals)
    for problem in demand.problems:
        print(f"clash: left out of the demand: {problem}", file=sys.stderr)
    lines = coverage(conn, demand, now_ms())
    if args.json:
        print(json.dumps([line.as_dict() for line in lines], indent=2))
    else:
        print(format_coverage(lines) if lines else "no enabled asset: no active clone, audition or race entrant")
    return 1 if any(line.failing for line in lines) else 0


def register(memory_commands) -> None:
    """`clash memory coverage`, under the `memory` command (cli/market.py)."""
    parser = memory_commands.add_parser(
        "coverage", help="per enabled asset and channel: the newest row, its age, fresh or not",
        description="For every asset an active clone, audition or race entrant enables, and every channel its read "
                    "plans read: the newest stored row (UTC), its age and the limit (twice the channel's cadence, "
                    "plus the time a row takes to be known). Exits 1 when a channel is stale or empty; n/a channels "
                    "(spot has no funding, no Polymarket market linked) never fail.")
    parser.add_argument("--json", action="store_true", help="print JSON (wire ids and display names)")
    parser.set_defaults(func=cmd_memory_coverage)
