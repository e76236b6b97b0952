"""`make prod-check`: run the production profile for real, on this machine, and check it.

Starts a PostgreSQL server (Debian's package; installed with apt-get when missing) in a temporary folder on a
loopback port, installs the `prod` extra, runs `dagster-daemon` and `dagster-webserver` against
deploy/dagster.prod.yaml (copied as $DAGSTER_HOME/dagster.yaml), then through the webserver's GraphQL API (so that
every run goes through the queued run coordinator and the daemon):

1. launches the Hyperliquid snapshot job (the universe, books) and creates a clone;
2. launches a history backfill of two days (candles, funding, volatility, and `market_lake`);
3. launches a decision tick;
4. launches a `clone_backtest` partition with the lake option (hydrated from the lake into a fresh folder);

waits for each to succeed, checks the results (runs stored in Postgres, decisions made, the backtest's hash equal to
the same backtest on the ingesting market memory), and stops everything it started. Exit 0 when all passed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 420


def log(message: str) -> None:
    print(f"prod-check: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder; apt-get installs Debian's package when there is none."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        log("PostgreSQL is not installed: apt-get install -y postgresql")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent


class Postgres:
    """A throwaway cluster (initdb + pg_ctl) owned by the `postgres` user when run as root (it refuses root)."""

    def __init__(self, folder: Path) -> None:
        self.bin, self.data, self.port = postgres_bin(), folder / "pgdata", free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(folder, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "dagster", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.data / "log"),
                  "-w", "start")
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "dagster", "dagster")
        log(f"PostgreSQL {self.bin.parent.name} on 127.0.0.1:{self.port}")
        return f"postgresql+psycopg2://dagster@127.0.0.1:{self.port}/dagster"  # the driver dagster-postgres ships

    def sql(self, query: str) -> str:
        out = subprocess.run([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "dagster", "-d",
                              "dagster", "-tAc", query], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Dagster:
    """dagster-daemon and dagster-webserver on the production instance, and GraphQL calls to the webserver."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        import httpx

        self.env, self.folder, self.port = env, folder, free_port()
        self.processes: list[subprocess.Popen] = []
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)

    def start(self) -> None:
        bin_dir = Path(sys.executable).parent
        for name, args in (("daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"]),
                           ("webserver", [str(bin_dir / "dagster-webserver"), "-w", "workspace.yaml", "-h",
                                          "127.0.0.1", "-p", str(self.port)])):
            out = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
            self.processes.append(subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=out,
                                                   start_new_session=True))
            log(f"dagster-{name} pid {self.processes[-1].pid}")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if self.http.get("/server_info").status_code == 200 and self._location_loaded():
                    return
            except Exception:  # noqa: BLE001 (not up yet)
                pass
            self._alive()
            time.sleep(2)
        raise RuntimeError("dagster-webserver did not come up in 180 s")

    def _alive(self) -> None:
        for p in self.processes:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[0]} exited with {p.returncode}; see {self.folder}")

    def _location_loaded(self) -> bool:
        data = self.gql("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                        "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
        entries = data["workspaceOrError"]["locationEntries"]
        errors = [e for e in entries if e["locationOrLoadError"] and
                  e["locationOrLoadError"]["__typename"] == "PythonError"]
        if errors:
            raise RuntimeError(f"code location failed to load: {errors[0]['locationOrLoadError']['message']}")
        return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)

    def gql(self, query: str, variables: dict | None = None) -> dict:
        body = self.http.post("/graphql", json={"query": query, "variables": variables or {}}).json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL error: {body['errors'][0]['message']}")
        return body["data"]

    def launch(self, job: str, *, assets: list[str] | None = None, config: dict | None = None,
               tags: dict[str, str] | None = None) -> str:
        selector = {"repositoryLocationName": "clash_pipeline", "repositoryName": "__repository__", "jobName": job}
        if assets:
            selector["assetSelection"] = [{"path": [a]} for a in assets]
        params = {"selector": selector, "runConfigData": config or {},
                  "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}}
        data = self.gql("""mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
            ... on LaunchRunSuccess { run { runId status } } ... on PythonError { message }
            ... on RunConfigValidationInvalid { errors { message } } ... on InvalidSubsetError { message } } }""",
                        {"p": params})["launchRun"]
        if data["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launching {job} failed: {json.dumps(data)}")
        run = data["run"]
        log(f"launched {job} {' '.join(assets or [])}: run {run['runId'][:8]} {run['status']}")
        if run["status"] != "QUEUED":
            raise RuntimeError(f"run {run['runId']} was not queued ({run['status']}): the coordinator is not queued")
        return run["runId"]

    def backfill(self, assets: list[str], partitions: list[str]) -> str:
        data = self.gql("""mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
            __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
                        {"p": {"assetSelection": [{"path": [a]} for a in assets], "partitionNames": partitions}})
        result = data["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill failed to launch: {json.dumps(result)}")
        log(f"backfill {result['backfillId']} of {', '.join(partitions)}: {len(assets)} assets")
        return result["backfillId"]

    def wait_run(self, run_id: str) -> None:
        deadline, status = time.monotonic() + TIMEOUT_S, None
        while time.monotonic() < deadline:
            status = self.gql("query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                              {"id": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            self._alive()
            time.sleep(2)
        if status != "SUCCESS":
            raise RuntimeError(f"run {run_id} ended {status}; logs under {self.folder}")
        log(f"run {run_id[:8]} SUCCESS")

    def wait_backfill(self, backfill_id: str) -> list[str]:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            data = self.gql("""query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                ... on PartitionBackfill { status runs { runId status } } } }""", {"id": backfill_id})
            backfill = data["partitionBackfillOrError"]
            runs = backfill["runs"]
            if backfill["status"] not in ("REQUESTED",) and runs and all(
                    r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
                if backfill["status"] not in ("COMPLETED", "COMPLETED_SUCCESS") or any(
                        r["status"] != "SUCCESS" for r in runs):
                    raise RuntimeError(f"backfill {backfill_id} ended {backfill['status']}: {runs}")
                log(f"backfill {backfill_id} {backfill['status']}: {len(runs)} run(s)")
                return [r["runId"] for r in runs]
            self._alive()
            time.sleep(2)
        raise RuntimeError(f"backfill {backfill_id} did not finish in {TIMEOUT_S} s")

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.http.close()


def install_prod_extra() -> None:
    log("pip install -e '.[prod]'")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", ".[prod]"], cwd=ROOT, check=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(f"check failed: {message}")
    log(f"ok: {message}")


def scenario(dagster: Dagster, postgres: Postgres, env: dict[str, str]) -> None:
    os.environ.update(env)  # the checks below read the same CLASH_HOME and instance
    from clash_pipeline.decisions.service import runtime_for
    from clash_pipeline.lake.store import lake_from_settings
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.paper.backtest import run_backtest
    from clash_pipeline.settings import load_settings
    from clash_pipeline.strategy import modes, store
    from clash_pipeline.timeutil import DAY_MS, day_start_ms

    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=2)).isoformat(), (today - timedelta(days=1)).isoformat()]
    coins = env["CLASH_COINS"].split(",")

    dagster.wait_run(dagster.launch("hyperliquid_snapshot_job"))
    conn = open_memory(load_settings().memory_path)
    clone = store.create_clone(conn, "prod-check", modes.custom_graph(coins, {"hyperliquid": "price_action"}, "1h"),
                               "custom")
    key = store.partition_key(clone.identity.clone_id)
    dagster.gql("""mutation($r: RepositorySelector!, $k: String!) { addDynamicPartition(repositorySelector: $r,
        partitionsDefName: "clones", partitionKey: $k) { __typename } }""",
                {"r": {"repositoryLocationName": "clash_pipeline", "repositoryName": "__repository__"}, "k": key})

    history = ["hyperliquid_candles_raw", "hyperliquid_candles", "hyperliquid_funding_history_raw",
               "hyperliquid_funding_history", "hyperliquid_volatility", "market_lake"]
    dagster.wait_backfill(dagster.backfill(history, days))
    candles = conn.execute("SELECT COUNT(*) FROM hl_candles WHERE open_ms >= ? AND open_ms < ?",
                           (day_start_ms(days[0]), day_start_ms(days[1]) + DAY_MS)).fetchone()[0]
    check(candles >= 2 * 1440 * len(coins), f"history backfill stored {candles} candles for {days[0]}..{days[1]}")
    lake_days = lake_from_settings(load_settings()).days()
    check(lake_days == days, f"market_lake wrote manifests for {', '.join(lake_days)}")

    dagster.wait_run(dagster.launch("decision_tick_job"))
    runs = conn.execute("SELECT COUNT(*) FROM decision_runs WHERE clone_id = ?", (clone.identity.clone_id,)).fetchone()[0]
    check(runs == len(coins), f"the decision tick decided {runs} runs for {len(coins)} assets")

    config = {"ops": {"clone_backtest": {"config": {"start": days[1], "end": days[1], "cadence": "1h", "lake": True,
                                                    "lake_lookback_days": 1}}}}
    run_id = dagster.launch("__ASSET_JOB", assets=["clone_backtest"], config=config,
                            tags={"dagster/partition": key})
    dagster.wait_run(run_id)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        check(type(instance.run_storage).__name__ == "PostgresRunStorage", "the instance stores runs in Postgres")
        event = instance.get_latest_materialization_event(dg.AssetKey("clone_backtest"))
        lake_hash = event.asset_materialization.metadata["result_sha256"].value
    stored = int(postgres.sql("SELECT COUNT(*) FROM runs WHERE status = 'SUCCESS'"))
    check(stored >= 4, f"Postgres holds {stored} successful runs")
    runtime = runtime_for(load_settings())
    here = run_backtest(runtime.conn, runtime.outbox, clone.identity.clone_id, day_start_ms(days[1]),
                        day_start_ms(days[1]) + DAY_MS - 1, "1h")
    check(bool(lake_hash) and lake_hash == here["result_sha256"],
          f"the lake-hydrated backtest's hash {lake_hash[:16]} equals the ingesting machine's")


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="clash-prod-check-"))
    folder.chmod(0o755)
    postgres: Postgres | None = None
    dagster: Dagster | None = None
    ok = False
    try:
        (folder / "postgres").mkdir()
        postgres = Postgres(folder / "postgres")
        url = postgres.start()
        install_prod_extra()
        home = folder / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "deploy" / "dagster.prod.yaml", home / "dagster.yaml")
        env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": url,
               "CLASH_HOME": str(folder / "clash"), "CLASH_DAGSTER_DIR": str(folder / "clash" / "dagster"),
               "CLASH_SOURCE_MODE": "replay", "CLASH_COINS": "BTC,ETH", "CLASH_INTERVALS": "1m,15m,1h",
               "CLASH_ARCHIVE_BACKEND": "local", "DAGSTER_DISABLE_TELEMETRY": "1"}
        for name in ("R2_BUCKET", "R2_ENDPOINT_URL", "R2_ACCOUNT_ID"):
            env.pop(name, None)
        Path(env["CLASH_DAGSTER_DIR"]).mkdir(parents=True)
        dagster = Dagster(env, folder)
        dagster.start()
        scenario(dagster, postgres, env)
        ok = True
    except Exception as error:  # noqa: BLE001 (reported as one line, with where the logs are)
        log(f"FAILED: {error}")
        for name in ("daemon.log", "webserver.log"):
            path = folder / name
            if path.exists():
                log(f"--- last lines of {name} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:]))
    finally:
        if dagster:
            dagster.stop()
        if postgres:
            postgres.stop()
        if ok:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            log(f"kept {folder} for inspection")
    log("PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
