"""The lake: schemas that match market memory, deterministic daily Parquet with manifests, DuckDB views that answer
like SQLite, verified hydration, cross-clone analytics, the Dagster assets and `clash lake`."""

from __future__ import annotations

import hashlib
import io
import json
import shutil

import dagster as dg
import pyarrow.parquet as pq
import pytest

from clash_pipeline.cli import main
from clash_pipeline.lake.analytics import clone_daily
from clash_pipeline.lake.export import export_day
from clash_pipeline.lake.hydrate import hydrate
from clash_pipeline.lake.query import run_query
from clash_pipeline.lake.schemas import BY_NAME, TABLES
from clash_pipeline.lake.store import Lake, LakeIntegrityError, LakeLocation
from clash_pipeline.memory.db import open_memory
from clash_pipeline.decisions.backtest import run_backtest
from clash_pipeline.paper.metrics import account_metrics
from clash_pipeline.timeutil import DAY_MS, HOUR_MS, day_start_ms
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import trading_runtime

DAYS = ("2026-11-17", "2026-11-18")  # trading_home's day of candles ends at NOW_MS, 2026-11-18 09:46 UTC
SQL_TYPES = {"INTEGER": "int64", "REAL": "double", "TEXT": "string"}


@pytest.fixture
def lake(trading_home) -> Lake:
    return Lake(LakeLocation("local", str(trading_home / "archive")))


def _export_all(home, lake: Lake) -> list[dict]:
    conn = open_memory(home / "market_memory.sqlite")
    try:
        return [export_day(conn, lake, day) for day in DAYS]
    finally:
        conn.close()


def test_every_lake_schema_matches_its_market_memory_table(memory):
    for table in TABLES:
        info = {name: (kind, notnull, default, pk) for _, name, kind, notnull, default, pk in
                memory.execute(f"PRAGMA table_info({table.name})")}
        assert info, table.name
        for field in table.schema:
            assert field.name in info, f"{table.name}.{field.name} is not in market memory"
            assert str(field.type) == SQL_TYPES[info[field.name][0]], f"{table.name}.{field.name}"
        assert set(info) == set(table.columns), f"{table.name} lacks {set(info) - set(table.columns)}"
        assert set(table.key) == {n for n, (*_, pk) in info.items() if pk}, table.name


def test_a_day_exports_as_sorted_zstd_parquet_with_a_manifest_and_rewrites_identically(trading_home, lake):
    conn = open_memory(trading_home / "market_memory.sqlite")
    first = export_day(conn, lake, "2026-11-18")
    candles = "lake/hl_candles/2026-11-18/interval=1m/part-0.parquet"
    keys = [f["key"] for f in first["files"]]
    assert candles in keys and "lake/hl_assets/2026-11-18/part-0.parquet" in keys
    stored = {key: lake.store.get(key) for key in [*keys, "lake/manifests/2026-11-18.json"]}
    assert export_day(conn, lake, "2026-11-18") == first
    assert {key: lake.store.get(key) for key in stored} == stored  # the same bytes, manifest included
    assert json.loads(stored["lake/manifests/2026-11-18.json"]) == first and first["schema_version"] == 1
    for f in first["files"]:
        assert hashlib.sha256(stored[f["key"]]).hexdigest() == f["sha256"] and len(stored[f["key"]]) == f["bytes"]

    entry = next(f for f in first["files"] if f["key"] == candles)
    start = day_start_ms("2026-11-18")
    expected = conn.execute("SELECT COUNT(*), MIN(open_ms), MAX(open_ms) FROM hl_candles WHERE interval = '1m' AND "
                            "open_ms >= ? AND open_ms < ?", (start, start + DAY_MS)).fetchone()
    assert (entry["rows"], entry["min_ms"], entry["max_ms"]) == expected and entry["split"] == "1m"
    parquet = pq.ParquetFile(io.BytesIO(stored[candles]))
    assert parquet.schema_arrow.remove_metadata().equals(BY_NAME["hl_candles"].schema)
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert set(parquet.metadata.metadata) == {b"ARROW:schema", b"clash.table", b"clash.schema_version"}
    table = parquet.read()
    assert table.equals(table.sort_by([(c, "ascending") for c in BY_NAME["hl_candles"].key]))
    assert first["rows"] == sum(f["rows"] for f in first["files"])


