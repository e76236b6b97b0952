"""How a packet's reads reach market memory: one query per read (live), or a read-ahead window (a backtest).

`SqlReader` runs each read's own query as of the packet's time. `ReadAhead` serves history that does not move
under the reader (a backtest over stored data): the first packet of a window reads the read's rows as of its
time, plus every row that becomes known over the next `span_ms`, once; each later packet in the window is a
slice of them. The rows are the same rows, in the same order, as the read's own query would give (a test
compares them tick by tick); a packet asked before its read's window (time going back) is read directly.
On a tick grid (`grid_ms`: a backtest's cadence), a read of the newest row alone (the last price) keeps only
the rows it gives at the grid's times (1m candles asked every 15 minutes: 96 rows a day, not 1,440); asked
between them, it is read directly.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import orjson

from clash_pipeline.strategy.plan import Read


class SqlReader:
    """Each read's own query, as of each packet's time."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, read: Read, as_of_ms: int) -> list[tuple]:
        """The read's rows known at `as_of_ms`, oldest first."""
        sql, params = read.sql(as_of_ms)
        return self.conn.execute(sql, params).fetchall()[::-1]

    def encoded(self, read: Read, as_of_ms: int) -> tuple[list[tuple], list[bytes]]:
        """The read's rows and each row's compact JSON (what a packet is measured and archived as)."""
        rows = self.rows(read, as_of_ms)
        return rows, [orjson.dumps(row) for row in rows]

    def newest(self, read: Read, as_of_ms: int) -> int | None:
        """The stamp of the newest row the read could see at `as_of_ms`, whatever its window."""
        sql, params = read.newest_sql(as_of_ms)
        return self.conn.execute(sql, params).fetchone()[0]


@dataclass
class _Window:
    start_ms: int           # the packet time the window was opened at
    end_ms: int             # the last packet time it serves
    base_stamps: list[int]  # stamps of the rows the read gives at start_ms, oldest first
    base: list[tuple]       # those rows
    stamps: list[int]       # stamps of the rows known after start_ms and by end_ms, oldest first
    rows: list[tuple]       # those rows
    base_newest: int | None = None
    base_newest_read: bool = False
    base_json: list[bytes] | None = None  # each row's JSON, made once for the window (`encoded`)
    json: list[bytes] | None = None
    grid_ms: int | None = None  # set: `rows` holds only the rows the read gives at multiples of it


class ReadAhead(SqlReader):
    """Reads served from windows of `span_ms` of history, read once per window and read (a backtest's days)."""

    def __init__(self, conn: sqlite3.Connection, span_ms: int, grid_ms: int | None = None) -> None:
        super().__init__(conn)
        self.span_ms, self.grid_ms = span_ms, grid_ms
        self._windows: dict[Read, _Window] = {}

    def _window(self, read: Read, as_of_ms: int) -> _Window | None:
        """The window that serves the read at `as_of_ms` (opened there if the last one is past); None where the
        read goes to its own query: time going back, or a grid window asked between its times."""
        window = self._windows.get(read)
        if window is None or as_of_ms > window.end_ms:
            window = self._windows[read] = self._open(read, as_of_ms)
        elif as_of_ms < window.start_ms:
            return None
        return None if window.grid_ms and as_of_ms % window.grid_ms else window

    def _open(self, read: Read, as_of_ms: int) -> _Window:
        """A window from `as_of_ms`: the read's rows then, and those it can give over the next `span_ms`."""
        sql, params = read.sql(as_of_ms, stamped=True)
        base = self.conn.execute(sql, params).fetchall()[::-1]
        grid = self.grid_ms if self.grid_ms and read.latest_row else None
        sql, params = read.ahead_at_sql(as_of_ms, as_of_ms + self.span_ms, grid) if grid else \
            read.ahead_sql(as_of_ms, as_of_ms + self.span_ms)
        ahead = self.conn.execute(sql, params).fetchall()
        return _Window(as_of_ms, as_of_ms + self.span_ms, [r[0] for r in base], [r[1:] for r in base],
                       [r[0] for r in ahead], [r[1:] for r in ahead], grid_ms=grid)

    def _spans(self, read: Read, as_of_ms: int) -> tuple[_Window, int, int, int] | None:
        """Which of a window's rows the read gives at `as_of_ms`: those it gave when the window opened from
        `base_from` on, then those known since in [first, known); None where the window cannot serve it (read
        directly)."""
        window = self._window(read, as_of_ms)
        if window is None:
            return None
        known = bisect_right(window.stamps, as_of_ms - read.known_after_ms)
        none = len(window.base)  # no row of the base
        if read.window_ms is None and not read.latest_only and known >= read.limit:  # the common case
            return window, none, known - read.limit, known
        after = -1 if read.window_ms is None else as_of_ms - read.window_ms  # stamps must be > after
        if read.latest_only:
            if known:  # the newest stamp known now is one of the window's
                newest = window.stamps[known - 1]
                if read.window_ms is not None and newest <= after:
                    return window, none, 0, 0
                return window, none, max(bisect_left(window.stamps, newest, 0, known), known - read.limit), known
            return window, bisect_right(window.base_stamps, after), 0, 0
        first = max(0 if read.window_ms is None else bisect_right(window.stamps, after, 0, known),
                    known - read.limit)
        missing = read.limit - (known - first)
        if missing <= 0:
            return window, none, first, known
        older = bisect_right(window.base_stamps, after)  # the rest from what the read gave when the window opened
        return window, max(older, none - missing), first, known

    def rows(self, read: Read, as_of_ms: int) -> list[tuple]:
        spans = self._spans(read, as_of_ms)
        if spans is None:
            return super().rows(read, as_of_ms)
        window, base_from, first, known = spans
        found = window.rows[first:known]
        return window.base[base_from:] + found if base_from < len(window.base) else found

    def encoded(self, read: Read, as_of_ms: int) -> tuple[list[tuple], list[bytes]]:
        spans = self._spans(read, as_of_ms)
        if spans is None:
            return super().encoded(read, as_of_ms)
        window, base_from, first, known = spans
        if window.json is None:  # a packet's read: its rows are served many times, encoded once
            window.base_json = [orjson.dumps(row) for row in window.base]
            window.json = [orjson.dumps(row) for row in window.rows]
        if base_from < len(window.base):
            return window.base[base_from:] + window.rows[first:known], \
                window.base_json[base_from:] + window.json[first:known]
        return window.rows[first:known], window.json[first:known]

    def newest(self, read: Read, as_of_ms: int) -> int | None:
        window = self._window(read, as_of_ms)
        if window is None:
            return super().newest(read, as_of_ms)
        known = bisect_right(window.stamps, as_of_ms - read.known_after_ms)
        if known:
            return window.stamps[known - 1]
        if not window.base_newest_read:
            window.base_newest, window.base_newest_read = super().newest(read, window.start_ms), True
        return window.base_newest
