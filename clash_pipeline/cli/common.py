"""Helpers shared by the `clash` commands: argument types, time, output, market memory."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from clash_pipeline.settings import INTERVALS_HELP, load_settings


def csv_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def day(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def as_of(value: str | None) -> int:
    from clash_pipeline.timeutil import now_ms, to_ms

    if value is None:
        return now_ms()
    if value.isdigit():
        return int(value)
    try:
        return to_ms(datetime.fromisoformat(value))
    except ValueError:
        raise SystemExit(f"--as-of must be ms or an ISO time, not {value!r}") from None


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
        raise SystemExit(f"cannot read graph file {path}: {error}") from None


def text_or_none(value) -> str | None:
    return None if value is None else str(value)


def coin_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coins", type=csv_list, help="comma-separated coins, API names (BTC,ETH,xyz:TSLA,@107); "
                                                   "default CLASH_COINS")
    parser.add_argument("--intervals", type=csv_list, help=f"comma-separated candle intervals ({INTERVALS_HELP}); "
                                                       "default CLASH_INTERVALS")


def print_status(settings) -> None:
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.memory.status import format_status, memory_status

    conn = open_memory(settings.memory_path)
    print(f"\nmarket memory: {settings.memory_path}")
    print(format_status(memory_status(conn)))
