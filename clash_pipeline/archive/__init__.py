"""The artifact archive: large payloads, content-addressed, behind one interface (local folder or R2)."""

from __future__ import annotations

import os
from pathlib import Path

from clash_pipeline.archive.archive import Archive
from clash_pipeline.archive.store import LocalStore, ObjectStore
from clash_pipeline.settings import Settings


def make_store(backend: str, root: str, endpoint_url: str | None = None, bucket: str | None = None,
               access_key_id: str | None = None, secret_access_key: str | None = None) -> ObjectStore:
    """The configured backend: a local folder, or R2 (any S3-compatible endpoint)."""
    if backend == "local":
        return LocalStore(Path(root))
    from clash_pipeline.archive.s3 import S3Store

    if not (endpoint_url and bucket and access_key_id and secret_access_key):
        raise ValueError("the r2 archive needs an endpoint, a bucket, R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY")
    return S3Store(bucket, endpoint_url, access_key_id, secret_access_key)


def open_archive(settings: Settings) -> Archive:
    """The archive for a process, credentials from the environment (R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY)."""
    return Archive(make_store(settings.archive_backend, str(settings.archive_dir), settings.r2_endpoint_url,
                              settings.r2_bucket, os.environ.get("R2_ACCESS_KEY_ID"),
                              os.environ.get("R2_SECRET_ACCESS_KEY")))
