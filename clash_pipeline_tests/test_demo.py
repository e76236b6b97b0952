"""`clash demo` end to end on a fresh data folder: every stage runs and the race's receipt balances."""

from __future__ import annotations

import json
import re

from clash_pipeline.cli import main


def test_the_demo_runs_the_whole_pipeline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLASH_HOME", str(tmp_path))
    monkeypatch.setenv("CLASH_DAGSTER_DIR", str(tmp_path / "dagster"))
    for name in ("R2_BUCKET", "CLASH_ARCHIVE_BACKEND", "CLASH_SOURCE_MODE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo", "--days", "3"]) == 0
    out = capsys.readouterr().out
    for stage in ("1/6", "2/6", "3/6", "4/6", "5/6", "6/6"):
        assert stage in out
    assert "audition PASSED" in out and "audition FAILED (min_trades)" in out
    assert re.search(r"clash replay: (\d+) of \1 live orders re-derived exactly", out)
    pool = int(re.search(r"pool (\d+) wei", out).group(1))
    amounts = [int(m) for m in re.findall(r"^\s+\w+\s+\S+\s+(\d+) wei", out, re.MULTILINE)]
    assert pool == 3 * 10**16 and sum(amounts) == pool
    assert "ledger NOT BALANCED" not in out and "0 pending" in out
    assert re.search(r"coverage check: passed: \d+ channels of \d+ enabled assets, \d+ fresh, 0 failing", out)
    assert re.search(r"backfilled \d+ series of \d+ assets in one run \(.*xyz:TSLA.*\): weight [1-9]\d* planned", out)

    from clash_pipeline.memory.db import open_memory

    conn = open_memory(tmp_path / "market_memory.sqlite")
    held_blind = conn.execute("SELECT r.context_label, r.coin, COUNT(*) FROM decision_runs r JOIN decision_actions a "
                              "USING (run_id) WHERE a.reason LIKE 'no closed candles%' GROUP BY 1, 2").fetchall()
    assert held_blind == []  # every enabled asset decides with data, in every context
    builder = [coin for (coin,) in conn.execute("SELECT DISTINCT coin FROM paper_fills WHERE coin LIKE 'xyz:%'")]
    assert builder, "a builder-dex perp gets a paper fill"
    for table in ("hl_mids", "hl_book_levels"):
        assert conn.execute(f"SELECT 1 FROM {table} WHERE coin = ?", (builder[0],)).fetchone(), table
    capsys.readouterr()
    assert main(["memory", "coverage", "--json"]) == 0
    lines = json.loads(capsys.readouterr().out)
    assert {line["coin"] for line in lines} >= {builder[0], "@107"}
    assert all(line["status"] in ("fresh", "n/a") and (line["newest"] or line["status"] == "n/a") for line in lines)

    import dagster as dg

    instance = dg.DagsterInstance.get()
    jobs = {run.job_name for run in instance.get_runs()}
    assert "__ephemeral_asset_job__" not in jobs  # every stage is a named job run the UI shows
    assert {"hyperliquid_history_job", "clone_read_plans_job", "decision_tick_job", "arena_clock_job",
            "race_standings_job", "race_results_job", "paper_mark_job", "archive_drain_job"} <= jobs
    standings = instance.fetch_materializations(dg.AssetKey("race_standings"), limit=1000).records
    ticks = [r.asset_materialization.metadata["tick_ms"].value for r in standings]
    ends = {r.asset_materialization.metadata["window_end"].value for r in standings}
    assert len([t for t in ticks if t]) >= 12 and len(ends) >= 1  # the race, followed tick by tick
    assert "mid-race at" in out
