"""Auditions and races run forward with the clock: tick by tick, each tick decided, priced and marked at that tick;
`clash run` drives the named jobs over replay time and race standings are materialized at every tick."""

from __future__ import annotations

import json

import pytest

from clash_pipeline.arena import lifecycle
from clash_pipeline.arena.audition import AuditionCriteria, pay_fee, start_audition
from clash_pipeline.arena.forward import step
from clash_pipeline.arena.races import Arena, ArenaConfig
from clash_pipeline.clock import now_ms as clock_now, replaying_at, ticks
from clash_pipeline.memory.db import open_memory
from clash_pipeline.timeutil import HOUR_MS, iso, now_ms
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS
from clash_pipeline_tests.helpers import trading_runtime

RACE_START = NOW_MS - NOW_MS % (6 * HOUR_MS)  # 2026-11-18 00:00, inside the seeded day... of two days (below)
LENIENT = AuditionCriteria(profit_target_pct=-50.0, max_drawdown_pct=50.0, min_trades=0, cadence="1h")


@pytest.fixture
def two_days(tmp_path):
    """Market memory with two days of 15m and 1m candles before NOW_MS, and two clones with payout addresses."""
    from clash_pipeline.strategy import modes, store
    from clash_pipeline_tests.helpers import seed_hyperliquid

    conn = open_memory(tmp_path / "market_memory.sqlite")
    seed_hyperliquid(conn, NOW_MS, TRADING_COINS, ["15m", "1m"], days=2)
    for name in ("one", "two"):
        store.create_clone(conn, name, modes.custom_graph(TRADING_COINS, {"hyperliquid": "price_action"}, "15m"),
                           "custom")
    conn.execute("UPDATE clones SET creator = printf('0x%040x', clone_id)")
    conn.close()
    return tmp_path


def test_the_clock_is_the_wall_clock_unless_a_replay_holds_it():
    assert abs(clock_now() - now_ms()) < 5_000
    with replaying_at(NOW_MS):
        assert now_ms() == NOW_MS  # every `now` in the pipeline reads the held clock
    assert abs(now_ms() - NOW_MS) > HOUR_MS
    assert ticks(0, 3 * HOUR_MS + 1, HOUR_MS) == [0, HOUR_MS, 2 * HOUR_MS, 3 * HOUR_MS, 3 * HOUR_MS + 1]


def test_an_audition_is_decided_tick_by_tick_and_gets_its_verdict_when_its_24_hours_end(two_days):
    runtime = trading_runtime(two_days)
    conn, outbox = runtime.conn, runtime.outbox
    start = NOW_MS - NOW_MS % HOUR_MS - 30 * HOUR_MS
    pay_fee(conn, 1, "fee-1", start)
    audition = start_audition(conn, 1, start, LENIENT)
    assert lifecycle.state(conn, 1) == "auditioning"
    label, end = f"audition:{audition}", start + 24 * HOUR_MS
    for i, tick in enumerate(ticks(start, end, HOUR_MS)):
        report = step(conn, outbox, tick, ArenaConfig(cadence="1h"))
        marks = [t for (t,) in conn.execute("SELECT e.ts_ms FROM equity_curve e JOIN paper_accounts a USING "
                                            "(account_id) WHERE a.context_label = ? ORDER BY e.ts_ms", (label,))]
        assert marks[-1] == tick and len(marks) == i + 1  # marked at this tick, once per tick
        (decided,) = conn.execute("SELECT COUNT(*) FROM decision_runs WHERE context_label = ? AND tick_ms = ?",
                                  (label, tick)).fetchone()
        assert decided == len(TRADING_COINS)  # every enabled asset decided at this tick, not before
        assert conn.execute("SELECT COUNT(*) FROM decision_runs WHERE context_label = ? AND tick_ms > ?",
                            (label, tick)).fetchone() == (0,)
        if tick < end:
            assert report.verdicts == [] and report.auditions[0]["status"] == "running"
            assert conn.execute("SELECT status FROM auditions").fetchone() == ("running",)
    assert [v["status"] for v in report.verdicts] == ["passed"]
    assert conn.execute("SELECT status, finished_ms FROM auditions").fetchone() == ("passed", end)
    assert lifecycle.state(conn, 1) == "in_arena"  # queued and promoted at the verdict
    step(conn, outbox, end + HOUR_MS)  # the clock moves on: nothing more is decided for the audition
    assert conn.execute("SELECT MAX(tick_ms) FROM decision_runs WHERE context_label = ?", (label,)).fetchone() == (end,)


def _arena_ready(home) -> str:
    """Clones 1 and 2 in the arena and three tickets on the race starting at RACE_START."""
    runtime = trading_runtime(home)
    conn = runtime.conn
    for clone_id in (1, 2):
        conn.execute("INSERT INTO clone_lifecycle VALUES (?, 'in_arena', 0)", (clone_id,))
    arena = Arena(conn, runtime.outbox)
    race = arena.accumulating(RACE_START - 1)
    for i, clone_id in enumerate((1, 1, 2)):
        arena.buy_ticket(race, clone_id, "0x" + f"{i + 10:02x}" * 20, f"sale-{i}", RACE_START - 60_000)
    conn.close()
    return race


