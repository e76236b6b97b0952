"""Content-addressed archive over an object store.

Objects are gzip-compressed (deterministically: no timestamp in the header) and stored under
`<kind>/<YYYY-MM-DD>/<parts...>/<sha256 of the stored bytes>.gz`; putting an object that is already there is a
no-op; getting one re-hashes it and fails loudly on a mismatch. Named refs (`refs/<name>.json`) point at objects
so that a reader can find an object by a stable name (an asset and partition, a run).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import asdict, dataclass

from clash_pipeline.archive.store import ObjectStore
from clash_pipeline.timeutil import iso, now_ms

COMPRESS_LEVEL = 1  # fast: payloads are JSON, which level 1 already shrinks well


class ArchiveIntegrityError(RuntimeError):
    """A stored object's bytes do not match the hash in its key."""


@dataclass(frozen=True)
class ArchiveRef:
    """Where an object lives, its hash, and its stored and original sizes."""

    key: str
    sha256: str
    stored_bytes: int
    raw_bytes: int
    content_type: str


def _safe(part: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.=" else "_" for ch in part) or "_"


class Archive:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    @staticmethod
    def prepare(kind: str, parts: list[str], payload: bytes, content_type: str = "application/json",
                at_ms: int | None = None) -> tuple[ArchiveRef, bytes]:
        """Compress and hash a payload and name its key, without touching the store."""
        stored = gzip.compress(payload, compresslevel=COMPRESS_LEVEL, mtime=0)
        digest = hashlib.sha256(stored).hexdigest()
        day = (iso(at_ms if at_ms is not None else now_ms()) or "")[:10]
        key = "/".join([_safe(kind), day, *(_safe(p) for p in parts), f"{digest}.gz"])
        return ArchiveRef(key, digest, len(stored), len(payload), content_type), stored

    def upload(self, ref: ArchiveRef, stored: bytes) -> bool:
        """Store prepared bytes; a no-op (False) when the object is already there."""
        metadata = {"sha256": ref.sha256, "raw-bytes": str(ref.raw_bytes), "content-encoding": "gzip"}
        return self.store.put(ref.key, stored, ref.content_type, metadata, if_absent=True)

    def put(self, kind: str, parts: list[str], payload: bytes, content_type: str = "application/json",
            at_ms: int | None = None) -> ArchiveRef:
        ref, stored = self.prepare(kind, parts, payload, content_type, at_ms)
        self.upload(ref, stored)
        return ref

    def get(self, key: str) -> bytes:
        return self.unpack(key, self.store.get(key))

    @staticmethod
    def unpack(key: str, stored: bytes) -> bytes:
        """Verify stored bytes against the hash in their key, then decompress them."""
        expected = key.rsplit("/", 1)[-1].removesuffix(".gz")
        actual = hashlib.sha256(stored).hexdigest()
        if actual != expected:
            raise ArchiveIntegrityError(f"archive object {key!r} is corrupt: sha256 {actual} != {expected}")
        return gzip.decompress(stored)

    def put_ref(self, name: str, refs: list[ArchiveRef], detail: dict | None = None) -> None:
        body = json.dumps({"objects": [asdict(r) for r in refs], **(detail or {})}, sort_keys=True).encode()
        self.store.put(f"refs/{name}.json", body, "application/json", {})

    def get_ref(self, name: str) -> list[ArchiveRef]:
        body = json.loads(self.store.get(f"refs/{name}.json"))
        return [ArchiveRef(**obj) for obj in body["objects"]]
