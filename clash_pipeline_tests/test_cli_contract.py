"""The CLI's contract: one-line errors (traceback with --verbose), results on stdout and --json that parses,
arguments refused before any work, sources isolated in `ingest all`, and runs that never stall the queue."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clash_pipeline.cli import main
from clash_pipeline.settings import PROJECT_ROOT
from clash_pipeline.sources.replay import request_key


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLASH_DAGSTER_DIR", str(tmp_path / "home" / "dagster"))
    for name in ("CLASH_SOURCE_MODE", "CLASH_REPLAY_DIR", "CLASH_HISTORY_START", "R2_BUCKET", "CLASH_ARCHIVE_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def broken_recording(folder: Path, host: str, method: str, path: str, request: dict, body: bytes) -> Path:
    """A recording that replay serves in place of the generator's answer."""
    (folder / host).mkdir(parents=True, exist_ok=True)
    (folder / host / f"{request_key(method, path, request)}.json").write_bytes(body)
    return folder


def test_a_broken_payload_is_one_line_and_a_non_zero_exit(home, tmp_path, monkeypatch, capsys):
    replay = broken_recording(tmp_path / "rec", "hyperliquid", "POST", "/info", {"type": "perpDexs"}, b'[{"name": ')
    monkeypatch.setenv("CLASH_REPLAY_DIR", str(replay))
    assert main(["ingest", "hyperliquid", "--coins", "BTC", "--intervals", "1h", "--quiet"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("clash: hyperliquid perpDexs") and "not valid JSON" in err[0], err
    # --verbose, after the subcommand: the traceback and Dagster's run log
    assert main(["ingest", "hyperliquid", "--coins", "BTC", "--intervals", "1h", "--verbose"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "STEP_FAILURE" in err and err.splitlines()[-1].startswith("clash: hyperliquid")


def test_progress_is_plain_lines_on_stderr_without_dagster_log(home, capsys):
    assert main(["ingest", "hyperliquid", "--coins", "BTC", "--intervals", "1h", "--start", "2026-11-01"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[0].startswith("hyperliquid (replay): history 2026-11-01 .. 2026-11-01")
    assert "candles 2026-11-01: 24 rows stored" in err.splitlines()
    assert " - dagster - " not in err and "STEP_SUCCESS" not in err
    assert "market memory:" in out and "hl_candles" in out and "pulled" not in out


def test_one_source_down_does_not_stop_the_others(home, tmp_path, monkeypatch, capsys):
    replay = broken_recording(tmp_path / "rec", "defillama-api", "GET", "/v2/chains", {}, b'{"oops": ')
    monkeypatch.setenv("CLASH_REPLAY_DIR", str(replay))
    assert main(["ingest", "all", "--coins", "BTC", "--intervals", "1h", "--quiet", "--json"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["ingested"] == ["hyperliquid", "polymarket"] and list(report["failed"]) == ["defillama"]
    rows = {row["table"]: row["rows"] for row in report["memory"]}
    assert rows["hl_candles"] > 0 and rows["pm_markets"] > 0 and rows["hl_assets"] > 0
    assert err.splitlines()[-1].startswith("clash: ingest all: failed: defillama (")
    assert all(line.startswith("clash: ") for line in err.splitlines())


def seeded_clone(home: Path) -> None:
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.strategy import modes, store
    from clash_pipeline_tests.conftest import NOW_MS
    from clash_pipeline_tests.helpers import seed_hyperliquid

    home.mkdir(parents=True, exist_ok=True)
    conn = open_memory(home / "market_memory.sqlite")
    seed_hyperliquid(conn, NOW_MS, ["BTC"], ["15m"], days=1)
    store.create_clone(conn, "one", modes.custom_graph(["BTC"], {"hyperliquid": "price_action"}, "1h"), "custom")
    conn.close()


def test_backtest_and_run_once_json_parse_and_progress_stays_on_stderr(home, capsys):
    from datetime import UTC, datetime

    from clash_pipeline_tests.conftest import NOW_MS

    seeded_clone(home)
    day = datetime.fromtimestamp(NOW_MS / 1000, UTC).date().isoformat()
    assert main(["backtest", "--clone-id", "1", "--start", day, "--end", day, "--cadence", "1h", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["ticks"] == 24 and "backtest:" in result["context"]
    assert "tick 1/24" in err  # progress, not on stdout
    assert main(["decisions", "run-once", "--clone-id", "1", "--force", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"due", "claimed", "resumed", "counts", "runs"} and set(report["counts"]) >= {"held"}


def snapshot(home: Path) -> dict:
    """Every file under the data folder with its bytes (absent folder: empty)."""
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()} \
        if home.exists() else {}


@pytest.mark.parametrize("command, message", [
    (["ingest", "hyperliquid", "--start", "2026-09-01", "--end", "2026-09-02"],
     "clash: --start 2026-09-01 is before the first daily partition, 2026-10-01; "
     "set CLASH_HISTORY_START=2026-09-01 to extend the history"),
    (["ingest", "all", "--start", "2026-11-02", "--end", "2026-11-01"], "clash: --end 2026-11-01 is before --start"),
    (["ingest", "defillama", "--start", "2099-12-01"], "is after today"),
    (["ingest", "hyperliquid", "--start", "1900-01-01"], "1900-01-01 is not between 2000-01-01 and 2099-12-31"),
    (["ingest", "hyperliquid", "--intervals", "7m"], "--intervals must name known candle intervals"),
    (["backtest", "--clone-id", "1", "--start", "2026-11-01", "--end", "2026-11-01", "--cadence", "7m"],
     "argument --cadence: invalid choice: '7m'"),
    (["backtest", "--clone-id", "1", "--start", "2026-11-02", "--end", "2026-11-01"], "is before --start"),
    (["backtest", "--clone-id", "1", "--start", "1900-01-01", "--end", "1900-01-02"], "1900-01-01 is not between"),
    (["backtest", "--clone-id", "1", "--start", "2026-01-01", "--end", "2026-01-02"],
     "set CLASH_HISTORY_START=2026-01-01"),
    (["accounts", "mark", "--as-of", "9" * 30], "--as-of " + "9" * 30 + " is not between 2000-01-01 and 2099-12-31"),
    (["asset", "latest", "BTC", "--as-of", "99999-01-01"], "--as-of must be ms or an ISO time"),
    (["graph", "preview", "nothing.json", "--as-of", "1"], "--as-of 1 is not between"),
    (["decisions", "worker", "--interval", "nan"], "argument --interval: must be a finite number > 0, not 'nan'"),
    (["decisions", "worker", "--passes", "-1"], "argument --passes: must be a whole number > 0"),
    (["archive", "verify", "--sample", "0"], "argument --sample: must be a whole number > 0"),
    (["demo", "--days", "500"], "set CLASH_HISTORY_START="),
])
def test_bad_arguments_are_refused_in_one_line_before_any_work(home, capsys, command, message):
    before = snapshot(home)
    assert main(command) in (1, 2)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("clash: ") and message in err, err
    assert snapshot(home) == before  # nothing written, not even an empty market memory


def test_refused_commands_leave_an_existing_memory_byte_for_byte(home, capsys):
    seeded_clone(home)
    before = snapshot(home)
    for command in (["backtest", "--clone-id", "1", "--start", "2026-11-17", "--end", "2026-11-17", "--cadence", "7m"],
                    ["backtest", "--clone-id", "1", "--start", "2026-11-18", "--end", "2026-11-17"],
                    ["backtest", "--clone-id", "1", "--start", "1900-01-01", "--end", "1900-01-01"],
                    ["accounts", "mark", "--as-of", "9" * 30], ["asset", "latest", "BTC", "--as-of", "1e300"]):
        assert main(command) in (1, 2)
        assert capsys.readouterr().err.startswith("clash: ")
    assert snapshot(home) == before


def test_backtest_core_refuses_an_unknown_cadence_before_writing(memory):
    from clash_pipeline.decisions.backtest import run_backtest

    for cadence, start, end in (("7m", 0, 1000), ("15m", 1000, 1000)):
        with pytest.raises(ValueError):
            run_backtest(memory, None, 1, start, end, cadence)
    assert memory.execute("SELECT COUNT(*) FROM backtests").fetchone() == (0,)


def test_an_unexpected_error_is_one_line_with_its_type(home, monkeypatch, capsys):
    from clash_pipeline.cli import market

    def boom(args):
        return 1 // 0

    monkeypatch.setattr(market, "cmd_memory_status", boom)
    assert main(["memory", "status"]) == 1
    assert capsys.readouterr().err == "clash: ZeroDivisionError: integer division or modulo by zero " \
                                      "(--verbose for the traceback)\n"
    assert main(["memory", "-v", "status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "return 1 // 0" in err and err.endswith("traceback)\n")


def test_a_killed_cli_ingest_fails_its_run_and_frees_the_queue(home):
    """SIGTERM mid-run: the run ends FAILURE, nothing stays in progress, so a queued run can take the slot."""
    import dagster as dg
    from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, DagsterRunStatus, RunsFilter

    env = {**os.environ, "DAGSTER_HOME": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "clash_pipeline.cli", "ingest", "hyperliquid", "--coins", "BTC,ETH,SOL,HYPE",
         "--intervals", "1m,5m,15m", "--start", "2026-10-01", "--end", "2026-11-20"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines, deadline = [], time.monotonic() + 120
    try:
        while not any(line.startswith("pulled ") for line in lines):  # a step is executing
            assert time.monotonic() < deadline and child.poll() is None, lines
            if select.select([child.stderr], [], [], 1.0)[0]:
                lines.append(child.stderr.readline())
        os.environ["DAGSTER_HOME"] = str(PROJECT_ROOT)
        instance = dg.DagsterInstance.get()
        in_progress = RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)
        assert len(instance.get_runs(filters=in_progress)) == 1  # the ingest holds a slot
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130
    assert err.splitlines()[-1].startswith("clash: interrupted; run ")
    (run,) = instance.get_runs()
    assert run.status in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
    assert instance.get_runs(filters=in_progress) == []  # the queued coordinator's limit is free again


def test_run_monitoring_fails_a_run_whose_process_was_sigkilled(home, monkeypatch):
    """SIGKILL cannot be caught: with dagster.yaml's run monitoring the daemon fails the abandoned STARTED run once
    it passes max_runtime_seconds, so it stops holding a slot of max_concurrent_runs."""
    import logging
    from types import SimpleNamespace

    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, DagsterRunStatus, RunsFilter
    from dagster._core.test_utils import create_run_for_test
    from dagster._daemon.monitoring import run_monitoring

    monkeypatch.setenv("DAGSTER_HOME", str(PROJECT_ROOT))
    (home / "dagster").mkdir(parents=True)
    instance = dg.DagsterInstance.get()  # the repo's dagster.yaml
    assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
    run = create_run_for_test(instance, job_name="__ephemeral_asset_job__", status=DagsterRunStatus.STARTED)
    instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name), run.run_id)
    context = SimpleNamespace(instance=instance, create_request_context=lambda: None)
    list(run_monitoring.execute_run_monitoring_iteration(context, logging.getLogger("test")))
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # young: left alone
    later = time.time() + instance.run_monitoring_max_runtime_seconds + 1
    monkeypatch.setattr(run_monitoring, "get_current_timestamp", lambda: later)
    list(run_monitoring.execute_run_monitoring_iteration(context, logging.getLogger("test")))
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)) == []


def test_demo_json_puts_only_the_summary_on_stdout(monkeypatch, capsys):
    from clash_pipeline.cli import demo

    def tour(args):
        print("1/6 history ...")  # the tour's narrative
        return 0, {"clones": ["Basic Betty"]}

    monkeypatch.setattr(demo, "tour", tour)
    assert main(["demo", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"clones": ["Basic Betty"]} and "1/6 history" in err
