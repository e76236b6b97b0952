"""Settings read from the environment, in one place.

Every external system is reached through a value here, so that the same code runs on the embedded
default (replay data, SQLite under the data folder, a local archive) and in production (live APIs)
by configuration alone.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HYPERLIQUID_MAINNET_URL = "https://api.hyperliquid.xyz"
HYPERLIQUID_TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
POLYMARKET_GAMMA_URL = "https://gamma-api.polymarket.com"
POLYMARKET_CLOB_URL = "https://clob.polymarket.com"
DEFILLAMA_API_URL = "https://api.llama.fi"
DEFILLAMA_STABLECOINS_URL = "https://stablecoins.llama.fi"
SOURCE_MODES = ("replay", "live")
ARCHIVE_BACKENDS = ("local", "r2")


@dataclass(frozen=True)
class Settings:
    """What a process needs to know about where things live and which mode it runs in."""

    home: Path
    source_mode: str
    hyperliquid_url: str
    replay_dir: Path | None
    coins: tuple[str, ...]
    intervals: tuple[str, ...]
    history_start: str
    polymarket_gamma_url: str
    polymarket_clob_url: str
    defillama_api_url: str
    defillama_stablecoins_url: str
    archive_backend: str = "local"
    r2_endpoint_url: str | None = None
    r2_bucket: str | None = None

    @property
    def memory_path(self) -> Path:
        return self.home / "market_memory.sqlite"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def dagster_dir(self) -> Path:
        return self.home / "dagster"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    mode = env.get("CLASH_SOURCE_MODE", "replay").strip().lower()
    if mode not in SOURCE_MODES:
        raise ValueError(f"CLASH_SOURCE_MODE must be one of {SOURCE_MODES}, not {mode!r}")
    replay_dir = env.get("CLASH_REPLAY_DIR")
    backend = env.get("CLASH_ARCHIVE_BACKEND", "r2" if env.get("R2_BUCKET") else "local").strip().lower()
    if backend not in ARCHIVE_BACKENDS:
        raise ValueError(f"CLASH_ARCHIVE_BACKEND must be one of {ARCHIVE_BACKENDS}, not {backend!r}")
    endpoint = env.get("R2_ENDPOINT_URL") or (
        f"https://{env['R2_ACCOUNT_ID']}.r2.cloudflarestorage.com" if env.get("R2_ACCOUNT_ID") else None)
    if backend == "r2" and not (endpoint and env.get("R2_BUCKET")):
        raise ValueError("the r2 archive needs R2_BUCKET and R2_ENDPOINT_URL or R2_ACCOUNT_ID")
    return Settings(
        home=Path(env.get("CLASH_HOME", PROJECT_ROOT / ".clash")).resolve(),
        source_mode=mode,
        hyperliquid_url=env.get("HYPERLIQUID_API_URL", HYPERLIQUID_MAINNET_URL).rstrip("/"),
        replay_dir=Path(replay_dir).resolve() if replay_dir else None,
        coins=_csv(env.get("CLASH_COINS", "BTC,ETH,SOL,HYPE")),
        intervals=_csv(env.get("CLASH_INTERVALS", "1m,5m,15m,1h,4h,1d")),
        history_start=env.get("CLASH_HISTORY_START", "2026-10-01"),
        polymarket_gamma_url=env.get("POLYMARKET_GAMMA_URL", POLYMARKET_GAMMA_URL).rstrip("/"),
        polymarket_clob_url=env.get("POLYMARKET_CLOB_URL", POLYMARKET_CLOB_URL).rstrip("/"),
        defillama_api_url=env.get("DEFILLAMA_API_URL", DEFILLAMA_API_URL).rstrip("/"),
        defillama_stablecoins_url=env.get("DEFILLAMA_STABLECOINS_URL", DEFILLAMA_STABLECOINS_URL).rstrip("/"),
        archive_backend=backend,
        r2_endpoint_url=endpoint,
        r2_bucket=env.get("R2_BUCKET"),
    )


@dataclass(frozen=True)
class HttpLimits:
    """How long a source call may wait, in seconds: a server's Retry-After is honoured up to `retry_after_max_s`
    (a longer one fails at once); `request_s` bounds one request, every attempt and sleep included; `run_s` bounds
    one pull (every request a client makes, from when it opens)."""

    retry_after_max_s: float = 60.0
    request_s: float = 120.0
    run_s: float = 3600.0


HTTP_LIMITS_ENV = {"retry_after_max_s": "CLASH_RETRY_AFTER_MAX_S", "request_s": "CLASH_REQUEST_DEADLINE_S",
                   "run_s": "CLASH_RUN_DEADLINE_S"}


def load_http_limits(env: dict[str, str] | None = None) -> HttpLimits:
    """Read HttpLimits from `env` (default: the process environment); each must be a positive, finite number."""
    env = dict(os.environ if env is None else env)
    values = {}
    for name, variable in HTTP_LIMITS_ENV.items():
        if variable in env:
            try:
                value = float(env[variable])
            except ValueError:
                value = math.nan
            if not 0 < value < math.inf:
                raise ValueError(f"{variable} must be a positive number of seconds, not {env[variable]!r}")
            values[name] = value
    return HttpLimits(**values)


def prepare_dagster_env() -> Settings:
    """Point Dagster at the top-level dagster.yaml and keep its storage under the data folder.

    Sets DAGSTER_HOME (if unset) to the project root and CLASH_DAGSTER_DIR to an absolute path, which
    dagster.yaml reads through `env:` values; turns telemetry off.
    """
    settings = load_settings()
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    os.environ.setdefault("CLASH_DAGSTER_DIR", str(settings.dagster_dir))
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    Path(os.environ["CLASH_DAGSTER_DIR"]).mkdir(parents=True, exist_ok=True)
    return settings


INTERVALS_HELP = "1m,3m,5m,15m,30m,1h,2h,4h,8h,12h,1d"
