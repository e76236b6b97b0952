"""ASGI middleware: request size limit (413), rate limits per client address and per token (429 with
Retry-After), and one log line per request that never carries a query string, a header or a body.

The rate limiter is an in-memory token bucket: right for one process; several processes would need a shared
store (e.g. Redis) to share budgets."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable

from clash_pipeline.api.problems import PROBLEM_JSON

log = logging.getLogger("clash_pipeline.api")


class TokenBucket:
    """`rate_per_s` tokens a second up to `burst`; `take` answers 0 (allowed) or the seconds to wait."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.rate, self.burst, self.clock, self.max_keys = rate_per_s, burst, clock, max_keys
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        now = self.clock()
        with self.lock:
            tokens, stamp = self.buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
            if tokens >= 1:
                self.buckets[key] = (tokens - 1, now)
                return 0.0
            self.buckets[key] = (tokens, now)
            if len(self.buckets) > self.max_keys:  # forget the idle: a full bucket is the same as none
                self.buckets = {k: v for k, v in self.buckets.items() if v[0] < self.burst - 1}
            return (1 - tokens) / self.rate


async def _send_problem(send, status: int, detail: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"type": "about:blank", "title": {413: "Content Too Large", 429: "Too Many Requests"}[status],
                       "status": status, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    def __init__(self, app, max_body_bytes: int, limiter: TokenBucket) -> None:
        self.app, self.max_body, self.limiter = app, max_body_bytes, limiter

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [0]

        async def logged_send(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, logged_send)
        finally:
            log.info("%s %s %s %.1fms", scope["method"], scope["path"], status[0],
                     (time.perf_counter() - started) * 1000)

    async def _guarded(self, scope, receive, send) -> None:
        headers = dict(scope["headers"])
        keys = [f"ip:{scope['client'][0] if scope.get('client') else '-'}"]
        if auth := headers.get(b"authorization"):
            keys.append("token:" + hashlib.sha256(auth).hexdigest()[:24])
        wait = max(self.limiter.take(key) for key in keys)
        if wait > 0:
            return await _send_problem(send, 429, "rate limit exceeded: retry later",
                                       [(b"retry-after", str(max(1, math.ceil(wait))).encode())])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await _send_problem(send, 413, f"request body over {self.max_body} bytes")
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body:
                return await _send_problem(send, 413, f"request body over {self.max_body} bytes")
        body, delivered = b"".join(chunks), [False]

        async def replay():
            if delivered[0]:
                return await receive()
            delivered[0] = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
