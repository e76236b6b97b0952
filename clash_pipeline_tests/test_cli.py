"""The `clash` command line: help, a 7-day backfill with no gap, memory status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from clash_pipeline.cli import build_parser, main
from clash_pipeline.memory.checks import candle_gaps
from clash_pipeline.memory.db import open_memory
from clash_pipeline.timeutil import DAY_MS, day_start_ms


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASH_HOME", str(tmp_path))
    monkeypatch.setenv("CLASH_DAGSTER_DIR", str(tmp_path / "dagster"))
    monkeypatch.delenv("CLASH_SOURCE_MODE", raising=False)
    return tmp_path


def test_help_names_every_command(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert all(word in out for word in ("demo", "ingest", "memory", "record"))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ingest", "hyperliquid", "--help"])
    assert "--coins" in capsys.readouterr().out


def test_bad_date_is_a_clear_usage_error(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ingest", "hyperliquid", "--start", "2026-13-01"])
    assert "not a date (YYYY-MM-DD): '2026-13-01'" in capsys.readouterr().err


def test_seven_day_backfill_from_the_cli_leaves_no_gap(home, capsys):
    first = datetime.now(UTC).date() - timedelta(days=8)
    last = first + timedelta(days=6)
    code = main(["ingest", "hyperliquid", "--coins", "BTC,ETH,SOL", "--intervals", "1m",
                 "--start", first.isoformat(), "--end", last.isoformat()])
    assert code == 0
    out = capsys.readouterr()
    assert out.err.count("rows stored") == 7  # a progress line per partition
    conn = open_memory(home / "market_memory.sqlite")
    start, end = day_start_ms(first.isoformat()), day_start_ms(last.isoformat()) + DAY_MS
    assert conn.execute("SELECT COUNT(*) FROM hl_candles WHERE open_ms >= ? AND open_ms < ?",
                        (start, end)).fetchone() == (7 * 1440 * 3,)
    assert candle_gaps(conn, start, end) == []

    assert main(["memory", "status", "--json"]) == 0
    status = {row["table"]: row for row in json.loads(capsys.readouterr().out)}
    assert status["hl_candles"]["rows"] == 7 * 1440 * 3
    assert status["hl_candles"]["first"].startswith(first.isoformat())


def test_ingest_all_then_asset_links(home, capsys):
    assert main(["ingest", "all", "--coins", "ETH,BTC", "--intervals", "1h"]) == 0
    status = capsys.readouterr().out
    for table in ("hl_candles", "pm_asset_horizons", "dl_tvl", "dl_asset_links"):
        line = next(line for line in status.splitlines() if line.startswith(table + " "))
        assert int(line.split()[1]) > 0, line
    assert main(["asset", "links", "ETH", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"symbol": "ETH", "subject_kind": "chain", "subject": "Ethereum",
            "reason": "chain tokenSymbol=ETH"} in report["defillama_links"]
    assert all(row["rows"] > 0 for row in report["defillama_global"])
    assert {row["horizon"] for row in report["polymarket_horizons"]} == {"immediate", "later", "recently_closed"}
    assert main(["asset", "links", "ETH"]) == 0
    text = capsys.readouterr().out
    assert "Ethereum" in text and "dl_tvl" in text


@pytest.mark.parametrize("command", [
    ["clones", "show", "999"], ["decisions", "run-once", "--clone-id", "999"], ["decisions", "show", "999"],
    ["backtest", "--clone-id", "999", "--start", "2026-11-01", "--end", "2026-11-01"], ["replay", "999"],
    ["lifecycle", "show", "999"], ["archive", "get", "raw/none.gz"],
])
def test_unknown_objects_give_a_clear_error_not_a_traceback(home, capsys, command):
    assert main(command) == 1
    err = capsys.readouterr().err
    assert err.startswith("clash: no ") and "Traceback" not in err and len(err.splitlines()) == 1


def test_ingest_without_coins_follows_what_the_clones_enable(home, capsys):
    """`clash ingest hyperliquid` with no --coins pulls the demanded set: a clone's non-floor asset gets history."""
    from clash_pipeline.strategy import modes, store

    today = datetime.now(UTC).date().isoformat()
    assert main(["ingest", "hyperliquid", "--quiet"]) == 0  # the universe and the CLASH_COINS floor
    conn = open_memory(home / "market_memory.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM hl_candles WHERE coin = 'AVAX'").fetchone()[0] == 0
    store.create_clone(conn, "Avery", modes.custom_graph(["AVAX"], {"hyperliquid": "price_action"}, "15m",
                                                         engine="hold"), "custom")
    assert main(["ingest", "hyperliquid", "--start", today, "--quiet"]) == 0
    intervals = {i for (i,) in conn.execute("SELECT DISTINCT interval FROM hl_candles WHERE coin = 'AVAX'")}
    assert "15m" in intervals and "1m" in intervals  # what its plan reads, and what fills price from
    assert conn.execute("SELECT COUNT(*) FROM hl_funding_history WHERE coin = 'AVAX'").fetchone()[0] > 0
