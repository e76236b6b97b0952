"""Paper trading in Dagster: the mark-to-market of every open account (with a ledger reconciliation check), a
per-clone account summary, and backtests launched from the UI with config."""

from collections import defaultdict

import dagster as dg
from pydantic import Field

from clash_pipeline.defs.clones import clone_read_plans, clones_partitions
from clash_pipeline.defs.lineage import every_partition, history_reads, mark_reads
from clash_pipeline.defs.resources import ArchiveResource, MarketMemoryResource
from clash_pipeline.decisions.backtest import run_backtest
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.metrics import account_metrics, reconcile
from clash_pipeline.strategy.store import clone_id_of, get_clone
from clash_pipeline.timeutil import DAY_MS, day_start_ms, iso, now_ms

GROUP = "paper"


def context_kind(label: str) -> str:
    """The kind of an account's context: `live`, `audition`, `race` or `backtest` (`race:12` is a race)."""
    return label.split(":", 1)[0]


def per_context(results, labels: dict[int, str]) -> dict[str, float | int]:
    """Equity, accounts and worst drawdown per context kind (never a sum across live, audition, race and
    backtest accounts)."""
    equity: dict[str, float] = defaultdict(float)
    accounts: dict[str, int] = defaultdict(int)
    drawdown: dict[str, float] = defaultdict(float)
    for r in results:
        kind = context_kind(labels.get(r.account_id, "live"))
        equity[kind] += float(r.equity)
        accounts[kind] += 1
        drawdown[kind] = max(drawdown[kind], float(r.drawdown_pct))
    metadata: dict[str, float | int] = {}
    for kind in sorted(equity):
        metadata.update({f"equity_usd/{kind}": round(equity[kind], 2), f"accounts/{kind}": accounts[kind],
                         f"max_drawdown_pct/{kind}": round(drawdown[kind], 3)})
    return metadata


@dg.asset(group_name=GROUP, kinds={"sqlite"},
          deps=["decision_tick", every_partition("clone_decisions"), *mark_reads()],  # orders, then prices
          check_specs=[dg.AssetCheckSpec("ledger_reconciles", asset="paper_mark_to_market", blocking=True,
                                         description="Every account's balance equals its ledger: deposits, fills, "
                                                     "fees and funding add up.")])
def paper_mark_to_market(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource):
    """Marks every open account at the latest prices: funding, resting limits, stop-loss and take-profit,
    liquidations, the drawdown stop, and an equity-curve point each."""
    with market_memory.connect() as conn:
        results = Broker(conn).mark(now_ms())
        labels = dict(conn.execute("SELECT account_id, context_label FROM paper_accounts"))
        accounts = list(labels)
        unbalanced = [a for a in accounts if not reconcile(conn, a)["balanced"]]
        exposure = conn.execute("SELECT COALESCE(SUM(exposure_usd), 0) FROM equity_curve e WHERE ts_ms = "
                                "(SELECT MAX(ts_ms) FROM equity_curve WHERE account_id = e.account_id)").fetchone()[0]
    closed = [c for r in results for c in r.closed]
    for r in results:
        if r.closed:
            context.log.info(f"account {r.account_id}: closed {', '.join(r.closed)}")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(results), "accounts_marked": len(results),
                  **per_context(results, labels),
                  "exposure_usd": round(float(exposure), 2), "positions_closed": len(closed)},
        check_results=[dg.AssetCheckResult(check_name="ledger_reconciles", passed=not unbalanced,
                                           metadata={"accounts": len(accounts), "unbalanced": str(unbalanced)})],
    )


