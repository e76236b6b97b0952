"""API latency under load (`make bench`): p50/p99 of preview, standings and leaderboard with 50 concurrent
clients on a real `clash serve` (uvicorn, one process) on loopback, started as a subprocess. The machine's load
shows in these figures: they are absolute, not ratios."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from eth_account import Account

CLIENTS, REQUESTS_PER_CLIENT, DEADLINE_S = 50, 8, 30.0


def _home(folder: Path, now: int) -> None:
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline_tests.helpers import seed_hyperliquid

    conn = open_memory(folder / "market_memory.sqlite")
    seed_hyperliquid(conn, now, ["BTC", "ETH", "SOL", "HYPE"], ["15m", "1m"], days=1)
    conn.close()


def _measure(url: str, method: str, path: str, headers: dict, body: dict | None) -> list[float]:
    """50 clients (threads, each with its own keep-alive connection), each sending requests one after another."""
    samples: list[float] = []
    deadline = time.monotonic() + DEADLINE_S

    def one_client() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            client.request(method, path, json=body).raise_for_status()  # connect before measuring
            for _ in range(REQUESTS_PER_CLIENT):
                if time.monotonic() > deadline:
                    return
                start = time.perf_counter()
                client.request(method, path, json=body).raise_for_status()
                samples.append((time.perf_counter() - start) * 1000)

    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(one_client) for _ in range(CLIENTS)]:
            future.result()
    return sorted(samples)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(folder: Path, port: int) -> subprocess.Popen:
    from clash_pipeline_tests.api_helpers import DOMAIN

    env = {**os.environ, "CLASH_HOME": str(folder), "CLASH_API_SIWE_DOMAINS": DOMAIN,
           "CLASH_API_RATE_PER_MINUTE": str(10**7), "CLASH_API_RATE_BURST": str(10**6)}
    server = subprocess.Popen([sys.executable, "-m", "clash_pipeline.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/arena", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("clash serve did not start")


def _arena_with_tickets(folder: Path, clone_ids: list[int], now: int) -> str:
    """Put the clones in the arena (through the lifecycle) and sell 200 tickets in the accumulating race."""
    from clash_pipeline.arena import lifecycle
    from clash_pipeline.arena.races import Arena
    from clash_pipeline.archive.archive import Archive
    from clash_pipeline.archive.outbox import Outbox
    from clash_pipeline.archive.store import LocalStore
    from clash_pipeline.memory.db import open_memory

    conn = open_memory(folder / "market_memory.sqlite")
    for clone_id in clone_ids:
        for state in ("audition_fee_paid", "auditioning", "passed", "queued", "in_arena"):
            lifecycle.transition(conn, clone_id, state, "bench", now)
    arena = Arena(conn, Outbox(folder / "outbox", conn, Archive(LocalStore(folder / "archive"))))
    race = arena.accumulating(now)
    for i in range(200):
        arena.buy_ticket(race, clone_ids[i % len(clone_ids)], f"0x{i + 1:040x}", f"bench-{i}", now)
    conn.close()
    return race


def bench_api(folder: Path) -> None:
    from clash_pipeline.timeutil import now_ms
    from clash_pipeline_tests.api_helpers import bearer, sign_in

    folder = folder / "api"
    folder.mkdir()
    now = now_ms()
    _home(folder, now)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start_server(folder, port)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            owner = bearer(sign_in(client, Account.create()))
            clone_ids = [client.post("/api/v1/clones", headers=owner, json={
                "name": f"bench-{i}", "mode": "custom", "custom": {"assets": ["BTC", "ETH", "SOL", "HYPE"]}})
                .json()["cloneId"] for i in range(4)]
        race = _arena_with_tickets(folder, clone_ids, now)
        routes = (("preview", "POST", f"/api/v1/clones/{clone_ids[0]}/preview", owner,
                   {"source": "version", "maxAssets": 4}),
                  ("standings", "GET", f"/api/v1/arena/races/{race}/standings", {}, None),
                  ("leaderboard", "GET", "/api/v1/leaderboard", {}, None))
        print(f"HTTP API, {CLIENTS} concurrent clients, `clash serve` on loopback (one process):")
        for name, method, path, headers, body in routes:
            start = time.perf_counter()
            samples = _measure(url, method, path, headers, body)
            elapsed = time.perf_counter() - start
            p50, p99 = samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]
            print(f"  {name:<12} {len(samples):>4} requests: p50 {p50:7.1f} ms, p99 {p99:7.1f} ms, "
                  f"{len(samples) / elapsed:6.0f} req/s")
    finally:
        server.terminate()
        server.wait(10)
