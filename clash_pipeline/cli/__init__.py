"""`clash`: the command line of clash_pipeline. Run `clash --help` or `clash COMMAND --help`.

Results go to stdout (`--json` where a command prints one), progress and errors to stderr. A failure is one line,
`clash: <source> <endpoint> <request>: <what>`, and a non-zero exit; `--verbose` adds the traceback and Dagster's
own run log. `--verbose` and `--quiet` are global: accepted anywhere on the line.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import NoReturn

from clash_pipeline.cli import arena, catalog, demo, lake, live, market, run, serve, strategy, trading
from clash_pipeline.cli.common import report_error

GLOBAL_FLAGS = {"--verbose": "verbose", "-v": "verbose", "--quiet": "quiet", "-q": "quiet"}


class ClashParser(argparse.ArgumentParser):
    """argparse with usage errors on one line (subcommand parsers inherit it)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("clash").strip()
        self.exit(2, f"clash: {command + ': ' if command else ''}{' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ClashParser(
        prog="clash", description="clash_pipeline: market memory and the paper-trading runtime of Clash of Clones.",
        epilog="Settings come from the environment: CLASH_HOME, CLASH_SOURCE_MODE, HYPERLIQUID_API_URL, "
               "CLASH_REPLAY_DIR, CLASH_COINS, CLASH_INTERVALS (see README). Results go to stdout, progress and "
               "errors to stderr; an error is one line and a non-zero exit.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="on error, print the traceback; print Dagster's run log (anywhere on the line)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines (anywhere on the line)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for module in (demo, market, strategy, trading, arena, catalog, lake, live, run, serve):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message=r".*currently in beta")
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    flags = {GLOBAL_FLAGS[token] for token in argv[:cut] if token in GLOBAL_FLAGS}
    try:
        args = build_parser().parse_args([t for i, t in enumerate(argv) if i >= cut or t not in GLOBAL_FLAGS])
    except SystemExit as stop:  # --help (0) or a usage error (2, one line on stderr)
        return stop.code if isinstance(stop.code, int) else 2
    args.verbose, args.quiet = "verbose" in flags, "quiet" in flags
    try:
        return args.func(args)
    except KeyboardInterrupt as interrupt:  # SIGINT, or SIGTERM during an in-process run (marked failed)
        print(f"clash: {interrupt.args[0] if interrupt.args else 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as error:  # one line (the user error inside a Dagster failure); --verbose: the traceback
        report_error(error, args.verbose)
        return 1
