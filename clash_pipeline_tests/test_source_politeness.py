"""Source politeness and deadlines: Retry-After honoured (capped), a deadline per request and per pull."""

from __future__ import annotations

import socket
import threading
import time
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clash_pipeline.settings import HttpLimits, load_http_limits
from clash_pipeline.sources.errors import RequestFailed
from clash_pipeline.sources.http import RetryPolicy, SourceHttp, retry_after_s
from clash_pipeline.sources.hyperliquid.client import HyperliquidClient, parse


class FakeTime:
    """A monotonic clock that only moves when slept (or when a handler says time passed)."""

    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(handler, clock: FakeTime, limits: HttpLimits = HttpLimits(), attempts: int = 5) -> HyperliquidClient:
    http = SourceHttp("hyperliquid", "https://api.invalid", transport=httpx.MockTransport(handler),
                      retry=RetryPolicy(max_attempts=attempts), sleep=clock.sleep, seed=1, limits=limits,
                      clock=lambda: clock.now)
    return HyperliquidClient(http)


def busy_then_ok(status: int, retry_after: str, busy: int = 1):
    calls = []

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) <= busy:
            return httpx.Response(status, headers={"Retry-After": retry_after})
        return httpx.Response(200, json={"BTC": "1.0"})

    return serve, calls


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_replaces_the_jittered_backoff(status):
    clock = FakeTime()
    serve, calls = busy_then_ok(status, "30")
    assert parse(client(serve, clock).all_mids()) == {"BTC": 1.0}
    assert clock.sleeps == [30.0] and len(calls) == 2  # not ~0.3 s of jitter


def test_retry_after_as_an_http_date():
    clock = FakeTime()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    serve, _ = busy_then_ok(429, when)
    client(serve, clock).all_mids()
    assert 18 <= clock.sleeps[0] <= 20
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now_s=1445412470.0) == 10.0
    assert retry_after_s("soon", 0.0) is None and retry_after_s(None, 0.0) is None
    assert retry_after_s("-5", 0.0) == 0.0 and retry_after_s("nan", 0.0) is None


def test_a_retry_after_over_the_cap_fails_at_once_and_says_so():
    clock = FakeTime()
    serve, calls = busy_then_ok(429, "3600", busy=5)
    with pytest.raises(RequestFailed) as error:
        client(serve, clock, HttpLimits(retry_after_max_s=60)).all_mids()
    assert len(calls) == 1 and clock.sleeps == []
    assert "Retry-After 3600 s is over the 60 s cap (CLASH_RETRY_AFTER_MAX_S)" in str(error.value)


def test_retry_after_that_would_pass_the_request_deadline_fails_naming_both():
    clock = FakeTime()
    serve, calls = busy_then_ok(503, "30", busy=5)
    with pytest.raises(RequestFailed) as error:
        client(serve, clock, HttpLimits(request_s=50)).l2_book("BTC")
    message = str(error.value)
    assert clock.sleeps == [30.0] and len(calls) == 2
    assert "request deadline of 50 s (CLASH_REQUEST_DEADLINE_S)" in message
    assert "Retry-After 30 s honoured" in message and '"coin": "BTC"' in message and "HTTP 503" in message


class Drip(httpx.SyncByteStream):
    """A body sent one byte per (fake) second."""

    def __init__(self, clock: FakeTime, size: int) -> None:
        self.clock, self.size, self.sent = clock, size, 0

    def __iter__(self):
        for _ in range(self.size):
            self.clock.now += 1.0
            self.sent += 1
            yield b" "


def test_a_slow_drip_is_cut_at_the_request_deadline():
    clock = FakeTime()
    drip = Drip(clock, 99)  # alive for 99 s, each read well within httpx's read timeout
    with pytest.raises(RequestFailed) as error:
        client(lambda request: httpx.Response(200, stream=drip), clock, HttpLimits(request_s=10)).all_mids()
    assert drip.sent == 10 and clock.now == 10.0
    assert "request deadline of 10 s (CLASH_REQUEST_DEADLINE_S) passed while reading the body" in str(error.value)


def test_every_request_of_a_pull_ends_at_the_run_deadline():
    clock = FakeTime()

    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += 40.0
        return httpx.Response(200, json={"BTC": "1.0"})

    hl = client(slow, clock, HttpLimits(run_s=100))
    hl.all_mids(), hl.all_mids()
    with pytest.raises(RequestFailed) as error:
        hl.all_mids(), hl.all_mids()
    assert "run deadline of 100 s (CLASH_RUN_DEADLINE_S) passed" in str(error.value)
    assert clock.now <= 160


def test_a_real_slow_drip_over_a_socket_is_cut_in_time():
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b" ")
            except OSError:
                break
            time.sleep(0.02)
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    http = SourceHttp("hyperliquid", f"http://127.0.0.1:{server.getsockname()[1]}", timeout_s=5,
                      retry=RetryPolicy(max_attempts=1), limits=HttpLimits(request_s=0.4))
    began = time.monotonic()
    try:
        with pytest.raises(RequestFailed, match="request deadline of 0.4 s"):
            HyperliquidClient(http).all_mids()
    finally:
        stop.set()
        http.close()
        server.close()
    assert time.monotonic() - began < 1.5


def test_limits_come_from_the_environment_and_must_be_positive():
    assert load_http_limits({}) == HttpLimits()
    assert load_http_limits({"CLASH_RETRY_AFTER_MAX_S": "5", "CLASH_REQUEST_DEADLINE_S": "30",
                             "CLASH_RUN_DEADLINE_S": "600"}) == HttpLimits(5, 30, 600)
    for bad in ("0", "-1", "nan", "inf", "soon"):
        with pytest.raises(ValueError, match="CLASH_REQUEST_DEADLINE_S must be a positive number"):
            load_http_limits({"CLASH_REQUEST_DEADLINE_S": bad})
