"""Run metadata of weight-planned Hyperliquid pulls: what was fetched, what was skipped and why, the weight."""

import dagster as dg

from clash_pipeline.ingest.demand import HistoryPlan
from clash_pipeline.timeutil import iso

MAX_ROWS = 60


def plan_metadata(plan: HistoryPlan, endpoint: str) -> dict[str, object]:
    """The pulls of `endpoint` this run made (with their estimated weight) and every pull it skipped."""
    fetched = plan.pulls(endpoint)
    skipped = [(pull, what, why) for pull, what, why in plan.skipped
               if (pull.endpoint if pull else "fundingHistory") == endpoint]
    lines = ["| pull | window | weight | why |", "|---|---|---|---|"]
    lines += [f"| {p.label} | {iso(p.start_ms)} .. {iso(p.end_ms)} | {p.weight} | {p.why} |" for p in fetched[:MAX_ROWS]]
    skip_lines = ["| pull | weight | why |", "|---|---|---|"]
    skip_lines += [f"| {what} | {p.weight if p else '-'} | {why} |" for p, what, why in skipped[:MAX_ROWS]]
    return {
        "hyperliquid_weight_planned": sum(p.weight for p in fetched),
        "hyperliquid_weight_run_total": plan.weight,
        "hyperliquid_weight_budget": plan.budget if plan.budget is not None else "none",
        "pulls_fetched": len(fetched),
        "pulls_skipped": len(skipped),
        "fetched": dg.MetadataValue.md("\n".join(lines)),
        "skipped": dg.MetadataValue.md("\n".join(skip_lines) if skipped else "_nothing skipped_"),
    }
