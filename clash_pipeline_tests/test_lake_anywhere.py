"""Work anywhere: the ingesting machine exports its market memory to a lake on an S3 server on loopback (moto,
through `market_lake` in Dagster); a fresh CLASH_HOME whose only data is that lake runs `clone_backtest` with the
lake option and gets the result hash of the same backtest on the ingesting machine; DuckDB reads it through
pyarrow's S3 filesystem."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from clash_pipeline.cli import main
from clash_pipeline.defs.resources import default_resources
from clash_pipeline.memory.db import open_memory
from clash_pipeline.decisions.backtest import run_backtest
from clash_pipeline.settings import load_settings
from clash_pipeline.timeutil import DAY_MS, day_start_ms
from clash_pipeline_tests.helpers import trading_runtime
from clash_pipeline_tests.s3_server import S3Server

DAYS = ("2026-11-17", "2026-11-18")


@pytest.fixture
def r2(monkeypatch):
    server = S3Server()
    bucket = server.create_bucket("clash-lake")
    for name, value in {"R2_ENDPOINT_URL": server.url, "R2_BUCKET": bucket, "R2_ACCESS_KEY_ID": "test-key",
                        "R2_SECRET_ACCESS_KEY": "test-secret"}.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def test_a_backtest_on_a_fresh_home_hydrated_from_the_lake_on_s3_gives_the_same_hash(r2, trading_home, tmp_path,
                                                                                       monkeypatch, capsys):
    from clash_pipeline.defs.clones import clones_partitions
    from clash_pipeline.defs.lake import market_lake
    from clash_pipeline.defs.paper import clone_backtest

    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    tags = {"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[1]}
    with dg.instance_for_test() as instance:
        exported = dg.materialize([market_lake], instance=instance, resources=default_resources(load_settings()),
                                  tags=tags)
    assert exported.success
    keys = {obj["Key"] for obj in r2.direct_client().list_objects_v2(Bucket="clash-lake")["Contents"]}
    assert {"lake/manifests/2026-11-18.json", "lake/hl_candles/2026-11-18/interval=1m/part-0.parquet"} <= keys

    start, end = day_start_ms(DAYS[1]), day_start_ms(DAYS[1]) + DAY_MS - 1
    runtime = trading_runtime(trading_home)
    here = run_backtest(runtime.conn, runtime.outbox, 1, start, end, "1h")
    assert here["decisions"] > 0 and here["result_sha256"]

    worker = tmp_path / "worker"  # another machine: nothing but the lake's settings
    monkeypatch.setenv("CLASH_HOME", str(worker))
    config = {"start": DAYS[1], "end": DAYS[1], "cadence": "1h", "lake": True, "lake_lookback_days": 1}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(clones_partitions.name, ["c000001"])
        result = dg.materialize([clone_backtest], instance=instance, resources=default_resources(load_settings()),
                                partition_key="c000001", run_config={"ops": {"clone_backtest": {"config": config}}})
    assert result.success
    metadata = result.asset_materializations_for_node("clone_backtest")[0].metadata
    assert metadata["result_sha256"].value == here["result_sha256"]
    assert metadata["decisions"].value == here["decisions"]
    assert not (worker / "market_memory.sqlite").exists()  # hydrated into a fresh folder that is gone again
    payloads = r2.direct_client().list_objects_v2(Bucket="clash-lake", Prefix="decision-payloads/").get("KeyCount", 0)
    assert payloads > 0  # the worker's decision payloads were drained into the archive

    sql = "SELECT interval, COUNT(*) AS n FROM hl_candles GROUP BY interval ORDER BY interval"
    assert main(["lake", "query", sql, "--json"]) == 0  # DuckDB over pyarrow's S3 filesystem
    counts = open_memory(trading_home / "market_memory.sqlite").execute(
        "SELECT interval, COUNT(*) FROM hl_candles GROUP BY interval ORDER BY interval").fetchall()
    assert [(r["interval"], r["n"]) for r in json.loads(capsys.readouterr().out)] == counts
