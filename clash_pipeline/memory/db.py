"""Connections to market memory and the migration runner."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from clash_pipeline.settings import PROJECT_ROOT
from clash_pipeline.timeutil import now_ms

MIGRATIONS_DIR = PROJECT_ROOT / "sql"
BUSY_TIMEOUT_MS = 30_000


class MigrationError(RuntimeError):
    """A migration file cannot be applied, or changed after it was applied."""


def connect(path: Path | str) -> sqlite3.Connection:
    """Open market memory with WAL, a busy timeout and foreign keys on; autocommit off by default."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


_SAVEPOINTS = itertools.count()


@contextmanager
def checkpoints_deferred(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Bulk writes (a simulation of many ticks): this connection does not checkpoint the WAL while the block runs
    (each checkpoint copies the pages written since the last and syncs the file, and a simulation rewrites the
    same pages every day), then checkpoints once after it (PASSIVE: no reader or writer waits for it)."""
    (previous,) = conn.execute("PRAGMA wal_autocheckpoint").fetchone()
    conn.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield conn
    finally:
        conn.execute(f"PRAGMA wal_autocheckpoint={int(previous)}")
        if not conn.in_transaction:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def next_ids(conn: sqlite3.Connection, table: str, key: str, count: int) -> range:
    """The ids the next `count` rows of an AUTOINCREMENT table get if inserted with them, in the caller's write
    transaction (no other writer can take them): past the table's sequence and its rows. Rows written in one
    statement per table then need no id read back (`executemany` returns none)."""
    (last,) = conn.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "
                           f"COALESCE((SELECT MAX({key}) FROM {table}), 0))", (table,)).fetchone()
    return range(last + 1, last + 1 + count)


def reserve_ids(conn: sqlite3.Connection, table: str, key: str, count: int) -> range:
    """A block of `count` ids of an AUTOINCREMENT table, taken from its sequence before any transaction needs them
    (as a database sequence hands out a cached block): a row inserted without an id gets one past the block, so a
    reserved id is the caller's alone. Each statement is atomic on its own (no savepoint)."""
    take = "UPDATE sqlite_sequence SET seq = seq + ? WHERE name = ? RETURNING seq"
    taken = conn.execute(take, (count, table)).fetchall()
    if not taken:  # the table's first row is yet to come: its sequence starts past the rows it holds
        conn.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT ?, (SELECT COALESCE(MAX({key}), 0) FROM {table}) "
                     "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)", (table, table))
        taken = conn.execute(take, (count, table)).fetchall()
    ((last,),) = taken
    return range(last - count + 1, last + 1)


def insert_new(conn: sqlite3.Connection, sql: str, rows: list[tuple], ids: Sequence[int], table: str,
               key: str) -> set[int]:
    """Insert rows, each with its own id from `ids` (`sql` an INSERT ... ON CONFLICT DO NOTHING into a table with
    no triggers): the ids that went in. All of them unless a row conflicted, and only then are they read back."""
    before = conn.total_changes
    conn.executemany(sql, rows)
    if conn.total_changes - before == len(rows):
        return set(ids)
    return {i for (i,) in conn.execute(f"SELECT {key} FROM {table} WHERE {key} IN ({','.join('?' * len(ids))})",
                                       list(ids))}


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: all of it commits, or none of it. Inside another one, a savepoint: it rolls back
    on its own, and commits with the outer transaction."""
    if conn.in_transaction:
        name = f"nested_{next(_SAVEPOINTS)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    """Numbered `NNNN_name.sql` files, in order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        prefix = path.name.split("_", 1)[0]
        if not prefix.isdigit():
            raise MigrationError(f"migration file {path.name} does not start with a number")
        found.append((int(prefix), path))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a number in {directory}")
    return found


def migrate(conn: sqlite3.Connection, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply pending migrations in order; return the versions applied now.

    Each applied file's sha256 is recorded; a file whose content changed after it was applied is refused.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_ms INTEGER NOT NULL)"
    )
    applied = {v: (name, sha) for v, name, sha in conn.execute("SELECT version, name, sha256 FROM schema_migrations")}
    done = []
    for version, path in migration_files(directory):
        text = path.read_text()
        sha = hashlib.sha256(text.encode()).hexdigest()
        if version in applied:
            if applied[version][1] != sha:
                raise MigrationError(
                    f"migration {path.name} changed after it was applied; add a new numbered file instead"
                )
            continue
        with transaction(conn):
            for statement in _statements(text):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, sha256, applied_ms) VALUES (?, ?, ?, ?)",
                (version, path.name, sha, now_ms()),
            )
        done.append(version)
    return done


def _statements(script: str) -> list[str]:
    """Split a migration script into complete statements (executescript would commit on its own)."""
    statements, current = [], []
    for line in script.splitlines():
        current.append(line)
        candidate = "\n".join(current).strip()
        if candidate and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            current = []
    rest = "\n".join(current).strip()
    if rest and not all(line.strip().startswith("--") or not line.strip() for line in current):
        raise MigrationError(f"incomplete SQL statement at the end of a migration: {rest[:80]!r}")
    return statements


def open_memory(path: Path | str) -> sqlite3.Connection:
    """Connect and bring the schema up to date."""
    conn = connect(path)
    migrate(conn)
    return conn
