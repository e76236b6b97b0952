"""Shared test fixtures: the real recordings in ../shared/fixtures, a temporary market memory, a fixed clock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import PROJECT_ROOT

FIXTURES = Path(os.environ.get("CLASH_FIXTURES_DIR", PROJECT_ROOT.parent / "shared" / "fixtures"))
NOW_MS = 1_795_000_000_000  # 2026-11-18 09:46:40 UTC, a fixed "now" for the replay generator


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real API recordings; skipped when absent, a failure when CLASH_REQUIRE_FIXTURES=1."""
    if not FIXTURES.is_dir():
        message = f"real recordings not found at {FIXTURES}"
        if os.environ.get("CLASH_REQUIRE_FIXTURES") == "1":
            pytest.fail(message + " (CLASH_REQUIRE_FIXTURES=1)")
        pytest.skip(message)
    return FIXTURES


@pytest.fixture
def memory(tmp_path: Path):
    conn = open_memory(tmp_path / "memory.sqlite")
    yield conn
    conn.close()


TRADING_COINS = ["BTC", "ETH", "SOL", "HYPE"]


@pytest.fixture
def trading_home(tmp_path: Path) -> Path:
    """A market memory with the universe, a snapshot and a day of 15m and 1m candles, and two clones."""
    from clash_pipeline.strategy import modes, store
    from clash_pipeline_tests.helpers import seed_hyperliquid

    conn = open_memory(tmp_path / "market_memory.sqlite")
    seed_hyperliquid(conn, NOW_MS, TRADING_COINS, ["15m", "1m"], days=1)
    for name in ("one", "two"):
        store.create_clone(conn, name, modes.custom_graph(TRADING_COINS, {"hyperliquid": "price_action"}, "15m"),
                           "custom")
    conn.close()
    return tmp_path
