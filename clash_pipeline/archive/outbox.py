"""The archive outbox: durable local writes now, uploads later, nothing lost and nothing duplicated.

`enqueue` prepares an object (compress, hash, key), writes it to `<folder>/<key>` with an atomic rename and
fsync, and records it `archive_pending`; it never touches the store. `drain` uploads pending objects in
creation order, marks each `archived` in its own transaction, then deletes the local copy; it also sweeps local
files no pending row points at after an hour (their writer stopped before recording them). A drain killed at
any point leaves each object either pending (uploaded again: a no-op for a content-addressed key) or archived.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from clash_pipeline.archive.archive import Archive, ArchiveRef
from clash_pipeline.archive.store import ArchiveStoreError
from clash_pipeline.memory.db import transaction
from clash_pipeline.timeutil import now_ms


ORPHAN_AGE_S = 3600  # a local file no pending row points at, this old: its writer stopped before recording it


@dataclass
class DrainResult:
    uploaded: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)
    swept: int = 0  # local files no pending row pointed at, removed


class Outbox:
    def __init__(self, folder: Path, conn: sqlite3.Connection, archive: Archive) -> None:
        self.folder, self.conn, self.archive = Path(folder), conn, archive

    def _path(self, key: str) -> Path:
        return self.folder / key

    def enqueue(self, kind: str, parts: list[str], payload: bytes, content_type: str = "application/json",
                at_ms: int | None = None) -> ArchiveRef:
        """Keep the payload durably on local disk and record it pending; return its (future) archive ref."""
        return self.keep(*Archive.prepare(kind, parts, payload, content_type, at_ms))

    def keep(self, ref: ArchiveRef, stored: bytes) -> ArchiveRef:
        """`enqueue` for an object prepared already (`Archive.prepare`, which any thread may run)."""
        self.write(ref, stored)
        with transaction(self.conn):
            self.record(ref)
        return ref

    def write(self, ref: ArchiveRef, stored: bytes) -> ArchiveRef:
        """The local copy of a prepared object, durable (written, fsync'd, renamed into place); no database:
        any thread may write while the caller's thread goes on, then `record` it."""
        path = self._path(ref.key)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(stored)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        return ref

    def record(self, ref: ArchiveRef) -> None:
        """Record a written object pending upload (the caller's transaction: with the rows that point at it)."""
        self.conn.execute(
            "INSERT INTO archive_objects (key, sha256, content_type, stored_bytes, raw_bytes, status, created_ms)"
            " VALUES (?, ?, ?, ?, ?, 'archive_pending', ?) ON CONFLICT (key) DO NOTHING",
            (ref.key, ref.sha256, ref.content_type, ref.stored_bytes, ref.raw_bytes, now_ms()),
        )

    def status(self, key: str) -> str | None:
        row = self.conn.execute("SELECT status FROM archive_objects WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def read(self, key: str) -> bytes:
        """The payload, from the local outbox while pending, else from the archive (hash-verified either way)."""
        path = self._path(key)
        if path.exists():
            return Archive.unpack(key, path.read_bytes())
        return self.archive.get(key)

    def drain(self, limit: int | None = None) -> DrainResult:
        """Upload pending objects; stop at the first store failure (it is down: try again later)."""
        result = DrainResult()
        pending = self.conn.execute(
            "SELECT key, sha256, stored_bytes, raw_bytes, content_type FROM archive_objects "
            "WHERE status = 'archive_pending' ORDER BY created_ms, key LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
        for key, sha, stored_bytes, raw_bytes, content_type in pending:
            ref = ArchiveRef(key, sha, stored_bytes, raw_bytes, content_type)
            try:
                self.archive.upload(ref, self._path(key).read_bytes())
            except ArchiveStoreError as error:
                with transaction(self.conn):
                    self.conn.execute("UPDATE archive_objects SET attempts = attempts + 1, last_error = ? "
                                      "WHERE key = ?", (str(error), key))
                result.errors.append(str(error))
                break
            with transaction(self.conn):
                self.conn.execute("UPDATE archive_objects SET status = 'archived', archived_ms = ?, last_error = NULL"
                                  " WHERE key = ?", (now_ms(), key))
            self._path(key).unlink(missing_ok=True)
            result.uploaded += 1
        (result.pending,) = self.conn.execute(
            "SELECT COUNT(*) FROM archive_objects WHERE status = 'archive_pending'").fetchone()
        result.swept = self.sweep()
        return result

    def sweep(self, older_than_s: float = ORPHAN_AGE_S) -> int:
        """Remove local files that no pending row points at once they are `older_than_s` old: an object written
        for a batch whose rows never committed (its process was killed in between), a half-written temporary
        file. Younger ones may still be about to be recorded. The number removed."""
        if not self.folder.is_dir():
            return 0
        pending = {key for (key,) in self.conn.execute(
            "SELECT key FROM archive_objects WHERE status = 'archive_pending'")}
        cutoff, swept = time.time() - older_than_s, 0
        for path in self.folder.rglob("*"):
            if path.is_file() and path.relative_to(self.folder).as_posix() not in pending \
                    and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                swept += 1
        return swept
