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

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]: ...

    def describe(self) -> str: ...


class ArchiveKeyError(KeyError):
    """No object at that key."""


class LocalStore:
    """Objects as files under `root`; metadata beside each in `<key>.meta.json`; writes are atomic renames."""

    META_SUFFIX = ".meta.json"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"archive key {key!r} leaves the archive folder")
        return path

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, content in ((path.with_name(path.name + self.META_SUFFIX),
                                 json.dumps({"content_type": content_type, **metadata}).encode()), (path, data)):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(tmp, target)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ArchiveKeyError(f"no archive object {key!r} in {self.root}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

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