def test_duckdb_views_answer_like_market_memory(trading_home, lake):
    _export_all(trading_home, lake)
    conn = open_memory(trading_home / "market_memory.sqlite")
    sql = "SELECT coin, interval, COUNT(*) AS n, SUM(volume) AS v, MAX(high) AS h FROM hl_candles GROUP BY coin, interval"
    frame = run_query(lake, sql + " ORDER BY coin, interval")
    expected = conn.execute(sql + " ORDER BY coin, interval").fetchall()
    assert [(c, i, n, pytest.approx(v), h) for c, i, n, v, h in frame.itertuples(index=False)] == expected
    one_day = run_query(lake, "SELECT COUNT(*) AS n FROM hl_candles", start="2026-11-18", end="2026-11-18")
    start = day_start_ms("2026-11-18")
    assert one_day["n"][0] == conn.execute("SELECT COUNT(*) FROM hl_candles WHERE open_ms >= ?", (start,)).fetchone()[0]
    assert run_query(lake, "SELECT COUNT(*) AS n FROM hl_assets")["n"][0] == \
        conn.execute("SELECT COUNT(*) FROM hl_assets").fetchone()[0]  # reference state once, not once per day
    assert run_query(lake, "SELECT COUNT(*) AS n FROM decision_runs")["n"][0] == 0


def test_hydration_verifies_every_file_and_refuses_a_missing_day(trading_home, lake, tmp_path):
    _export_all(trading_home, lake)
    target = open_memory(tmp_path / "fresh.sqlite")
    start = day_start_ms("2026-11-18")
    with pytest.raises(LookupError, match="no partition for 2026-11-19, 2026-11-20 .clash lake export --day 2026-11-19"):
        hydrate(lake, target, start, day_start_ms("2026-11-20"))
    key = "lake/hl_funding_history/2026-11-18/part-0.parquet"
    original = lake.store.get(key)
    lake.store.put(key, original[:-9] + b"corrupted", "application/octet-stream", {})
    with pytest.raises(LakeIntegrityError, match=f"lake file {key} .* is corrupt"):
        hydrate(lake, target, start, start + DAY_MS - 1)
    assert target.execute("SELECT COUNT(*) FROM hl_candles").fetchone() == (0,)  # all or nothing
    lake.store.put(key, original, "application/vnd.apache.parquet", {})
    result = hydrate(lake, target, start, start + DAY_MS - 1, lookback_days=1)
    assert result.days == list(DAYS) and result.reference_day == "2026-11-18"
    source = open_memory(trading_home / "market_memory.sqlite")
    for table in ("hl_candles", "hl_book_levels", "hl_assets", "clones", "graph_versions"):
        query = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert target.execute(query).fetchall() == source.execute(query).fetchall(), table
    assert result.rows["clones"] == 2
    assert hydrate(lake, target, start, start + DAY_MS - 1, lookback_days=1).rows == result.rows  # idempotent


def test_clone_analytics_per_clone_context_and_day(trading_home, lake):
    runtime = trading_runtime(trading_home)
    start = NOW_MS - NOW_MS % HOUR_MS - 6 * HOUR_MS
    result = run_backtest(runtime.conn, runtime.outbox, 1, start, start + 6 * HOUR_MS, "15m")
    _export_all(trading_home, lake)
    frame = clone_daily(lake)
    row = frame[(frame["context"] == result["context"]) & (frame["day"] == "2026-11-18")].iloc[0]
    metrics = account_metrics(runtime.conn, result["metrics"]["account_id"])
    assert row["clone"] == "one" and row["return_pct"] == pytest.approx(metrics.return_pct, abs=1e-6)
    assert row["max_drawdown_pct"] == pytest.approx(metrics.max_drawdown_pct, abs=1e-6)
    assert row["decisions"] == result["decisions"] and row["model_cost_usd"] == 0  # the rules engine uses no model
    fills = runtime.conn.execute("SELECT size, price FROM paper_fills WHERE account_id = ?",
                                 (result["metrics"]["account_id"],)).fetchall()
    assert row["fills"] == len(fills) > 0
    assert row["turnover_usd"] == pytest.approx(sum(abs(float(s) * float(p)) for s, p in fills), abs=0.01)

    runtime.conn.execute("UPDATE decision_runs SET model = 'm1', tokens_in = 1000, tokens_out = 100")
    _export_all(trading_home, lake)
    unpriced = clone_daily(lake).iloc[0]
    assert unpriced["tokens_in"] == 1000 * result["decisions"] and unpriced["model_cost_usd"] != unpriced["model_cost_usd"]
    priced = clone_daily(lake, model_prices={"m1": (2.0, 10.0)}).iloc[0]
    assert priced["model_cost_usd"] == pytest.approx(result["decisions"] * (1000 * 2.0 + 100 * 10.0) / 1e6)
    from clash_pipeline.decisions.costs import FALLBACK, PriceTable
    from clash_pipeline.defs.lake import _prices

    fallback = PriceTable().price(FALLBACK)  # the asset prices with the runtime's table: m1 at its fallback
    runtime_priced = clone_daily(lake, model_prices=_prices({})).iloc[0]
    assert runtime_priced["model_cost_usd"] == pytest.approx(result["decisions"] * float(
        1000 * fallback.input_per_mtok + 100 * fallback.output_per_mtok) / 1e6)


