"""Policies applied once at the root of the code location (see `clash_pipeline/definitions.py`): who owns each
stage, the stage tag, the code version, and the retry policy of source pulls."""

from importlib.metadata import PackageNotFoundError, version

import dagster as dg

from clash_pipeline.settings import load_settings

DATA_ENG = "team:data-eng"
TRADING = "team:trading"
ARENA = "team:arena"

# group -> (owner, stage); a group not named here is data engineering's.
STAGES = {
    "sources": (DATA_ENG, "source"), "hyperliquid_snapshot": (DATA_ENG, "market_memory"),
    "hyperliquid_history": (DATA_ENG, "market_memory"), "polymarket": (DATA_ENG, "market_memory"),
    "defillama": (DATA_ENG, "market_memory"), "coverage": (DATA_ENG, "market_memory"),
    "clones": (TRADING, "strategy"), "decisions": (TRADING, "decisions"), "paper": (TRADING, "paper"),
    "arena": (ARENA, "arena"), "auditions": (ARENA, "arena"), "races": (ARENA, "arena"),
    "archive": (DATA_ENG, "archive"),
}

try:
    CODE_VERSION = version("clash_pipeline")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    CODE_VERSION = "0"

# The source jobs' steps (scheduled, sensor-requested or launched by name): a pull that failed after the client's
# own retries is tried again twice, 30 s then 60 s later. A refused payload or a failed blocking check is a
# `Failure(allow_retries=False)` (asking again gets the same answer). In-process CLI runs do not retry: their
# one-line error names the request at once. A replay answers the same way every time, so its retries do not wait.
source_retry = dg.RetryPolicy(max_retries=2, delay=30 if load_settings().source_mode == "live" else 0,
                              backoff=dg.Backoff.EXPONENTIAL)


def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Owner and `clash/stage` tag from the asset's group; the package version as code version where the asset
    names none. Explicit owners, tags and code versions win."""
    owner, stage = STAGES.get(spec.group_name or "", (DATA_ENG, spec.group_name or "default"))
    return spec.replace_attributes(
        owners=spec.owners or [owner], tags={"clash/stage": stage, **spec.tags},
        code_version=spec.code_version or (None if spec.group_name == "sources" else CODE_VERSION))
