"""The Dagster graph a data engineer sees: one connected lineage from the APIs to the Hall of Fame, descriptions
on every check, job, schedule, sensor and config field, and each day's own figures in a range backfill."""

from __future__ import annotations

import dagster as dg
import pytest

from clash_pipeline.definitions import defs


@pytest.fixture(scope="module")
def repo():
    return defs.get_repository_def()


def _islands(graph) -> list[set[str]]:
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    parent = {key: key for key in keys}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for key in graph.get_all_asset_keys():
        for upstream in graph.get(key).parent_keys:
            parent[root(upstream.to_user_string())] = root(key.to_user_string())
    groups: dict[str, set[str]] = {}
    for key in keys:
        groups.setdefault(root(key), set()).add(key)
    return sorted(groups.values(), key=len, reverse=True)


def test_the_asset_graph_is_one_connected_lineage_from_the_apis(repo):
    graph = repo.asset_graph
    islands = _islands(graph)
    assert len(islands) == 1, [sorted(island) for island in islands[1:]]
    externals = {key.to_user_string() for key in graph.get_all_asset_keys() if not graph.get(key).is_materializable}
    assert externals == {"hyperliquid_api", "polymarket_api", "defillama_api"}

    def upstream(name: str) -> set[str]:
        return {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}

    assert "hyperliquid_api" in upstream("hyperliquid_candles_raw")
    assert {"clone_read_plans", "hyperliquid_mids", "polymarket_markets"} <= upstream("decision_tick")
    assert "decision_tick" in upstream("paper_mark_to_market")
    assert "decision_tick" in upstream("archive_outbox_drain")


def test_volatility_reads_the_candles_of_its_look_back_window(repo):
    graph = repo.asset_graph
    mapping = graph.get_partition_mapping(dg.AssetKey("hyperliquid_volatility"), dg.AssetKey("hyperliquid_candles"))
    assert isinstance(mapping, dg.TimeWindowPartitionMapping) and mapping.start_offset < -7


def test_every_check_job_schedule_and_sensor_says_what_it_does(repo):
    graph = repo.asset_graph
    undescribed = [key.to_user_string() for key in graph.asset_check_keys if not graph.get_check_spec(key).description]
    undescribed += [job.name for job in repo.get_all_jobs()
                    if not job.name.startswith("__") and not job.description]
    undescribed += [s.name for s in repo.schedule_defs if not s.description]
    undescribed += [s.name for s in repo.sensor_defs if not s.description]
    assert undescribed == []


def test_every_config_field_has_a_description(repo):
    missing = []
    for node in repo.asset_graph.asset_nodes:
        if not node.is_executable or not node.assets_def.op.config_schema:
            continue
        config_type = node.assets_def.op.config_schema.as_field().config_type
        for name, field in getattr(config_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{node.key.to_user_string()}.{name}")
    assert missing == []


def test_runs_launched_from_an_asset_page_are_in_process(repo):
    assert repo.get_implicit_global_asset_job_def().executor_def.name == "in_process"
    assert all(job.executor_def.name == "in_process" for job in repo.get_all_jobs())


def test_market_memory_assets_show_their_tables_columns_and_owners(repo):
    node = repo.asset_graph.get(dg.AssetKey("hyperliquid_candles"))
    schema = node.metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns][:3] == ["coin", "interval", "open_ms"]
    assert node.owners == ["team:data-eng"] and {"sqlite", "hyperliquid"} <= set(node.kinds)
    for job in ("hyperliquid_snapshot_job", "hyperliquid_history_job", "polymarket_snapshot_job",
                "defillama_snapshot_job", "defillama_history_job"):
        assert repo.get_job(job).op_retry_policy.max_retries == 2, job


