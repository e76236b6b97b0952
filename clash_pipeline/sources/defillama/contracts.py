"""Contracts of DefiLlama responses beyond their models' per-field ranges (see models.py).

- v2/chains: one chain per name. stablecoins: one asset per id. stablecoinchains, protocols: one per name.
- v2/historicalChainTvl, stablecoincharts: one point per day.
- overview/fees, overview/dexs: one chart point per day; fees and DEX volume (not revenue) >= 0.
"""

from __future__ import annotations

from clash_pipeline.sources.contracts import no_duplicates
from clash_pipeline.sources.defillama.models import Overview, Stablecoins
from clash_pipeline.sources.errors import Violation

TOTALS = ("total24h", "total7d", "total30d")


def by_name(rows: list, request: dict) -> None:
    no_duplicates(rows, lambda row: row.name, "name", "name")


def by_date(points: list, request: dict) -> None:
    no_duplicates(points, lambda point: point.date, "date", "day")


def stablecoins(value: Stablecoins, request: dict) -> None:
    no_duplicates(value.peggedAssets, lambda asset: asset.id, "id", "stablecoin id", "peggedAssets.")


def overview(value: Overview, request: dict) -> None:
    no_duplicates(value.totalDataChart, lambda point: point[0], "0", "day", "totalDataChart.")
    if request.get("dataType") == "dailyRevenue":
        return
    for name in TOTALS:
        total = getattr(value, name)
        if total is not None and total < 0:
            raise Violation(name, f"must be >= 0 (got {total})")
    for index, (_, amount) in enumerate(value.totalDataChart):
        if amount < 0:
            raise Violation(f"totalDataChart.{index}.1", f"must be >= 0 (got {amount})")


CONTRACTS = {
    "v2/chains": by_name,
    "v2/historicalChainTvl": by_date,
    "protocols": by_name,
    "overview/fees": overview,
    "overview/dexs": overview,
    "stablecoins": stablecoins,
    "stablecoincharts": by_date,
    "stablecoinchains": by_name,
}
