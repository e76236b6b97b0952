"""Helpers for endpoint contracts: duplicate keys and the first offending row, named by its field path."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from clash_pipeline.sources.errors import Violation

Row = TypeVar("Row")


def no_duplicates(rows: Sequence[Row], key: Callable[[Row], Hashable], field: str, what: str,
                  prefix: str = "") -> None:
    """Refuse a key that appears twice: `field` names the second row's key (`3.t`, `universe.7.name`)."""
    keys = [key(row) for row in rows]
    if len(set(keys)) == len(keys):
        return
    seen: dict[Hashable, int] = {}
    for index, value in enumerate(keys):
        if value in seen:
            raise Violation(f"{prefix}{index}.{field}", f"duplicate {what} {value!r} (also at {prefix}{seen[value]})")
        seen[value] = index


def no_conflicting_duplicates(rows: Sequence[Row], key: Callable[[Row], Hashable], field: str, what: str) -> None:
    """Refuse a key that appears twice with different values; an exact repeat is harmless (the upsert keeps one)."""
    keys = [key(row) for row in rows]
    if len(set(keys)) == len(keys):
        return
    seen: dict[Hashable, int] = {}
    for index, value in enumerate(keys):
        if value in seen and rows[seen[value]] != rows[index]:
            raise Violation(f"{index}.{field}", f"duplicate {what} {value!r} with other values "
                                                f"(also at {seen[value]})")
        seen.setdefault(value, index)


def identity(rows: Sequence[dict], field: str, expected: object | None, what: str, prefix: str = "") -> None:
    """Every row's `field` equals what the request asked for (nothing to compare when the request lacks it)."""
    if expected is None or all(row[field] == expected for row in rows):
        return
    index = next(i for i, row in enumerate(rows) if row[field] != expected)
    raise Violation(f"{prefix}{index}.{field}", f"{rows[index][field]!r} but the request asked for {what} {expected!r}")
