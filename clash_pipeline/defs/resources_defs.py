"""The resources every asset uses, configured from the environment (see README: Settings)."""

import dagster as dg

from clash_pipeline.defs.resources import default_resources
from clash_pipeline.settings import load_settings


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=default_resources(load_settings()))
