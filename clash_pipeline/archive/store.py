"""Object stores behind the archive. The local folder is the embedded default."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class ObjectStore(Protocol):
    """The few operations the archive needs from a backend."""

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str],
            if_absent: bool = False) -> bool:
        """Store an object; with `if_absent`, leave an existing one alone. True when written."""
        ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]: ...

    def describe(self) -> str: ...


class ArchiveKeyError(KeyError):
    """No object at that key."""


class ArchiveStoreError(RuntimeError):
    """The store failed (unreachable, throttled past the retries, refused); names bucket and key."""


class LocalStore:
    """Objects as files under `root`; metadata beside each in `<key>.meta.json`; writes are atomic renames."""

    META_SUFFIX = ".meta.json"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"archive key {key!r} is not a relative path inside the archive folder")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str],
            if_absent: bool = False) -> bool:
        path = self._path(key)
        if if_absent and path.is_file():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, content in ((path.with_name(path.name + self.META_SUFFIX),
                                 json.dumps({"content_type": content_type, **metadata}).encode()), (path, data)):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(tmp, target)
        return True

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ArchiveKeyError(f"no archive object {key!r} in {self.root}") from None

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not key.endswith(self.META_SUFFIX) \
                    and not path.name.startswith(".tmp-"):
                yield key, path.stat().st_size

    def describe(self) -> str:
        return f"local:{self.root}"
