"""The archive: one contract on both backends (local folder, S3 protocol server on loopback through boto3),
throttling and 5xx, clear errors without secrets, and an outbox that loses and duplicates nothing."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time

import pytest

from clash_pipeline.archive.archive import Archive, ArchiveIntegrityError
from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.archive.s3 import S3Store
from clash_pipeline.archive.store import ArchiveKeyError, ArchiveStoreError, LocalStore
from clash_pipeline.memory.db import open_memory
from clash_pipeline_tests.s3_server import S3Server

SECRET = "s3cr3t-never-printed"
_buckets = itertools.count()


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_store(s3):
    s3.reset()
    bucket = s3.create_bucket(f"clash-test-{next(_buckets)}")
    store = S3Store(bucket, s3.url, "test-key-id", SECRET, max_attempts=3, timeout_s=2)
    yield store
    s3.reset()


@pytest.fixture(params=["local", "s3"])
def archive(request, tmp_path) -> Archive:
    if request.param == "local":
        return Archive(LocalStore(tmp_path / "archive"))
    return Archive(request.getfixturevalue("s3_store"))


def test_put_get_is_content_addressed_and_idempotent(archive):
    payload = b'{"context": "packet"}' * 1000
    ref = archive.put("decision-context", ["clone=c000042", "run=7"], payload, at_ms=1_795_000_000_000)
    assert ref.key.startswith("decision-context/2026-11-18/clone=c000042/run=7/") and ref.key.endswith(".gz")
    assert ref.raw_bytes == len(payload) and ref.stored_bytes < ref.raw_bytes
    assert archive.get(ref.key) == payload
    again = archive.put("decision-context", ["clone=c000042", "run=7"], payload, at_ms=1_795_000_000_000)
    assert again == ref
    assert [key for key, _ in archive.store.list("decision-context/")] == [ref.key]


def test_list_by_prefix_and_missing_keys(archive):
    a = archive.put("raw", ["a"], b"1", at_ms=0)
    archive.put("raw", ["b"], b"2", at_ms=0)
    assert [key for key, _ in archive.store.list("raw/1970-01-01/a/")] == [a.key]
    with pytest.raises(ArchiveKeyError):
        archive.get("raw/1970-01-01/a/" + "0" * 64 + ".gz")


def test_a_corrupt_object_fails_loudly(archive):
    ref = archive.put("raw", ["x"], b"payload", at_ms=0)
    archive.store.put(ref.key, b"tampered", "application/json", {})
    with pytest.raises(ArchiveIntegrityError, match="is corrupt"):
        archive.get(ref.key)


def test_refs_name_objects(archive):
    ref = archive.put("raw", ["x"], b"payload", at_ms=0)
    archive.put_ref("hyperliquid_candles_raw/2026-11-01", [ref])
    assert archive.get_ref("hyperliquid_candles_raw/2026-11-01") == [ref]


def test_s3_sets_content_type_and_metadata(s3, s3_store):
    ref = Archive(s3_store).put("raw", ["x"], b"{}", at_ms=0)
    head = s3.direct_client().head_object(Bucket=s3_store.bucket, Key=ref.key)
    assert head["ContentType"] == "application/json"
    assert head["Metadata"] == {"sha256": ref.sha256, "raw-bytes": "2", "content-encoding": "gzip"}


@pytest.mark.parametrize("status", [503, 500, 429])
def test_throttling_and_5xx_are_retried(s3, s3_store, status):
    s3.faults.extend([status, status])
    ref = Archive(s3_store).put("raw", ["retry"], b"x", at_ms=0)
    assert not s3.faults and Archive(s3_store).get(ref.key) == b"x"


def test_errors_name_bucket_and_key_and_never_the_secret(s3, s3_store):
    s3.faults.extend([503] * 10)
    with pytest.raises(ArchiveStoreError) as error:
        s3_store.put("raw/k.gz", b"x", "application/json", {})
    assert f"s3://{s3_store.bucket}/raw/k.gz" in str(error.value) and "SlowDown" in str(error.value)
    s3.reset()
    s3.down = True
    with pytest.raises(ArchiveStoreError, match="unreachable") as error:
        s3_store.get("raw/k.gz")
    assert SECRET not in str(error.value) and "test-key-id" not in str(error.value)


def test_outbox_survives_the_store_being_down(s3, s3_store, tmp_path):
    conn = open_memory(tmp_path / "memory.sqlite")
    outbox = Outbox(tmp_path / "outbox", conn, Archive(s3_store))
    s3.down = True
    started = time.perf_counter()
    refs = [outbox.enqueue("decision-prompt", ["clone=c000001", f"run={i}"], f"prompt {i}".encode()) for i in range(5)]
    assert time.perf_counter() - started < 1.0  # never waits on the store
    assert {outbox.status(r.key) for r in refs} == {"archive_pending"}
    assert outbox.read(refs[2].key) == b"prompt 2"

    down = outbox.drain()
    assert (down.uploaded, down.pending) == (0, 5) and "unreachable" in down.errors[0]
    assert conn.execute("SELECT attempts FROM archive_objects WHERE key = ?", (refs[0].key,)).fetchone() == (1,)

    s3.down = False
    up = outbox.drain()
    assert (up.uploaded, up.pending, up.errors) == (5, 0, [])
    assert {outbox.status(r.key) for r in refs} == {"archived"}
    assert not any((tmp_path / "outbox").rglob("*.gz"))
    assert outbox.read(refs[2].key) == b"prompt 2"
    assert outbox.drain().uploaded == 0
    assert len(list(s3_store.list("decision-prompt/"))) == 5


def test_a_drain_killed_midway_loses_and_duplicates_nothing(s3, s3_store, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "CLASH_HOME": str(home), "CLASH_ARCHIVE_BACKEND": "r2", "R2_ENDPOINT_URL": s3.url,
           "R2_BUCKET": s3_store.bucket, "R2_ACCESS_KEY_ID": "test-key-id", "R2_SECRET_ACCESS_KEY": SECRET}
    conn = open_memory(home / "market_memory.sqlite")
    outbox = Outbox(home / "outbox", conn, Archive(s3_store))
    refs = [outbox.enqueue("decision-response", [f"run={i}"], f"reply {i}".encode() * 50) for i in range(60)]
    s3.delay_s = 0.02
    drain = subprocess.Popen([sys.executable, "-m", "clash_pipeline.cli", "archive", "drain"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and conn.execute(
            "SELECT COUNT(*) FROM archive_objects WHERE status = 'archived'").fetchone()[0] < 5:
        time.sleep(0.05)
    drain.send_signal(signal.SIGKILL)
    drain.wait()
    archived = conn.execute("SELECT COUNT(*) FROM archive_objects WHERE status = 'archived'").fetchone()[0]
    assert 5 <= archived < 60  # killed mid-drain

    s3.delay_s = 0.0
    assert outbox.drain().pending == 0
    keys = sorted(key for key, _ in s3_store.list("decision-response/"))
    assert keys == sorted(r.key for r in refs)  # every object exactly once
    assert all(outbox.read(r.key) == f"reply {i}".encode() * 50 for i, r in enumerate(refs))


def test_the_io_manager_archives_raw_pulls_to_r2(s3, s3_store, tmp_path, monkeypatch):
    import dagster as dg

    from clash_pipeline.defs.hyperliquid_snapshot import hyperliquid_mids, hyperliquid_snapshot_raw
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.settings import load_settings

    monkeypatch.setenv("R2_ACCESS_KEY_ID", "test-key-id")
    monkeypatch.setenv("R2_SECRET_ACCESS_KEY", SECRET)
    settings = load_settings({"CLASH_HOME": str(tmp_path), "R2_ENDPOINT_URL": s3.url, "R2_BUCKET": s3_store.bucket})
    assert settings.archive_backend == "r2"
    with dg.instance_for_test() as instance:
        result = dg.materialize([hyperliquid_snapshot_raw, hyperliquid_mids], instance=instance,
                                resources=default_resources(settings),
                                run_config={"ops": {"hyperliquid_snapshot_raw": {"config": {"book_coins": ["BTC"]}}}})
        assert result.success
        event = result.asset_materializations_for_node("hyperliquid_snapshot_raw")[0]
        key = event.metadata["archive/key"].value
        logs = "".join(str(record) for record in instance.all_logs(result.run_id))
    assert key in [k for k, _ in s3_store.list("hyperliquid_snapshot_raw/")]
    assert event.metadata["archive/stored_bytes"].value > 0
    assert SECRET not in logs and SECRET not in str(event.metadata)
    assert not (tmp_path / "archive").exists()


def test_archive_cli_ls_get_verify(tmp_path, monkeypatch, capsys):
    from clash_pipeline.cli import main

    monkeypatch.setenv("CLASH_HOME", str(tmp_path))
    monkeypatch.delenv("R2_BUCKET", raising=False)
    archive = Archive(LocalStore(tmp_path / "archive"))
    good = archive.put("raw", ["a"], b"hello", at_ms=0)
    bad = archive.put("raw", ["b"], b"world", at_ms=0)
    assert main(["archive", "ls", "raw/"]) == 0
    out = capsys.readouterr()
    assert good.key in out.out and bad.key in out.out and "2 objects" in out.err
    assert main(["archive", "get", good.key]) == 0
    assert capsys.readouterr().out == "hello"
    assert main(["archive", "verify"]) == 0
    (tmp_path / "archive" / bad.key).write_bytes(b"rot")
    assert main(["archive", "verify"]) == 1
    assert "1 corrupt" in capsys.readouterr().out
    assert main(["archive", "drain"]) == 0
    assert "drained 0 objects" in capsys.readouterr().out


def test_the_drain_sweeps_local_files_no_pending_row_points_at_once_they_are_an_hour_old(tmp_path):
    """An object written for a batch whose rows never committed (its process was killed in between), and a
    half-written temporary file, are removed an hour on; pending objects and young files are kept."""
    conn = open_memory(tmp_path / "memory.sqlite")
    outbox = Outbox(tmp_path / "outbox", conn, Archive(LocalStore(tmp_path / "archive")))
    kept = outbox.enqueue("decision-payloads", ["batch=1-1"], b"recorded")
    orphan = outbox.write(*Archive.prepare("decision-payloads", ["batch=2-2"], b"never recorded"))
    young = outbox.write(*Archive.prepare("decision-payloads", ["batch=3-3"], b"about to be recorded"))
    temporary = tmp_path / "outbox" / "decision-payloads" / ".tmp-half"
    temporary.write_bytes(b"half")
    old = time.time() - 2 * 3600
    for path in (tmp_path / "outbox" / kept.key, tmp_path / "outbox" / orphan.key, temporary):
        os.utime(path, (old, old))
    assert outbox.sweep() == 2
    assert not (tmp_path / "outbox" / orphan.key).exists() and not temporary.exists()
    assert outbox.read(kept.key) == b"recorded" and (tmp_path / "outbox" / young.key).exists()
    result = outbox.drain()
    assert (result.uploaded, result.pending, result.swept) == (1, 0, 0)
