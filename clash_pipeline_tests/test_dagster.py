"""The Dagster shell: definitions load; history ranges run as one run and are idempotent; the archive IO manager
serves any sub-range; snapshots pass their checks; the schedule asks for the right partitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from clash_pipeline.archive.archive import Archive
from clash_pipeline.archive.store import LocalStore
from clash_pipeline.defs.hyperliquid_history import history_assets, hyperliquid_candles, hyperliquid_history_schedule
from clash_pipeline.defs.hyperliquid_snapshot import freshness_checks, snapshot_assets
from clash_pipeline.defs.resources import default_resources
from clash_pipeline.memory.checks import candle_gaps
from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import load_settings
from clash_pipeline.timeutil import day_start_ms, iso


@pytest.fixture
def settings(tmp_path):
    return load_settings({"CLASH_HOME": str(tmp_path), "CLASH_COINS": "BTC,ETH"})


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _days_ago(n: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


def _run_history(settings, instance, first: str, last: str, selection=None):
    config = {"config": {"coins": ["BTC", "ETH"], "intervals": ["1m", "1h"]}}
    ops = {"hyperliquid_candles_raw": config, "hyperliquid_funding_history_raw": config} if not selection else {}
    return dg.materialize(
        history_assets, instance=instance, resources=default_resources(settings), selection=selection,
        run_config={"ops": ops},
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )


def test_definitions_load():
    from clash_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"hyperliquid_candles", "hyperliquid_candles_raw", "hyperliquid_asset_universe"} <= keys


def test_history_range_is_one_idempotent_run_with_passing_checks(settings, instance):
    first, last = _days_ago(3), _days_ago(2)
    result = _run_history(settings, instance, first, last)
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"no_duplicate_keys": True, "ohlc_sane": True, "no_gap": True}
    conn = open_memory(settings.memory_path)
    start, end = day_start_ms(first), day_start_ms(last) + 86_400_000
    counted = conn.execute("SELECT COUNT(*) FROM hl_candles").fetchone()[0]
    assert counted == 2 * (2 * 1440 + 2 * 24)
    assert candle_gaps(conn, start, end) == []
    materialization = next(e for e in result.get_asset_materialization_events()
                           if e.asset_key == hyperliquid_candles.key)
    assert materialization.materialization.metadata["range/row_count"].value == counted  # a range total, so named

    assert _run_history(settings, instance, first, last).success
    assert conn.execute("SELECT COUNT(*) FROM hl_candles").fetchone()[0] == counted
    assert len(instance.get_runs()) == 2

    # One archived object for the range, a ref per partition; a later run over one day loads just that ref.
    archive = Archive(LocalStore(settings.archive_dir))
    refs = {archive.get_ref(f"hyperliquid_candles_raw/{day}")[0].key for day in (first, last)}
    assert len(refs) == 1
    conn.execute("DELETE FROM hl_candles")
    assert _run_history(settings, instance, last, last, selection=[hyperliquid_candles]).success
    assert conn.execute("SELECT COUNT(*) FROM hl_candles").fetchone()[0] == counted // 2


def test_snapshot_assets_and_freshness_checks(settings, instance):
    result = dg.materialize([*snapshot_assets, *freshness_checks], instance=instance,
                            resources=default_resources(settings),
                            run_config={"ops": {"hyperliquid_snapshot_raw": {"config": {"book_coins": ["BTC", "ETH"]}}}})
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"hl_mids_fresh": True, "hl_asset_ctxs_fresh": True, "hl_liquidity_fresh": True}
    conn = open_memory(settings.memory_path)
    assert conn.execute("SELECT COUNT(*) FROM hl_liquidity").fetchone() == (2,)


def test_schedule_requests_today_and_yesterday_just_after_midnight():
    def keys(at: datetime) -> list[str]:
        context = dg.build_schedule_context(scheduled_execution_time=at)
        return [request.partition_key for request in hyperliquid_history_schedule(context)]

    day = date(2026, 11, 20)
    assert keys(datetime(2026, 11, 20, 0, 15, tzinfo=UTC)) == [(day - timedelta(days=1)).isoformat(), day.isoformat()]
    assert keys(datetime(2026, 11, 20, 10, 15, tzinfo=UTC)) == [day.isoformat()]


def test_clones_partition_follows_the_clones_table_and_plans_compile(settings, instance):
    from clash_pipeline.defs.clones import clone_read_plans, clones_partition_sensor, clones_partitions
    from clash_pipeline.ingest import hyperliquid as hl
    from clash_pipeline.strategy import modes, store
    from clash_pipeline.universe.taxonomy import load_taxonomy
    from clash_pipeline_tests.conftest import NOW_MS
    from clash_pipeline_tests.helpers import replay_client

    resources = default_resources(settings)
    conn = open_memory(settings.memory_path)
    hl.write_universe(conn, hl.pull_snapshot(replay_client(NOW_MS), []), load_taxonomy())
    for name in ("one", "two"):
        store.create_clone(conn, name, modes.custom_graph(["BTC", "ETH"], {"hyperliquid": "price_action"}), "custom")

    def sync():
        context = dg.build_sensor_context(instance=instance, resources={"market_memory": resources["market_memory"]})
        result = clones_partition_sensor(context)
        for request in result.dynamic_partitions_requests:
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
            else:
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(request.partitions_def_name, key)
        return instance.get_dynamic_partitions(clones_partitions.name)

    assert sync() == ["c000001", "c000002"]
    conn.execute("UPDATE clones SET status = 'retired' WHERE clone_id = 1")
    assert sync() == ["c000002"]

    result = dg.materialize([clone_read_plans], instance=instance, resources=resources, partition_key="c000002")
    assert result.success
    metadata = result.asset_materializations_for_node("clone_read_plans")[0].metadata
    assert metadata["dagster/row_count"].value == 2 and "BTC, ETH" in metadata["enabled_assets"].value
    assert '"asset": "BTC"' in metadata["packet_preview"].value
    assert conn.execute("SELECT clone_id, version, enabled_assets FROM clone_read_plans").fetchall() == [(2, 1, 2)]


def test_a_clone_decision_launched_by_hand_and_the_cadence_sensor(settings, instance):
    from clash_pipeline.defs.clones import clones_partitions
    from clash_pipeline.defs.decisions import clone_decisions, decision_cadence_sensor
    from clash_pipeline.ingest import hyperliquid as hl
    from clash_pipeline.strategy import modes, store
    from clash_pipeline.universe.taxonomy import load_taxonomy
    from clash_pipeline_tests.helpers import replay_client
    from clash_pipeline.timeutil import now_ms

    resources = default_resources(settings)
    conn = open_memory(settings.memory_path)
    snapshot = hl.pull_snapshot(replay_client(now_ms()), ["BTC", "ETH"])
    hl.write_universe(conn, snapshot, load_taxonomy())
    hl.write_mids(conn, snapshot)
    store.create_clone(conn, "manual", modes.custom_graph(["BTC", "ETH"], {"hyperliquid": "price_action"}), "custom")
    instance.add_dynamic_partitions(clones_partitions.name, ["c000001"])

    context = dg.build_sensor_context(instance=instance, resources={k: resources[k] for k in ("market_memory", "archive")})
    request = decision_cadence_sensor(context)
    assert isinstance(request, dg.RunRequest) and request.tags["clash/pairs_due"] == "2"
    assert request.tags["clash/tick"] == iso(int(request.tags["clash/tick_ms"]))  # readable beside the raw ms

    result = dg.materialize([clone_decisions], instance=instance, resources=resources, partition_key="c000001",
                            run_config={"ops": {"clone_decisions": {"config": {"asset": "ETH", "force": True}}}})
    assert result.success
    metadata = result.asset_materializations_for_node("clone_decisions")[0].metadata
    assert metadata["dagster/row_count"].value == 1 and "| ETH |" in metadata["runs"].value
    assert conn.execute("SELECT coin, forced FROM decision_runs").fetchall() == [("ETH", 1)]
