"""`clash demo` end to end on a fresh data folder: every stage runs and the race's receipt balances."""

from __future__ import annotations

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
