"""Helpers for tests: raw responses from files or bytes, and replay clients on a fixed clock."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from clash_pipeline.sources.http import RawResponse, RetryPolicy, SourceHttp
from clash_pipeline.sources.hyperliquid.client import HyperliquidClient
from clash_pipeline.sources.hyperliquid.replay import HyperliquidReplay
from clash_pipeline.sources.replay import ReplayTransport


def raw(endpoint: str, body: bytes | str | Path, request: dict | None = None, fetched_ms: int = 0) -> RawResponse:
    if isinstance(body, Path):
        body = body.read_bytes()
    if isinstance(body, str):
        body = body.encode()
    return RawResponse("hyperliquid", endpoint, "POST", "/info", request or {"type": endpoint}, 200, body,
                       fetched_ms)


def replay_client(now_ms: int, **http: object) -> HyperliquidClient:
    transport = ReplayTransport("hyperliquid", HyperliquidReplay(clock=lambda: now_ms))
    return HyperliquidClient(SourceHttp("hyperliquid", "https://replay.invalid", transport=transport, **http))


def mock_client(handler, retry: RetryPolicy = RetryPolicy(max_attempts=3), sleeps: list | None = None):
    """A client over httpx.MockTransport(handler); sleeps are recorded instead of slept."""
    sleeps = [] if sleeps is None else sleeps
    http = SourceHttp("hyperliquid", "https://api.invalid", transport=httpx.MockTransport(handler), retry=retry,
                      sleep=sleeps.append, seed=1)
    return HyperliquidClient(http)


def body_of(request: httpx.Request) -> dict:
    return json.loads(request.content)


def trading_runtime(home: Path, clock=None, **options):
    """A decision runtime on `home`'s market memory with a local archive outbox."""
    from clash_pipeline.archive.archive import Archive
    from clash_pipeline.archive.outbox import Outbox
    from clash_pipeline.archive.store import LocalStore
    from clash_pipeline.decisions.runtime import DecisionRuntime
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline_tests.conftest import NOW_MS

    conn = open_memory(home / "market_memory.sqlite")
    return DecisionRuntime(conn, Outbox(home / "outbox", conn, Archive(LocalStore(home / "archive"))),
                           clock=clock or (lambda: NOW_MS), **options)


def seed_hyperliquid(conn, now_ms: int, coins: list[str], intervals: list[str], days: int) -> None:
    """Market memory from replay: the universe, one snapshot (mids, contexts, books), and `days` of candles."""
    from clash_pipeline.ingest import hyperliquid as hl
    from clash_pipeline.timeutil import DAY_MS
    from clash_pipeline.universe.taxonomy import load_taxonomy

    client = replay_client(now_ms)
    snapshot = hl.pull_snapshot(client, coins)
    hl.write_universe(conn, snapshot, load_taxonomy())
    hl.write_mids(conn, snapshot)
    hl.write_contexts(conn, snapshot)
    hl.write_books(conn, snapshot)
    start = now_ms - days * DAY_MS
    hl.write_funding_history(conn, hl.pull_funding(client, coins, start, now_ms, lambda _: None), start, now_ms)
    hl.write_funding_pressure(conn, snapshot)
    hl.write_candles(conn, hl.pull_candles(client, coins, intervals, start, now_ms, lambda _: None), start, now_ms)
