"""Bounds on model calls per provider and model: requests in flight, requests per minute and tokens per minute,
and a pause for everyone when the server says 429 (its `Retry-After`).

A `ModelGate` is shared by every call to one (provider, model) of an engine; `slot()` blocks until a call may
start and releases it when the call ends (recording the tokens it used). Thread-safe; the clock and the sleep are
injectable so tests need not wait.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass(frozen=True)
class ModelLimits:
    """Per (provider, model): at most `max_in_flight` calls at once, `requests_per_minute` starts and
    `tokens_per_minute` tokens (prompt + completion) in any 60 s window (None: unbounded)."""

    max_in_flight: int = 32
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_in_flight", "requests_per_minute", "tokens_per_minute"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"model limit {name} must be a positive integer, got {value!r}")


class ModelGate:
    def __init__(self, limits: ModelLimits = ModelLimits(), clock: Callable[[], float] = time.monotonic) -> None:
        self.limits, self.clock = limits, clock
        self._cond = threading.Condition()
        self._in_flight = 0
        self._starts: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._paused_until = 0.0
        self.max_in_flight_seen = 0
        self.calls = 0

    def _wait_s(self, now: float) -> float:
        """0 if a call may start now, else how long to wait before looking again."""
        while self._starts and self._starts[0] <= now - WINDOW_S:
            self._starts.popleft()
        while self._tokens and self._tokens[0][0] <= now - WINDOW_S:
            self._tokens.popleft()
        waits = [self._paused_until - now]
        if self._in_flight >= self.limits.max_in_flight:
            waits.append(0.05)  # woken by a release
        rpm = self.limits.requests_per_minute
        if rpm is not None and len(self._starts) >= rpm:
            waits.append(self._starts[0] + WINDOW_S - now)
        tpm = self.limits.tokens_per_minute
        if tpm is not None and self._tokens and sum(t for _, t in self._tokens) >= tpm:
            waits.append(self._tokens[0][0] + WINDOW_S - now)
        return max(0.0, *waits)

    @contextmanager
    def slot(self) -> Iterator[Callable[[int], None]]:
        """Hold one call's slot; the yielded function records the tokens the call used."""
        with self._cond:
            while (wait := self._wait_s(self.clock())) > 0:
                self._cond.wait(min(wait, 1.0))
            self._in_flight += 1
            self.calls += 1
            self.max_in_flight_seen = max(self.max_in_flight_seen, self._in_flight)
            self._starts.append(self.clock())
        try:
            yield self.spend
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def spend(self, tokens: int) -> None:
        if tokens > 0:
            with self._cond:
                self._tokens.append((self.clock(), tokens))

    def pause(self, seconds: float) -> None:
        """The server said 429: no call to this model starts for `seconds`."""
        with self._cond:
            self._paused_until = max(self._paused_until, self.clock() + seconds)


def retry_after_s(headers: object, default: float) -> float:
    """Seconds to wait from a 429's `retry-after-ms` or `Retry-After` (seconds or an HTTP date), else `default`."""
    get = getattr(headers, "get", None)
    if get is None:
        return default
    try:
        if (ms := get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        if (value := get("retry-after")) is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                from email.utils import parsedate_to_datetime
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        pass
    return default
