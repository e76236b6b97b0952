"""Helpers shared by the `clash` commands: argument types and checks, time, output, errors, market memory."""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

from clash_pipeline.errors import one_line
from clash_pipeline.settings import INTERVALS_HELP, Settings, load_settings

FIRST_DAY, LAST_DAY = "2000-01-01", "2099-12-31"  # any date or time an argument names lies within these
TIME_BOUNDS_MS = (946_684_800_000, 4_102_444_800_000)  # FIRST_DAY 00:00 .. LAST_DAY 24:00 UTC


class CliError(ValueError):
    """A refused argument or a failed command: its message is the whole story, printed as one line."""


def csv_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def day(value: str) -> str:
    try:
        parsed = date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
    if not FIRST_DAY <= parsed <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{parsed} is not between {FIRST_DAY} and {LAST_DAY}")
    return parsed


def positive_number(value: str) -> float:
    """A finite number > 0 (not nan, not inf)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0 < number < math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, not {value!r}")
    return number


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number > 0, not {value!r}")
    return number


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def day_range(start: str, end: str, settings: Settings) -> None:
    """--start/--end within the daily partitions (CLASH_HISTORY_START .. today, UTC), end not before start."""
    if end < start:
        raise CliError(f"--end {end} is before --start {start}")
    if start < settings.history_start:
        raise CliError(f"--start {start} is before the first daily partition, {settings.history_start}; "
                       f"set CLASH_HISTORY_START={start} to extend the history")
    if end > today():
        raise CliError(f"--end {end} is after today ({today()} UTC), the last daily partition")


def as_of(value: str | None) -> int:
    from clash_pipeline.timeutil import now_ms, to_ms

    if value is None:
        return now_ms()
    try:
        ms = int(value) if value.isdigit() else to_ms(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise CliError(f"--as-of must be ms or an ISO time, not {value!r}") from None
    if not TIME_BOUNDS_MS[0] <= ms < TIME_BOUNDS_MS[1]:
        raise CliError(f"--as-of {value} is not between {FIRST_DAY} and {LAST_DAY} (ms or ISO time)")
    return ms


def progress(args: argparse.Namespace, line: str) -> None:
    """A progress line on stderr (results go to stdout), unless --quiet."""
    if not getattr(args, "quiet", False):
        print(line, file=sys.stderr, flush=True)


def report_error(error: BaseException, verbose: bool, prefix: str = "") -> None:
    """`clash: <what>` on stderr; with --verbose the traceback first."""
    if verbose:
        traceback.print_exception(error)
    print(f"clash: {prefix}{one_line(error)}", file=sys.stderr, flush=True)


def emit(data, as_json: bool, text) -> int:
    print(json.dumps(data, indent=2, default=str) if as_json else text(data))
    return 0


def memory():
    from clash_pipeline.memory.db import open_memory

    return open_memory(load_settings().memory_path)


def print_problems(error) -> int:
    print(f"rejected: {len(error.problems)} problem(s)", file=sys.stderr)
    for problem in error.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def read_graph(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read graph file {path}: {error}") from None


def text_or_none(value) -> str | None:
    return None if value is None else str(value)


def coin_args(parser: argparse.ArgumentParser, demanded: bool = True) -> None:
    """--coins and --intervals; their default is the demanded set (or, with demanded False, the settings')."""
    coins = "the demanded set (what active clones, auditions and race entrants enable, CLASH_COINS as a floor)" \
        if demanded else "CLASH_COINS"
    intervals = "those the read plans use (CLASH_INTERVALS for the floor)" if demanded else "CLASH_INTERVALS"
    parser.add_argument("--coins", type=csv_list,
                        help=f"comma-separated coins, API names (BTC,ETH,xyz:TSLA,@107); default: {coins}")
    parser.add_argument("--intervals", type=csv_list,
                        help=f"comma-separated candle intervals ({INTERVALS_HELP}); default: {intervals}")


def print_status(settings) -> None:
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.memory.status import format_status, memory_status

    conn = open_memory(settings.memory_path)
    print(f"\nmarket memory: {settings.memory_path}")
    print(format_status(memory_status(conn)))
