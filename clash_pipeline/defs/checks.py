"""Asset-check builders shared by the source modules."""

from datetime import timedelta

import dagster as dg

from clash_pipeline.defs.resources import MarketMemoryResource
from clash_pipeline.memory.checks import latest_age_ms
from clash_pipeline.memory.upsert import Table


def freshness_check(asset: dg.AssetsDefinition, table: Table, within: timedelta) -> dg.AssetChecksDefinition:
    """Passes when the newest row of `table` is younger than `within` (data age, not run age)."""

    @dg.asset_check(asset=asset, name=f"{table.name}_fresh",
                    description=f"The newest {table.name} row is less than {within} old.")
    def check(market_memory: MarketMemoryResource) -> dg.AssetCheckResult:
        with market_memory.connect() as conn:
            age = latest_age_ms(conn, table)
        passed = age is not None and age <= within.total_seconds() * 1000
        return dg.AssetCheckResult(passed=passed, metadata={"age_seconds": None if age is None else age / 1000})

    return check
