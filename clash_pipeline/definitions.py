"""The Dagster code location: everything under `clash_pipeline/defs/`, collected automatically, with the root
policies (owners, stage tags, code versions: `defs/policies.py`) and the in-process executor as the default, so
a run launched from an asset page is one process (a separate process per step costs seconds each)."""

import warnings
from pathlib import Path

import dagster as dg

from clash_pipeline.defs.policies import apply


def _load() -> dg.Definitions:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # map_asset_specs is marked preview
        collected = dg.load_from_defs_folder(path_within_project=Path(__file__).parent).map_asset_specs(func=apply)
    return dg.Definitions.merge(collected, dg.Definitions(executor=dg.in_process_executor))


defs = _load()
