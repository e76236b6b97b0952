"""HTTP plumbing shared by every source: raw responses, bounded retries with backoff or Retry-After, deadlines per
request and per pull, a weight budget."""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

import httpx

from clash_pipeline.settings import HttpLimits, load_http_limits
from clash_pipeline.sources.errors import RequestFailed
from clash_pipeline.timeutil import now_ms

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RawResponse:
    """One response body exactly as the API sent it, with the request that produced it."""

    source: str
    endpoint: str
    method: str
    path: str
    request: dict
    status: int
    body: bytes
    fetched_ms: int


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 16.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


@dataclass
class WeightBudget:
    """A token bucket of request weight per minute (Hyperliquid: 1200 per IP), safe across threads."""

    per_minute: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tokens, self._stamp = self.per_minute, self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.per_minute, self._tokens + (now - self._stamp) * self.per_minute / 60)
        self._stamp = now

    def acquire(self, weight: float) -> None:
        """Wait until `weight` is available, then spend it."""
        with self._lock:
            self._refill()
            if self._tokens < weight:
                self.sleep((weight - self._tokens) * 60 / self.per_minute)
                self._refill()
            self._tokens -= weight

    def charge(self, weight: float) -> None:
        """Spend weight known only after the response (per-item surcharges); may go into debt."""
        with self._lock:
            self._tokens -= weight


class SourceHttp:
    """An httpx client for one source that retries 429/5xx/timeouts and keeps every body raw.

    Politeness and deadlines (`HttpLimits`, from the environment by default): a 429/503's `Retry-After` (seconds or
    an HTTP date) replaces the jittered backoff, up to `retry_after_max_s` (a longer one fails at once); a request,
    all its attempts and sleeps included, ends at `request_s`, and every request of this client at `run_s` after it
    opened. Bodies are streamed and the deadline checked between chunks, so a slow drip is cut too (httpx's own
    timeouts bound each read, not the exchange)."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 20.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
        limits: HttpLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.retry = retry
        self.limits = limits or load_http_limits()
        self.timeout_s = timeout_s
        self._sleep, self._clock, self._wall_clock = sleep, clock, wall_clock
        self._rng = random.Random(seed)
        self._client = httpx.Client(base_url=base_url, transport=transport, timeout=timeout_s)
        self._run_deadline = clock() + self.limits.run_s

    def request(
        self, method: str, path: str, endpoint: str, *, json_body: dict | None = None, params: dict | None = None
    ) -> RawResponse:
        """Send one request; retry what is worth retrying; raise RequestFailed past the bound or a deadline."""
        request = json_body if json_body is not None else dict(params or {})
        limits = self.limits
        deadline = min(_Deadline("request", self._clock() + limits.request_s, limits.request_s,
                                 "CLASH_REQUEST_DEADLINE_S"),
                       _Deadline("run", self._run_deadline, limits.run_s, "CLASH_RUN_DEADLINE_S"),
                       key=lambda d: d.at)
        cause, status, honoured, headers = "", None, "", httpx.Headers()

        def failed(attempt: int, why: str) -> RequestFailed:
            return RequestFailed(self.source, endpoint, request, attempt, why + honoured, status)

        for attempt in range(1, self.retry.max_attempts + 1):
            if self._clock() >= deadline.at:
                raise failed(attempt - 1, f"{cause + '; ' if cause else ''}{deadline.passed()}")
            try:
                status_code, headers, body = self._exchange(method, path, json_body, params, deadline)
            except _DeadlinePassed as cut:
                raise failed(attempt, f"{deadline.passed()} while reading the body ({cut.received} bytes)") from None
            except httpx.TimeoutException as exc:
                cause, status = f"timeout ({type(exc).__name__})", None
            except httpx.TransportError as exc:
                cause, status = f"transport error ({type(exc).__name__}: {exc})", None
            else:
                if status_code == 200:
                    return RawResponse(self.source, endpoint, method, path, request, 200, body, now_ms())
                cause, status = f"HTTP {status_code}", status_code
                if status not in RETRY_STATUSES:
                    text = body[:200].decode("utf-8", errors="replace")
                    raise failed(attempt, f"{cause}: {text}")
            if attempt == self.retry.max_attempts:
                break
            asked = retry_after_s(headers.get("retry-after"), self._wall_clock()) \
                if status in RETRY_AFTER_STATUSES else None
            if asked is not None and asked > limits.retry_after_max_s:
                raise failed(attempt, f"{cause}, Retry-After {_seconds(asked)} s is over the {limits.retry_after_max_s:g} "
                                      "s cap (CLASH_RETRY_AFTER_MAX_S)")
            wait = self.retry.delay(attempt, self._rng) if asked is None else asked
            if asked is not None:
                honoured = f" (Retry-After {_seconds(asked)} s honoured)"
            if self._clock() + wait >= deadline.at:
                raise failed(attempt, f"{cause}; waiting {wait:.1f} s more would pass the {deadline.describe()}")
            self._sleep(wait)
        raise failed(self.retry.max_attempts, cause)

    def _exchange(self, method: str, path: str, json_body: dict | None, params: dict | None,
                  deadline: _Deadline) -> tuple[int, httpx.Headers, bytes]:
        """One attempt: stream the response, checking the deadline between chunks."""
        remaining = max(deadline.at - self._clock(), 0.001)
        timeout = httpx.Timeout(min(self.timeout_s, remaining))
        with self._client.stream(method, path, json=json_body, params=params, timeout=timeout) as response:
            chunks, received = [], 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                received += len(chunk)
                if self._clock() >= deadline.at:
                    raise _DeadlinePassed(received)
            return response.status_code, response.headers, b"".join(chunks)

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class _Deadline:
    """A moment (on the client's monotonic clock) a request must end by, and which limit set it."""

    name: str
    at: float
    seconds: float
    variable: str

    def describe(self) -> str:
        return f"{self.name} deadline of {self.seconds:g} s ({self.variable})"

    def passed(self) -> str:
        return f"{self.describe()} passed"


class _DeadlinePassed(Exception):
    def __init__(self, received: int) -> None:
        self.received = received


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """A Retry-After header as seconds from now: delta-seconds or an HTTP date (RFC 9110); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp() - now_s
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _seconds(value: float) -> str:
    return f"{round(value, 1):g}"
