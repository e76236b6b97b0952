"""Where the lake lives: fixed keys in the archive's object store (local folder or R2), written through the same
store classes, and read back through pyarrow's filesystem for scans (DuckDB) or the store for verified bytes.

Keys: `lake/<table>/<YYYY-MM-DD>/part-0.parquet` (candles: `lake/hl_candles/<day>/interval=<iv>/part-0.parquet`)
and `lake/manifests/<YYYY-MM-DD>.json`. The archive proper is content-addressed (`Archive`); the lake writes fixed
keys straight to the store (`ObjectStore.put` takes any key), so that a re-run overwrites a partition in place and
readers find it by name; the manifest carries each file's sha256 instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs

from clash_pipeline.archive import make_store
from clash_pipeline.archive.store import ArchiveKeyError, ObjectStore
from clash_pipeline.settings import Settings

PREFIX = "lake"
MANIFESTS = f"{PREFIX}/manifests/"


class LakeIntegrityError(RuntimeError):
    """A lake file's bytes do not match the sha256 its manifest records."""


def part_key(table: str, day: str, split: str | None = None) -> str:
    middle = f"{day}/{split}" if split else day
    return f"{PREFIX}/{table}/{middle}/part-0.parquet"


def manifest_key(day: str) -> str:
    return f"{MANIFESTS}{day}.json"


@dataclass(frozen=True)
class LakeLocation:
    """The lake's store settings: the archive backend (`local` root folder, or `r2` with an S3-compatible endpoint,
    bucket and credentials)."""

    backend: str
    root: str
    endpoint_url: str | None = None
    bucket: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def __repr__(self) -> str:  # never the secret
        return f"LakeLocation({self.describe()})"

    def describe(self) -> str:
        return f"local:{self.root}" if self.backend == "local" else f"s3:{self.endpoint_url}/{self.bucket}"


class Lake:
    """The lake's files and manifests in one store."""

    def __init__(self, location: LakeLocation) -> None:
        self.location = location
        self.store: ObjectStore = make_store(location.backend, location.root, location.endpoint_url,
                                             location.bucket, location.access_key_id, location.secret_access_key)
        self.filesystem, self._base = _filesystem(location)

    def describe(self) -> str:
        return self.location.describe()

    def path(self, key: str) -> str:
        """A key as a path on `self.filesystem`."""
        return f"{self._base}/{key}"

    def put(self, key: str, data: bytes, content_type: str = "application/vnd.apache.parquet") -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.store.put(key, data, content_type, {"sha256": digest})
        return digest

    def get_verified(self, key: str, sha256: str) -> bytes:
        data = self.store.get(key)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise LakeIntegrityError(f"lake file {key} in {self.describe()} is corrupt: sha256 {actual} != {sha256}")
        return data

    def days(self) -> list[str]:
        """Days with a manifest, oldest first."""
        return sorted(key.removeprefix(MANIFESTS).removesuffix(".json") for key, _ in self.store.list(MANIFESTS)
                      if key.endswith(".json"))

    def manifest(self, day: str) -> dict:
        try:
            return json.loads(self.store.get(manifest_key(day)))
        except ArchiveKeyError:
            raise LookupError(f"no lake partition {day} in {self.describe()} (clash lake export --day {day})") from None


def _filesystem(location: LakeLocation) -> tuple[pafs.FileSystem, str]:
    if location.backend == "local":
        return pafs.LocalFileSystem(), Path(location.root).resolve().as_posix()
    url = urlparse(location.endpoint_url or "")
    fs = pafs.S3FileSystem(access_key=location.access_key_id, secret_key=location.secret_access_key,
                           endpoint_override=url.netloc, scheme=url.scheme or "https", region="auto",
                           retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=5))
    return fs, str(location.bucket)


def lake_from_settings(settings: Settings) -> Lake:
    """The lake in the archive store the settings name; R2 credentials from the environment."""
    return Lake(LakeLocation(settings.archive_backend, str(settings.archive_dir), settings.r2_endpoint_url,
                             settings.r2_bucket, os.environ.get("R2_ACCESS_KEY_ID"),
                             os.environ.get("R2_SECRET_ACCESS_KEY")))
