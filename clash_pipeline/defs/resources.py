"""Resources: market memory, the source clients and the archive, each configured from the environment."""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import dagster as dg

from clash_pipeline.archive import make_store
from clash_pipeline.archive.archive import Archive
from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import Settings, load_settings
from clash_pipeline.sources.connect import defillama_client, hyperliquid_client, polymarket_client

T = TypeVar("T")


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


class SourcesResource(dg.ConfigurableResource):
    """The source clients (Hyperliquid, Polymarket, DefiLlama) in replay (default) or live mode."""

    source_mode: str = "replay"
    replay_dir: str | None = None
    hyperliquid_url: str
    polymarket_gamma_url: str
    polymarket_clob_url: str
    defillama_api_url: str
    defillama_stablecoins_url: str

    def _settings(self) -> Settings:
        env = {"CLASH_SOURCE_MODE": self.source_mode, "HYPERLIQUID_API_URL": self.hyperliquid_url,
               "POLYMARKET_GAMMA_URL": self.polymarket_gamma_url, "POLYMARKET_CLOB_URL": self.polymarket_clob_url,
               "DEFILLAMA_API_URL": self.defillama_api_url, "DEFILLAMA_STABLECOINS_URL": self.defillama_stablecoins_url}
        return load_settings({**env, **({"CLASH_REPLAY_DIR": self.replay_dir} if self.replay_dir else {})})

    @contextmanager
    def _open(self, factory: Callable[[Settings], T]) -> Iterator[T]:
        client = factory(self._settings())
        try:
            yield client
        finally:
            client.close()

    def hyperliquid(self):
        return self._open(hyperliquid_client)

    def polymarket(self):
        return self._open(polymarket_client)

    def defillama(self):
        return self._open(defillama_client)


class ArchiveResource(dg.ConfigurableResource):
    """The artifact archive: a local folder (embedded default) or R2; secrets come in as EnvVars."""

    backend: str = "local"
    root: str
    outbox_root: str
    endpoint_url: str | None = None
    bucket: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def get_archive(self) -> Archive:
        return Archive(make_store(self.backend, self.root, self.endpoint_url, self.bucket, self.access_key_id,
                                  self.secret_access_key))

    def outbox(self, conn: sqlite3.Connection) -> Outbox:
        return Outbox(Path(self.outbox_root), conn, self.get_archive())


def default_resources(settings: Settings) -> dict[str, object]:
    """Resources for the embedded default, from the environment."""
    from clash_pipeline.defs.archive_io import ArchiveIOManager

    r2 = settings.archive_backend == "r2"
    archive = ArchiveResource(
        backend=settings.archive_backend, root=str(settings.archive_dir), outbox_root=str(settings.outbox_dir),
        endpoint_url=settings.r2_endpoint_url, bucket=settings.r2_bucket,
        access_key_id=dg.EnvVar("R2_ACCESS_KEY_ID") if r2 else None,
        secret_access_key=dg.EnvVar("R2_SECRET_ACCESS_KEY") if r2 else None,
    )
    return {
        "market_memory": MarketMemoryResource(path=str(settings.memory_path)),
        "sources": SourcesResource(
            source_mode=settings.source_mode, replay_dir=str(settings.replay_dir) if settings.replay_dir else None,
            hyperliquid_url=settings.hyperliquid_url, polymarket_gamma_url=settings.polymarket_gamma_url,
            polymarket_clob_url=settings.polymarket_clob_url, defillama_api_url=settings.defillama_api_url,
            defillama_stablecoins_url=settings.defillama_stablecoins_url,
        ),
        "archive": archive,
        "archive_io_manager": ArchiveIOManager(archive=archive),
    }