def test_clash_run_drives_the_named_jobs_and_the_race_standings_are_materialized_at_every_tick(
        two_days, monkeypatch, capsys):
    import dagster as dg

    from clash_pipeline import inprocess
    from clash_pipeline.cli import main

    monkeypatch.setenv("CLASH_HOME", str(two_days))
    monkeypatch.setenv("CLASH_DAGSTER_DIR", str(two_days / "dagster"))
    monkeypatch.delenv("CLASH_SOURCE_MODE", raising=False)
    race = _arena_ready(two_days)
    end = RACE_START + 6 * HOUR_MS
    assert main(["run", "--from", iso(RACE_START), "--until", iso(end), "--every", "1h"]) == 0
    out = capsys.readouterr().out
    assert "7 ticks every 1h" in out and "0 failed" in out

    instance = inprocess.local_instance()
    runs = instance.get_runs()
    jobs = {r.job_name for r in runs}
    assert {"decision_tick_job", "arena_clock_job", "race_standings_job", "race_results_job",
            "arena_board_job"} <= jobs and "__ephemeral_asset_job__" not in jobs
    clock_ticks = sorted(int(r.tags["clash/tick_ms"]) for r in runs if r.job_name == "arena_clock_job")
    assert clock_ticks == list(range(RACE_START, end + 1, HOUR_MS))  # the clock moved one tick a run

    records = instance.fetch_materializations(dg.AssetRecordsFilter(
        asset_key=dg.AssetKey("race_standings"), asset_partitions=[race]), limit=100).records
    standings = sorted((r.asset_materialization.metadata["tick_ms"].value,
                        r.asset_materialization.metadata["status"].value) for r in records)
    assert [t for t, _ in standings] == clock_ticks  # one materialization per tick, each with its tick
    assert [s for t, s in standings if t < end] == ["running"] * 6  # live standings while the race ran
    assert standings[-1] == (end, "settled")

    conn = open_memory(two_days / "market_memory.sqlite")
    cited = conn.execute("SELECT tick_ms, COUNT(DISTINCT snapshot_id), COUNT(DISTINCT clone_id) FROM race_runs "
                         "WHERE race_id = ? GROUP BY tick_ms", (race,)).fetchall()
    assert [t for t, _, _ in cited] == clock_ticks and all(s == 1 and c == 2 for _, s, c in cited)
    receipt = json.loads(conn.execute("SELECT receipt_json FROM settlements WHERE race_id = ?",
                                      (race,)).fetchone()[0])
    assert receipt["pool_wei"] == str(3 * 10**16)
    results = instance.fetch_materializations(dg.AssetRecordsFilter(
        asset_key=dg.AssetKey("race_results"), asset_partitions=[race]), limit=5).records
    assert results and results[0].asset_materialization.metadata["receipt_sha256"].value == receipt["sha256"]
    assert instance.get_latest_materialization_event(dg.AssetKey("arena_leaderboard")) is not None

    # Without --from the clock goes on after its last tick.
    assert main(["run", "--until", iso(end + HOUR_MS), "--every", "1h", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ticks"] == 1 and report["failed"] == []
    newest = instance.get_runs(dg.RunsFilter(job_name="arena_clock_job"), limit=1)[0]
    assert newest.tags["clash/tick_ms"] == str(end + HOUR_MS) and newest.tags["clash/clock"] == "replay"

    # Live, the follow-up sensor reads the newest arena tick and asks for the same runs `clash run` made.
    from clash_pipeline.definitions import defs
    from clash_pipeline.defs.arena import arena_follow_up_sensor

    requests = arena_follow_up_sensor(dg.build_sensor_context(instance=instance, definitions=defs))
    next_race = Arena(open_memory(two_days / "market_memory.sqlite"), None).accumulating(end - 1)
    assert [(r.job_name, r.partition_key, r.tags["clash/tick_ms"]) for r in requests] == [
        ("race_standings_job", next_race, str(end + HOUR_MS))]  # the next race started at the end tick


def test_clash_run_refuses_bad_times_before_any_work(tmp_path, monkeypatch, capsys):
    from clash_pipeline.cli import main

    monkeypatch.setenv("CLASH_HOME", str(tmp_path))
    monkeypatch.setenv("CLASH_DAGSTER_DIR", str(tmp_path / "dagster"))
    for argv, message in ((["--until", "2099-01-01"], "after now"),
                          (["--from", "2026-11-18T06:00", "--until", "2026-11-18T00:00"], "is after --until"),
                          (["--until", "2026-11-18T00:00"], "give --from"),
                          (["--from", "2020-01-01", "--until", "2026-11-18T00:00"], "before the history start")):
        assert main(["run", *argv]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "market_memory.sqlite").exists()


def test_an_arena_tick_calls_for_standings_verdicts_results_and_the_boards():
    from clash_pipeline.defs.arena import follow_ups

    requests = follow_ups({"ticked_races": ["2026-11-18-00:00"], "verdicts": ["c000002"],
                           "settled_races": ["2026-11-17-18:00"], "promoted": 0}, NOW_MS)
    assert [(r.job_name, r.partition_key) for r in requests] == [
        ("race_standings_job", "2026-11-18-00:00"), ("clone_audition_job", "c000002"),
        ("race_results_job", "2026-11-17-18:00"), ("arena_board_job", None)]
    assert all(r.tags["clash/tick_ms"] == str(NOW_MS) for r in requests)
    assert follow_ups({"ticked_races": [], "verdicts": [], "settled_races": [], "promoted": 0}, NOW_MS) == []
