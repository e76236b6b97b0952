"""Build each source's client for the configured mode: replay (default), live, or live with recording.

Replay answers from CLASH_REPLAY_DIR recordings, then the source's seeded generator, with no rate limit; live
calls the configured base URLs within each API's budget, and records every body when asked (`clash record`).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from clash_pipeline.settings import Settings
from clash_pipeline.sources.defillama.client import SOURCE as DEFILLAMA, DefiLlamaClient
from clash_pipeline.sources.defillama.replay import DefiLlamaReplay
from clash_pipeline.sources.http import SourceHttp, WeightBudget
from clash_pipeline.sources.hyperliquid.client import SOURCE as HYPERLIQUID, HyperliquidClient
from clash_pipeline.sources.hyperliquid.replay import HyperliquidReplay
from clash_pipeline.sources.polymarket.client import SOURCE as POLYMARKET, PolymarketClient
from clash_pipeline.sources.polymarket.replay import PolymarketReplay
from clash_pipeline.sources.replay import Generator, RecordingTransport, ReplayTransport

HYPERLIQUID_WEIGHT_PER_MINUTE = 1200  # documented REST budget per IP
POLYMARKET_REQUESTS_PER_MINUTE = 600  # well under Gamma's 300 /markets per 10 s
DEFILLAMA_REQUESTS_PER_MINUTE = 240  # under the ~300/min fair use seen by third parties


def _http(settings: Settings, source: str, folder: str, base_url: str, generator: Generator,
          record_dir: Path | None) -> SourceHttp:
    """`folder` names this host's recordings: DIR/<folder>/."""
    if settings.source_mode == "replay":
        transport: httpx.BaseTransport = ReplayTransport(folder, generator, settings.replay_dir)
    else:
        transport = httpx.HTTPTransport(retries=0)
        if record_dir is not None:
            transport = RecordingTransport(folder, transport, record_dir)
    return SourceHttp(source, base_url, transport=transport)


def _budget(settings: Settings, per_minute: int) -> WeightBudget | None:
    return None if settings.source_mode == "replay" else WeightBudget(per_minute)


def hyperliquid_client(settings: Settings, record_dir: Path | None = None) -> HyperliquidClient:
    http = _http(settings, HYPERLIQUID, "hyperliquid", settings.hyperliquid_url, HyperliquidReplay(), record_dir)
    return HyperliquidClient(http, _budget(settings, HYPERLIQUID_WEIGHT_PER_MINUTE))


def polymarket_client(settings: Settings, record_dir: Path | None = None) -> PolymarketClient:
    replay = PolymarketReplay()
    return PolymarketClient(
        _http(settings, POLYMARKET, "polymarket-gamma", settings.polymarket_gamma_url, replay.gamma, record_dir),
        _http(settings, POLYMARKET, "polymarket-clob", settings.polymarket_clob_url, replay.clob, record_dir),
        _budget(settings, POLYMARKET_REQUESTS_PER_MINUTE),
    )


def defillama_client(settings: Settings, record_dir: Path | None = None) -> DefiLlamaClient:
    replay = DefiLlamaReplay()
    return DefiLlamaClient(
        _http(settings, DEFILLAMA, "defillama-api", settings.defillama_api_url, replay.api, record_dir),
        _http(settings, DEFILLAMA, "defillama-stablecoins", settings.defillama_stablecoins_url, replay.stablecoins,
              record_dir),
        _budget(settings, DEFILLAMA_REQUESTS_PER_MINUTE),
    )