@dg.asset(group_name=GROUP, kinds={"sqlite"}, partitions_def=clones_partitions, deps=[paper_mark_to_market])
def paper_account_summary(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource):
    """A clone's live paper account: metrics, positions and the recent equity curve (the UI plots equity,
    drawdown and exposure over materializations)."""
    clone_id = clone_id_of(context.partition_key)
    with market_memory.connect() as conn:
        row = conn.execute("SELECT account_id FROM paper_accounts WHERE clone_id = ? AND context_label = 'live'",
                           (clone_id,)).fetchone()
        if row is None:
            return dg.MaterializeResult(metadata={"account": "none yet: the clone has made no decision"})
        name = get_clone(conn, clone_id).identity.name
        metrics = account_metrics(conn, row[0])
        curve = conn.execute("SELECT ts_ms, equity_micro, drawdown_pct, exposure_usd FROM equity_curve WHERE "
                             "account_id = ? ORDER BY ts_ms DESC LIMIT 20", (row[0],)).fetchall()
    table = ["| time | equity | drawdown % | exposure |", "|---|---|---|---|"]
    table += [f"| {iso(t)} | {e / 1e6:.2f} | {d:.3f} | {x:.2f} |" for t, e, d, x in reversed(curve)]
    return dg.MaterializeResult(metadata={
        "clone": f"{context.partition_key} {name}",
        "equity_usd": _round(metrics.end_equity, 2), "return_pct": _round(metrics.return_pct, 3),
        "max_drawdown_pct": _round(metrics.max_drawdown_pct, 3),
        "exposure_usd": _round(curve[0][3] if curve else 0.0, 2), "trades": metrics.trades,
        "fees_usd": _round(metrics.fees_usd, 4), "funding_usd": _round(metrics.funding_usd, 4),
        "reliability": _round(metrics.reliability if metrics.reliability is not None else 1.0, 3),
        "equity_curve": dg.MetadataValue.md("\n".join(table)),
    })


class BacktestConfig(dg.Config):
    """The range (UTC days, end inclusive) and the decision cadence."""

    start: str = Field(description="First UTC day of the range, e.g. 2026-11-01.")
    end: str = Field(description="Last UTC day of the range (inclusive).")
    cadence: str = Field(default="15m", description="Decision cadence over the range: 1m, 5m, 15m, 1h, 4h or 1d.")
    lake: bool = Field(default=False, description="Hydrate market memory from the lake into a fresh data folder "
                                                  "first, so the backtest runs on any worker.")
    lake_lookback_days: int = Field(default=3, description="Lake days hydrated before `start`, for reads that "
                                                            "reach back.")


@dg.asset(group_name=GROUP, kinds={"python", "sqlite"}, partitions_def=clones_partitions,
          deps=[clone_read_plans, *history_reads()])
def clone_backtest(context: dg.AssetExecutionContext, config: BacktestConfig, market_memory: MarketMemoryResource,
                   archive: ArchiveResource):
    """Runs the clone over stored history through the live code path; metadata holds the metrics and the
    result hash (equal for equal runs)."""
    clone_id = clone_id_of(context.partition_key)
    if config.lake:
        result = _lake_backtest(context, config, archive, clone_id)
    else:
        with market_memory.connect() as conn:
            outbox = archive.outbox(conn)
            result = run_backtest(conn, outbox, clone_id, day_start_ms(config.start),
                                  day_start_ms(config.end) + DAY_MS - 1, config.cadence, progress=context.log.info)
    metrics = result["metrics"] or {}
    return dg.MaterializeResult(metadata={
        "backtest_id": result["backtest_id"], "decisions": result["decisions"], "ticks": result["ticks"],
        "result_sha256": result["result_sha256"] or "",
        **{k: _round(v, 4) for k, v in metrics.items() if isinstance(v, int | float) and v is not None},
    })


def _lake_backtest(context: dg.AssetExecutionContext, config: BacktestConfig, archive: ArchiveResource,
                   clone_id: int) -> dict:
    import tempfile
    from pathlib import Path

    from clash_pipeline.defs.lake import lake_of
    from clash_pipeline.lake.hydrate import backtest_from_lake

    with tempfile.TemporaryDirectory(prefix="clash-lake-backtest-") as workdir:
        return backtest_from_lake(lake_of(archive), archive.get_archive(), Path(workdir), clone_id,
                                  day_start_ms(config.start), day_start_ms(config.end) + DAY_MS - 1, config.cadence,
                                  config.lake_lookback_days, progress=context.log.info)


def _round(value: object, digits: int) -> object:
    return round(float(value), digits) if isinstance(value, float) else value


mark_job = dg.define_asset_job("paper_mark_job", selection=[paper_mark_to_market], executor_def=dg.in_process_executor,
                               description="Marks every open paper account at the latest prices, with the ledger "
                                           "reconciliation check.")
mark_schedule = dg.ScheduleDefinition(name="paper_mark_schedule", job=mark_job, cron_schedule="*/5 * * * *",
                                      execution_timezone="UTC", description="Paper marks every 5 minutes.")

defs = dg.Definitions(assets=[paper_mark_to_market, paper_account_summary, clone_backtest], jobs=[mark_job],
                      schedules=[mark_schedule])