def test_market_lake_and_clone_analytics_in_dagster(trading_home, monkeypatch):
    from clash_pipeline.defs.lake import clone_analytics, market_lake
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.settings import load_settings

    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    resources = default_resources(load_settings())
    tags = {"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[1]}
    with dg.instance_for_test() as instance:
        first = dg.materialize([market_lake], instance=instance, resources=resources, tags=tags)
        again = dg.materialize([market_lake, clone_analytics], instance=instance, resources=resources, tags=tags,
                               selection=[market_lake])
        analytics = dg.materialize([market_lake, clone_analytics], instance=instance, resources=resources,
                                   selection=[clone_analytics])
    meta = first.asset_materializations_for_node("market_lake")[0].metadata
    assert meta["rows"].value == meta["dagster/row_count"].value > 6000 and meta["files"].value == 20
    assert "lake/hl_candles/2026-11-17/interval=15m/part-0.parquet" in meta["file_keys"].value
    assert again.asset_materializations_for_node("market_lake")[0].metadata["file_keys"] == meta["file_keys"]
    assert analytics.success
    table = analytics.asset_materializations_for_node("clone_analytics")[0].metadata
    assert table["dagster/row_count"].value == 0 and table["file_key"].value == "lake/analytics/clone_daily.parquet"


def test_cli_lake_export_query_and_hydrate(trading_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    assert main(["lake", "export", "--day", DAYS[0], "--end", DAYS[1], "--json"]) == 0
    manifests = json.loads(capsys.readouterr().out)
    assert [m["day"] for m in manifests] == list(DAYS)
    sql = "SELECT coin, COUNT(*) AS n FROM hl_candles WHERE interval = '15m' GROUP BY coin ORDER BY coin"
    assert main(["lake", "query", sql, "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["coin,n", "BTC,96"]
    assert main(["lake", "query", sql, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0] == {"coin": "BTC", "n": 96}
    with pytest.raises(SystemExit, match="clash lake query: .*nope"):
        main(["lake", "query", "SELECT * FROM nope"])

    fresh = tmp_path / "worker"  # another machine: its only data is a copy of the lake
    shutil.copytree(trading_home / "archive" / "lake", fresh / "archive" / "lake")
    monkeypatch.setenv("CLASH_HOME", str(fresh))
    assert main(["lake", "hydrate", "--start", DAYS[1], "--end", DAYS[1], "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"]["clones"] == 2 and report["days"] == list(DAYS) and report["missing_days"]
    assert main(["lake", "hydrate", "--start", DAYS[1], "--end", DAYS[1], "--lookback-days", "-1"]) == 2
    assert "not a whole number" in capsys.readouterr().err
    (fresh / "archive" / "lake" / "hl_assets" / DAYS[1] / "part-0.parquet").write_bytes(b"not parquet")
    with pytest.raises(SystemExit, match=r"^clash lake hydrate: lake file lake/hl_assets/2026-11-18/part-0.parquet "
                                         r"in local:.* is corrupt: sha256 [0-9a-f]+ != [0-9a-f]+$"):
        main(["lake", "hydrate", "--start", DAYS[1], "--end", DAYS[1]])


def test_a_lake_location_never_shows_its_secret():
    location = LakeLocation("r2", "/tmp/unused", "https://acct.r2.cloudflarestorage.com", "bucket", "key-id", "s3cr3t")
    assert "s3cr3t" not in repr(location) and "s3cr3t" not in repr(Lake(location).location)
    assert repr(location) == "LakeLocation(s3:https://acct.r2.cloudflarestorage.com/bucket)"
