"""Asset-check builders and failure reporting shared by the source modules."""

from collections.abc import Callable, Iterator
from datetime import timedelta

import dagster as dg

from clash_pipeline.defs.resources import MarketMemoryResource
from clash_pipeline.ingest.isolation import IncompleteIngest
from clash_pipeline.ingest.load import BlockingCheckFailed, Load
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
        return dg.AssetCheckResult(passed=passed,
                                   metadata={"age_seconds": None if age is None else round(age / 1000, 1)})

    return check


def isolated(write: Callable[[], Load | list[Load]]) -> tuple[list[Load], IncompleteIngest | None]:
    """Run a snapshot write: its loads, and the IncompleteIngest naming what it refused (its valid part was
    written) or None."""
    try:
        result = write()
    except IncompleteIngest as error:
        return error.loads, error
    return (result if isinstance(result, list) else [result]), None


def fail_if_refused(error: IncompleteIngest | None) -> None:
    """After the materialization of what was written: fail the step naming every refused request, with what a
    retry has to ask again."""
    if error is None:
        return
    raise dg.Failure(description=str(error), allow_retries=False, metadata={
        "refused": dg.MetadataValue.json([failure.label for failure in error.failures]),
        "errors": dg.MetadataValue.json([str(failure) for failure in error.failures]),
    })


def blocked(failed: BlockingCheckFailed, **metadata: object) -> Iterator[dg.AssetCheckResult]:
    """A blocking check failed before the commit (the batch was rolled back): report it, then fail the step."""
    yield dg.AssetCheckResult(check_name=failed.check, passed=False,
                              metadata={"violations": failed.violations, "rolled_back": True, **metadata})
    raise dg.Failure(description=str(failed), allow_retries=False)
