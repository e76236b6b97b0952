"""Resources: market memory, the Hyperliquid client, and the archive, each configured from the environment."""


import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from clash_pipeline.archive.archive import Archive
from clash_pipeline.archive.store import LocalStore
from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import Settings, load_settings
from clash_pipeline.sources.hyperliquid.client import HyperliquidClient
from clash_pipeline.sources.hyperliquid.connect import hyperliquid_client


class MarketMemoryResource(dg.ConfigurableResource):
    """SQLite market memory; the schema is migrated on first connect."""

    path: str

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = open_memory(self.path)
        try:
            yield conn
        finally:
            conn.close()


class HyperliquidResource(dg.ConfigurableResource):
    """The Hyperliquid client in replay (default) or live mode."""

    source_mode: str = "replay"
    api_url: str
    replay_dir: str | None = None

    @contextmanager
    def client(self) -> Iterator[HyperliquidClient]:
        settings = load_settings({
            "CLASH_SOURCE_MODE": self.source_mode, "HYPERLIQUID_API_URL": self.api_url,
            **({"CLASH_REPLAY_DIR": self.replay_dir} if self.replay_dir else {}),
        })
        client = hyperliquid_client(settings)
        try:
            yield client
        finally:
            client.close()


class ArchiveResource(dg.ConfigurableResource):
    """The artifact archive (a local folder on the embedded default)."""

    root: str

    def get_archive(self) -> Archive:
        return Archive(LocalStore(Path(self.root)))


def default_resources(settings: Settings) -> dict[str, object]:
    """Resources for the embedded default, from the environment."""
    from clash_pipeline.defs.archive_io import ArchiveIOManager

    archive = ArchiveResource(root=str(settings.archive_dir))
    return {
        "market_memory": MarketMemoryResource(path=str(settings.memory_path)),
        "hyperliquid": HyperliquidResource(
            source_mode=settings.source_mode, api_url=settings.hyperliquid_url,
            replay_dir=str(settings.replay_dir) if settings.replay_dir else None,
        ),
        "archive": archive,
        "archive_io_manager": ArchiveIOManager(archive=archive),
    }
