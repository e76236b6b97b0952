"""Market data that follows the clones: the demanded set, weight-planned pulls, replay for every demanded coin,
empty channels in packets, the coverage report and the backfill sensor."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from clash_pipeline.ingest import hyperliquid as hl
from clash_pipeline.ingest.coverage import Status, coverage
from clash_pipeline.ingest.demand import (
    FLOOR,
    backfill_batch,
    backfill_gaps,
    candle_weight,
    compute_demand,
    plan_history,
    raws_weight,
)
from clash_pipeline.sources.hyperliquid.client import parse
from clash_pipeline.strategy import modes, store
from clash_pipeline.strategy.packet import build_packet
from clash_pipeline.timeutil import DAY_MS, HOUR_MS
from clash_pipeline.universe.taxonomy import load_taxonomy
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import replay_client

FLOOR_COINS, FLOOR_INTERVALS = ("BTC", "ETH"), ("1m", "1h")


class CountingBudget:
    """Stands in for WeightBudget: adds up every weight the client spends."""

    def __init__(self) -> None:
        self.spent = 0

    def acquire(self, weight: int) -> None:
        self.spent += weight

    def charge(self, weight: int) -> None:
        self.spent += weight


@pytest.fixture
def universe(memory):
    snapshot = hl.pull_snapshot(replay_client(NOW_MS), [])
    hl.write_universe(memory, snapshot, load_taxonomy())
    return memory


def _clones(conn):
    tradfi = store.create_clone(conn, "tradfi", modes.custom_graph(["xyz:TSLA", "HYPE/USDC"], {
        "hyperliquid": "full", "polymarket": "prediction_markets"}), "custom")
    retired = store.create_clone(conn, "retired", modes.custom_graph(["DOGE"], {"hyperliquid": "price_action"}),
                                 "custom")
    racer = store.create_clone(conn, "racer", modes.custom_graph(["LINK"], {"hyperliquid": "price_action"}), "custom")
    auditioner = store.create_clone(conn, "auditioner", modes.custom_graph(["AAVE"], {"hyperliquid": "price_action"}),
                                    "custom")
    for clone in (retired, racer, auditioner):
        conn.execute("UPDATE clones SET status = 'retired' WHERE clone_id = ?", (clone.identity.clone_id,))
    conn.execute("INSERT INTO auditions (clone_id, start_ms, end_ms, status, criteria_json) VALUES (?, 0, 1, "
                 "'running', '{}')", (auditioner.identity.clone_id,))
    conn.execute("INSERT INTO races (race_id, start_ms, end_ms, status) VALUES ('r', 0, 1, 'running')")
    conn.execute("INSERT INTO race_entrants (race_id, clone_id) VALUES ('r', ?)", (racer.identity.clone_id,))
    conn.commit()
    return tradfi


def test_demand_is_every_clone_audition_and_race_entrant_plus_the_floor(universe):
    _clones(universe)
    demand = compute_demand(universe, FLOOR_COINS, FLOOR_INTERVALS)
    assert demand.coins == ["@107", "AAVE", "BTC", "ETH", "LINK", "xyz:TSLA"]  # DOGE's clone is retired
    tsla, spot = demand.assets["xyz:TSLA"], demand.assets["@107"]
    assert tsla.intervals == ["1m", "15m", "1h"]  # candles 15m, volatility 1h, 1m for paper fills
    assert tsla.windows["1h"] == 91 * HOUR_MS and tsla.funding and tsla.funding_window_ms == 8 * DAY_MS
    assert spot.kind == "spot" and not spot.funding
    assert demand.assets["BTC"].wanted_by == {FLOOR} and demand.assets["BTC"].intervals == ["1m", "1h"]
    assert not demand.problems


def test_history_is_planned_by_weight_within_the_budget_and_says_what_it_skipped(universe):
    _clones(universe)
    demand = compute_demand(universe, FLOOR_COINS, FLOOR_INTERVALS)
    start, end = NOW_MS - 3 * DAY_MS, NOW_MS
    full = plan_history(demand, None, None, start, end, NOW_MS, budget=None)
    assert ("@107 funding" in [what for _, what, _ in full.skipped]
            and all(why == "spot has no funding" for _, _, why in full.skipped))
    assert {(p.coin, p.interval) for p in full.pulls("candleSnapshot")} >= {("xyz:TSLA", "15m"), ("@107", "1h")}
    assert "@107" not in {p.coin for p in full.pulls("fundingHistory")}
    capped = plan_history(demand, None, None, start, end, NOW_MS, budget=400)
    assert capped.weight <= 400 < full.weight
    over = [pull for pull, _, why in capped.skipped if why.startswith("over the run's weight budget")]
    assert over and over[0].weight > 0
    # the floor (BTC, ETH) goes after what the clones read
    assert all(p.coin not in FLOOR_COINS for p in capped.fetch[: len(capped.fetch) // 2])

    budget = CountingBudget()
    client = replay_client(NOW_MS)
    client.budget = budget
    only = plan_history(demand, None, None, start, end, NOW_MS, budget=None, series=["xyz:TSLA 15m", "AAVE funding"])
    assert sorted(p.label for p in only.fetch) == ["AAVE funding", "xyz:TSLA 15m"]
    raws = hl.pull_planned(client, only, "candleSnapshot", lambda _: None)
    raws += hl.pull_planned(client, only, "fundingHistory", lambda _: None)
    assert budget.spent == only.weight  # the plan's estimate is what the client spends
    assert candle_weight("1m", start, end) == 20 * 1 + 4320 // 60


def test_snapshot_asks_every_dex_for_mids_and_the_replay_answers_spot_and_builder_coins(memory):
    client = replay_client(NOW_MS)
    raws = hl.pull_snapshot(client, ["xyz:TSLA", "@107"])
    mids = [raw for raw in raws if raw.endpoint == "allMids"]
    assert sorted(raw.request.get("dex", "") for raw in mids) == ["", "vntl", "xyz"]
    hl.write_universe(memory, raws, load_taxonomy())
    hl.write_mids(memory, raws)
    hl.write_books(memory, raws)
    stored = dict(memory.execute("SELECT coin, mid FROM hl_mids"))
    assert "xyz:TSLA" in stored and "vntl:SPACEX" in stored and "@107" in stored
    assert {c for (c,) in memory.execute("SELECT DISTINCT coin FROM hl_book_levels")} == {"xyz:TSLA", "@107"}
    # 20 perpDexs + 3 x 20 metaAndAssetCtxs + 20 spot + 3 x 2 allMids + 20 predicted + 2 x 20 categories + 2 x 2 books
    assert raws_weight(raws) == 20 + 60 + 20 + 6 + 20 + 40 + 4

    spot_mid = stored["@107"]
    candles = parse(client.info({"type": "candleSnapshot", "req": {"coin": "@107", "interval": "1m",
                                                                    "startTime": NOW_MS - 10 * 60_000,
                                                                    "endTime": NOW_MS}}))
    assert candles and abs(candles[-1]["c"] / spot_mid - 1) < 0.01  # spot candles follow the pair's own price
    book = next(parse(raw) for raw in raws if raw.endpoint == "l2Book" and raw.request["coin"] == "@107")
    assert abs(book.levels[0][0]["px"] / spot_mid - 1) < 0.01
    assert parse(client.info({"type": "fundingHistory", "coin": "@107", "startTime": NOW_MS - DAY_MS})) == []


def test_packets_say_which_channels_are_empty_and_why(universe):
    tradfi = _clones(universe)
    _, compiled = store.validate(universe, tradfi.graph)
    plans = {plan.coin: plan for plan in compiled.asset_plans()}
    spot = build_packet(universe, plans["@107"], NOW_MS)
    assert "hyperliquid.funding" not in spot["channels"] and "hyperliquid.positioning" not in spot["channels"]
    reasons = [entry["why"] for entry in spot["empty"]]
    assert "funding: spot has no funding" in reasons and "positioning: spot has no open interest" in reasons
    tsla = build_packet(universe, plans["xyz:TSLA"], NOW_MS)
    assert any(why.startswith("candles 15m: no rows for xyz:TSLA") for why in [e["why"] for e in tsla["empty"]])
    assert "markets: no Polymarket market is linked to TSLA" in [e["why"] for e in tsla["empty"]]

    client = replay_client(NOW_MS)
    start = NOW_MS - 2 * DAY_MS
    hl.write_candles(universe, hl.pull_candles(client, ["xyz:TSLA"], ["15m"], start, NOW_MS, lambda _: None),
                     start, NOW_MS)
    later = build_packet(universe, plans["xyz:TSLA"], NOW_MS + 3 * DAY_MS)
    stale = [e["why"] for e in later["empty"] if e["channel"] == "hyperliquid.candles"]
    assert stale and "since 2026-11-18 11:00:00" in stale[0]  # the newest candle, older than the window
    assert not [e for e in build_packet(universe, plans["xyz:TSLA"], NOW_MS)["empty"]
                if e["channel"] == "hyperliquid.candles"]


def test_coverage_fails_on_an_uncovered_asset_and_passes_once_ingested(universe):
    _clones(universe)
    demand = compute_demand(universe, FLOOR_COINS, FLOOR_INTERVALS)
    before = {(c.coin, c.channel): c for c in coverage(universe, demand, NOW_MS)}
    assert before[("xyz:TSLA", "candles 15m")].status == Status.EMPTY
    assert before[("@107", "funding")].status == Status.NOT_APPLICABLE
    assert before[("xyz:TSLA", "markets")].why == "no Polymarket market is linked to TSLA"

    client = replay_client(NOW_MS)
    start = NOW_MS - 5 * DAY_MS
    snapshot = hl.pull_snapshot(client, demand.coins)
    hl.write_mids(universe, snapshot)
    hl.write_contexts(universe, snapshot)
    hl.write_books(universe, snapshot)
    coins, perps = demand.coins, [c for c in demand.coins if not c.startswith("@")]
    week = NOW_MS - 9 * DAY_MS  # funding pressure sums 7 days
    hl.write_funding_history(universe, hl.pull_funding(client, perps, week, NOW_MS, lambda _: None), week, NOW_MS)
    hl.write_funding_pressure(universe, snapshot)
    hl.write_candles(universe, hl.pull_candles(client, coins, ["1m", "15m", "1h"], start, NOW_MS, lambda _: None),
                     start, NOW_MS)
    hl.write_volatility(universe, coins, ["1h"], NOW_MS - DAY_MS, NOW_MS)
    after = coverage(universe, demand, NOW_MS)
    assert not [c.as_dict() for c in after if c.failing]
    assert {c.status for c in after} == {Status.FRESH, Status.NOT_APPLICABLE}
    stale = coverage(universe, demand, NOW_MS + HOUR_MS)  # an hour without snapshots: books are stale
    assert {c.channel for c in stale if c.failing} >= {"book", "liquidity", "candles 15m"}
    assert not backfill_gaps(universe, demand, NOW_MS, "2026-10-01")


def test_backfill_sensor_requests_one_run_for_the_batch(universe, tmp_path):
    from clash_pipeline.defs.coverage import coverage_backfill_sensor
    from clash_pipeline.defs.hyperliquid_history import history_assets, history_job
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.settings import load_settings
    from clash_pipeline.defs.resources import MarketMemoryResource

    _clones(universe)
    resource = MarketMemoryResource(path=str(tmp_path / "memory.sqlite"))
    with dg.instance_for_test() as instance:
        result = coverage_backfill_sensor(dg.build_sensor_context(instance=instance), market_memory=resource)
        assert len(result.run_requests) == 1
        request = result.run_requests[0]
        series = request.run_config["ops"]["hyperliquid_candles_raw"]["config"]["series"]
        assert {"xyz:TSLA 15m", "xyz:TSLA 1m", "xyz:TSLA funding", "@107 15m", "LINK 15m", "AAVE 15m"} <= set(series)
        assert "@107 funding" not in series and not any(s.startswith(("BTC", "ETH")) for s in series)
        assert request.tags["dagster/asset_partition_range_start"] <= request.tags["dagster/asset_partition_range_end"]
        job = dg.Definitions(assets=history_assets, jobs=[history_job],
                             resources=default_resources(load_settings())).resolve_job_def(history_job.name)
        dg.validate_run_config(job, request.run_config)  # the history job takes this config as it is
        again = coverage_backfill_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor),
                                         market_memory=resource)
        assert isinstance(again, dg.SkipReason) and "asked for within the hour" in again.skip_message
    assert json.loads(result.cursor).keys() == {"xyz:TSLA", "@107", "LINK", "AAVE"}
    gaps = backfill_gaps(universe, compute_demand(universe, FLOOR_COINS, FLOOR_INTERVALS), NOW_MS, "2026-10-01")
    batch = backfill_batch(gaps, {}, NOW_MS)
    assert batch.first_day == "2026-11-10" and batch.last_day == "2026-11-18"  # 8 days of funding for its 7d sum


def test_a_history_run_says_what_it_fetched_and_skipped(tmp_path):
    from datetime import UTC, datetime, timedelta

    from clash_pipeline.defs.hyperliquid_history import hyperliquid_candles_raw, hyperliquid_funding_history_raw
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.settings import load_settings

    settings = load_settings({"CLASH_HOME": str(tmp_path)})
    config = {"config": {"series": ["xyz:TSLA 15m", "xyz:TSLA 1m", "@107 funding"], "max_weight": 30}}
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    with dg.instance_for_test() as instance:
        result = dg.materialize([hyperliquid_candles_raw, hyperliquid_funding_history_raw], instance=instance,
                                resources=default_resources(settings), partition_key=yesterday,
                                run_config={"ops": {"hyperliquid_candles_raw": config,
                                                    "hyperliquid_funding_history_raw": config}})
    candles = result.asset_materializations_for_node("hyperliquid_candles_raw")[0].metadata
    funding = result.asset_materializations_for_node("hyperliquid_funding_history_raw")[0].metadata
    assert candles["pulls_fetched"].value == 1 and candles["hyperliquid_weight_planned"].value == 20 + 96 // 60
    assert candles["pulls_skipped"].value == 1 and "xyz:TSLA 1m | 44 | over the run's weight budget of 30" \
        in candles["skipped"].value
    assert funding["pulls_fetched"].value == 0 and "@107 funding | - | spot has no funding" in funding["skipped"].value
