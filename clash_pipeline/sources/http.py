"""HTTP plumbing shared by every source: raw responses, bounded retries with backoff, a weight budget."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from clash_pipeline.sources.errors import RequestFailed
from clash_pipeline.timeutil import now_ms

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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
    """An httpx client for one source that retries 429/5xx/timeouts and keeps every body raw."""

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
    ) -> None:
        self.source = source
        self.retry = retry
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._client = httpx.Client(base_url=base_url, transport=transport, timeout=timeout_s)

    def request(
        self, method: str, path: str, endpoint: str, *, json_body: dict | None = None, params: dict | None = None
    ) -> RawResponse:
        """Send one request; retry what is worth retrying; raise RequestFailed past the bound."""
        request = json_body if json_body is not None else dict(params or {})
        cause, status = "", None
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                response = self._client.request(method, path, json=json_body, params=params)
            except httpx.TimeoutException as exc:
                cause = f"timeout ({type(exc).__name__})"
            except httpx.TransportError as exc:
                cause = f"transport error ({type(exc).__name__}: {exc})"
            else:
                if response.status_code == 200:
                    return RawResponse(
                        self.source, endpoint, method, path, request, 200, response.content, now_ms()
                    )
                cause, status = f"HTTP {response.status_code}", response.status_code
                if status not in RETRY_STATUSES:
                    raise RequestFailed(self.source, endpoint, request, attempt, f"{cause}: {response.text[:200]}",
                                        status)
            if attempt < self.retry.max_attempts:
                self._sleep(self.retry.delay(attempt, self._rng))
        raise RequestFailed(self.source, endpoint, request, self.retry.max_attempts, cause, status)

    def close(self) -> None:
        self._client.close()
