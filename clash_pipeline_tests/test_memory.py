"""Market memory: migrations in order and guarded, WAL and foreign keys, idempotent upserts, status."""

from __future__ import annotations

import shutil

import pytest

from clash_pipeline.memory.db import MIGRATIONS_DIR, MigrationError, connect, migrate, migration_files, transaction
from clash_pipeline.memory.status import memory_status
from clash_pipeline.memory.tables import HL_CANDLES, MARKET_MEMORY_TABLES
from clash_pipeline.memory.upsert import upsert


def test_migrations_apply_in_order_once(tmp_path):
    conn = connect(tmp_path / "m.sqlite")
    versions = [version for version, _ in migration_files()]
    assert migrate(conn) == versions == list(range(1, len(versions) + 1))
    assert migrate(conn) == []
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {t.name for t in MARKET_MEMORY_TABLES} <= names


def test_a_changed_migration_is_refused_and_a_new_one_applies(tmp_path):
    folder = tmp_path / "sql"
    shutil.copytree(MIGRATIONS_DIR, folder)
    conn = connect(tmp_path / "m.sqlite")
    migrate(conn, folder)
    (folder / "0099_extra.sql").write_text("CREATE TABLE extra (id INTEGER PRIMARY KEY);\n")
    assert migrate(conn, folder) == [99]
    first = sorted(folder.glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(conn, folder)


def test_a_failing_migration_leaves_nothing_behind(tmp_path):
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "0001_bad.sql").write_text("CREATE TABLE a (id INTEGER);\nCREATE TABLE a (id INTEGER);\n")
    conn = connect(tmp_path / "m.sqlite")
    with pytest.raises(Exception, match="already exists"):
        migrate(conn, folder)
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'a'").fetchone() == (0,)
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (0,)


def test_upsert_is_idempotent_and_updates_in_place(memory):
    rows = [("BTC", "1m", t, t + 59_999, 1.0, 2.0, 0.5, 1.5, 10.0, 3) for t in range(0, 600_000, 60_000)]
    for _ in range(2):
        with transaction(memory):
            upsert(memory, HL_CANDLES, rows)
    assert memory.execute("SELECT COUNT(*) FROM hl_candles").fetchone() == (10,)
    with transaction(memory):
        upsert(memory, HL_CANDLES, [("BTC", "1m", 0, 59_999, 1.0, 2.0, 0.5, 1.9, 10.0, 3)])
    assert memory.execute("SELECT close FROM hl_candles WHERE open_ms = 0").fetchone() == (1.9,)
    status = {s.table: s for s in memory_status(memory)}
    assert (status["hl_candles"].rows, status["hl_candles"].first_ms, status["hl_candles"].last_ms) == (10, 0, 540_000)


def test_a_transaction_inside_another_is_a_savepoint(memory):
    """The inner one rolls back on its own; the outer one commits or discards both."""
    def count() -> int:
        return memory.execute("SELECT COUNT(*) FROM kill_switches").fetchone()[0]

    with transaction(memory):
        memory.execute("INSERT INTO kill_switches (scope, engaged, reason, updated_ms) VALUES ('global', 1, 'a', 1)")
        try:
            with transaction(memory):
                memory.execute("INSERT INTO kill_switches (scope, engaged, reason, updated_ms) "
                               "VALUES ('clone:1', 1, 'b', 1)")
                raise RuntimeError("inner fails")
        except RuntimeError:
            pass
        assert count() == 1 and memory.in_transaction
    assert count() == 1 and not memory.in_transaction
    try:
        with transaction(memory):
            with transaction(memory):
                memory.execute("INSERT INTO kill_switches (scope, engaged, reason, updated_ms) "
                               "VALUES ('clone:2', 1, 'c', 1)")
            raise RuntimeError("outer fails")
    except RuntimeError:
        pass
    assert count() == 1
