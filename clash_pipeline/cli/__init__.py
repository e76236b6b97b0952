"""`clash`: the command line of clash_pipeline. Run `clash --help` or `clash COMMAND --help`."""

from __future__ import annotations

import argparse
import sys
import warnings

from clash_pipeline.cli import arena, catalog, demo, market, run, strategy, trading


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clash", description="clash_pipeline: market memory and the paper-trading runtime of Clash of Clones.",
        epilog="Settings come from the environment: CLASH_HOME, CLASH_SOURCE_MODE, HYPERLIQUID_API_URL, "
               "CLASH_REPLAY_DIR, CLASH_COINS, CLASH_INTERVALS (see README).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for module in (demo, market, strategy, trading, arena, catalog, run):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message=r".*currently in beta")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LookupError as error:  # no such clone, run, race or archive object: a message, not a traceback
        print(f"clash: {error.args[0] if error.args else error}", file=sys.stderr)
        return 1

