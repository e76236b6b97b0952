"""Build a Hyperliquid client for the configured mode: replay (default), live, or live with recording."""

from __future__ import annotations

from pathlib import Path

import httpx

from clash_pipeline.settings import Settings
from clash_pipeline.sources.http import SourceHttp, WeightBudget
from clash_pipeline.sources.hyperliquid.client import SOURCE, HyperliquidClient
from clash_pipeline.sources.hyperliquid.replay import HyperliquidReplay
from clash_pipeline.sources.replay import RecordingTransport, ReplayTransport

WEIGHT_PER_MINUTE = 1200


def hyperliquid_client(settings: Settings, record_dir: Path | None = None) -> HyperliquidClient:
    """Replay answers from CLASH_REPLAY_DIR recordings, then the seeded generator, with no rate limit; live
    calls HYPERLIQUID_API_URL within the 1,200-weight-per-minute budget (and records every body if asked)."""
    if settings.source_mode == "replay":
        transport: httpx.BaseTransport = ReplayTransport(SOURCE, HyperliquidReplay(), settings.replay_dir)
        return HyperliquidClient(SourceHttp(SOURCE, settings.hyperliquid_url, transport=transport))
    transport = httpx.HTTPTransport(retries=0)
    if record_dir is not None:
        transport = RecordingTransport(SOURCE, transport, record_dir)
    return HyperliquidClient(
        SourceHttp(SOURCE, settings.hyperliquid_url, transport=transport), WeightBudget(WEIGHT_PER_MINUTE)
    )