def test_a_two_day_range_run_gives_each_day_its_own_row_count(tmp_path):
    from datetime import UTC, datetime, timedelta

    from clash_pipeline.defs.hyperliquid_history import history_assets, hyperliquid_candles
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.settings import load_settings
    from clash_pipeline.timeutil import day_start_ms

    settings = load_settings({"CLASH_HOME": str(tmp_path), "CLASH_COINS": "BTC"})
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=3)).isoformat(), (today - timedelta(days=2)).isoformat()
    config = {"config": {"coins": ["BTC"], "intervals": ["1h"]}}
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            history_assets, instance=instance, resources=default_resources(settings),
            selection=["hyperliquid_candles_raw", "hyperliquid_candles"],
            run_config={"ops": {"hyperliquid_candles_raw": config}},
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})
        assert result.success
        conn = open_memory(settings.memory_path)
        # Make the two days differ, so a range total copied to each day could not pass for a day's own count.
        conn.execute("DELETE FROM hl_candles WHERE open_ms >= ? AND open_ms < ?",
                     (day_start_ms(last), day_start_ms(last) + 5 * 3_600_000))
        result = dg.materialize(
            history_assets, instance=instance, resources=default_resources(settings),
            selection=["hyperliquid_volatility"],
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})
        assert result.success
        observed = {}
        for record in instance.fetch_observations(dg.AssetKey("hyperliquid_candles"), limit=10).records:
            observed[record.partition_key] = record.asset_observation.metadata["dagster/row_count"].value
        stored_ranges = instance.fetch_materializations(hyperliquid_candles.key, limit=10).records
    assert observed == {first: 24, last: 24}  # the candle run saw both days whole
    materialization = stored_ranges[0].asset_materialization
    assert materialization.metadata["range/row_count"].value == 48
    assert "dagster/row_count" not in materialization.metadata
    assert materialization.metadata["range/first_day"].value == first
    vol_obs = [e.asset_observation_data.asset_observation for e in result.all_events
               if e.event_type_value == "ASSET_OBSERVATION"]
    per_day = {o.partition: o.metadata["dagster/row_count"].value for o in vol_obs}
    assert set(per_day) == {first, last} and per_day[first] != per_day[last]


def test_a_failed_run_is_recorded_where_an_operator_looks(tmp_path):
    from clash_pipeline.defs.operations import run_failure_recorder
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.memory.run_failures import recent_run_failures
    from clash_pipeline.settings import load_settings

    settings = load_settings({"CLASH_HOME": str(tmp_path)})

    @dg.asset
    def broken() -> None:
        raise ValueError("hyperliquid /info: request {'type': 'allMids'} failed: HTTP 503\nsecond line")

    with dg.instance_for_test() as instance:
        result = dg.materialize([broken], instance=instance, raise_on_error=False, partition_key=None)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        resources = default_resources(settings)
        for _ in range(2):  # a run is recorded once
            context = dg.build_run_status_sensor_context(
                sensor_name="run_failure_recorder", dagster_event=failure, dagster_instance=instance,
                dagster_run=result.dagster_run, resources={"market_memory": resources["market_memory"]})
            run_failure_recorder(context)
    (recorded,) = recent_run_failures(open_memory(settings.memory_path))
    assert recorded.run_id == result.run_id and recorded.failed_steps == "broken"
    assert recorded.error.startswith("ValueError: hyperliquid /info: request") and "\n" not in recorded.error


def test_paper_kpis_are_per_context_and_previews_are_readable():
    from dataclasses import dataclass
    from decimal import Decimal

    from clash_pipeline.defs.metadata import load_metadata
    from clash_pipeline.defs.paper import per_context
    from clash_pipeline.ingest.load import Load

    @dataclass
    class Marked:
        account_id: int
        equity: Decimal
        drawdown_pct: Decimal

    results = [Marked(1, Decimal("10000.123"), Decimal("1.5")), Marked(2, Decimal("9000"), Decimal("4")),
               Marked(3, Decimal("500"), Decimal("0.25"))]
    kpis = per_context(results, {1: "live", 2: "race:7", 3: "race:8"})
    assert kpis["equity_usd/live"] == 10000.12 and kpis["equity_usd/race"] == 9500.0
    assert kpis["accounts/race"] == 2 and kpis["max_drawdown_pct/race"] == 4.0 and "equity_usd" not in kpis

    load = Load("hl_mids", 1, 1_764_547_200_000, 1_764_547_200_000,
                [{"coin": "@107", "ts_ms": 1_764_547_200_000, "mid": 31.123456789}])
    preview = load_metadata([load], {"@107": "HYPE/USDC"})["hl_mids/preview"].value
    assert "| HYPE/USDC (@107) | 2025-12-01 00:00:00 | 31.1235 |" in preview
