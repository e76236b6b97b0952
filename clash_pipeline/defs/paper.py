"""Paper trading in Dagster: the mark-to-market of every open account (with a ledger reconciliation check), a
per-clone account summary, and backtests launched from the UI with config."""

import dagster as dg

from clash_pipeline.defs.clones import clones_partitions
from clash_pipeline.defs.resources import ArchiveResource, MarketMemoryResource
from clash_pipeline.decisions.backtest import run_backtest
from clash_pipeline.paper.broker import Broker
from clash_pipeline.paper.metrics import account_metrics, reconcile
from clash_pipeline.strategy.store import clone_id_of
from clash_pipeline.timeutil import DAY_MS, day_start_ms, iso, now_ms

GROUP = "paper"


@dg.asset(group_name=GROUP, kinds={"sqlite"},
          check_specs=[dg.AssetCheckSpec("ledger_reconciles", asset="paper_mark_to_market", blocking=True)])
def paper_mark_to_market(context: dg.AssetExecutionContext, market_memory: MarketMemoryResource):
    """Marks every open account at the latest prices: funding, resting limits, stop-loss and take-profit,
    liquidations, the drawdown stop, and an equity-curve point each."""
    with market_memory.connect() as conn:
        results = Broker(conn).mark(now_ms())
        accounts = [a for (a,) in conn.execute("SELECT account_id FROM paper_accounts")]
        unbalanced = [a for a in accounts if not reconcile(conn, a)["balanced"]]
        exposure = conn.execute("SELECT COALESCE(SUM(exposure_usd), 0) FROM equity_curve e WHERE ts_ms = "
                                "(SELECT MAX(ts_ms) FROM equity_curve WHERE account_id = e.account_id)").fetchone()[0]
    closed = [c for r in results for c in r.closed]
    for r in results:
        if r.closed:
            context.log.info(f"account {r.account_id}: closed {', '.join(r.closed)}")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(results), "accounts_marked": len(results),
                  "equity_usd": float(sum(r.equity for r in results)),
                  "max_drawdown_pct": float(max((r.drawdown_pct for r in results), default=0)),
                  "exposure_usd": float(exposure), "positions_closed": len(closed)},
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
        metrics = account_metrics(conn, row[0])
        curve = conn.execute("SELECT ts_ms, equity_micro, drawdown_pct, exposure_usd FROM equity_curve WHERE "
                             "account_id = ? ORDER BY ts_ms DESC LIMIT 20", (row[0],)).fetchall()
    table = ["| time | equity | drawdown % | exposure |", "|---|---|---|---|"]
    table += [f"| {iso(t)} | {e / 1e6:.2f} | {d:.3f} | {x:.2f} |" for t, e, d, x in reversed(curve)]
    return dg.MaterializeResult(metadata={
        "equity_usd": metrics.end_equity, "return_pct": metrics.return_pct,
        "max_drawdown_pct": metrics.max_drawdown_pct, "exposure_usd": curve[0][3] if curve else 0.0,
        "trades": metrics.trades, "fees_usd": metrics.fees_usd, "funding_usd": metrics.funding_usd,
        "reliability": metrics.reliability if metrics.reliability is not None else 1.0,
        "equity_curve": dg.MetadataValue.md("\n".join(table)),
    })


class BacktestConfig(dg.Config):
    """The range (UTC days, end inclusive) and the decision cadence."""

    start: str
    end: str
    cadence: str = "15m"
    lake: bool = False  # hydrate market memory from the lake into a fresh data folder (runs on any worker)
    lake_lookback_days: int = 3  # lake days hydrated before `start`, for reads that reach back


@dg.asset(group_name=GROUP, kinds={"python"}, partitions_def=clones_partitions)
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
        **{k: v for k, v in metrics.items() if isinstance(v, int | float) and v is not None},
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


mark_job = dg.define_asset_job("paper_mark_job", selection=[paper_mark_to_market])
mark_schedule = dg.ScheduleDefinition(name="paper_mark_schedule", job=mark_job, cron_schedule="*/5 * * * *",
                                      execution_timezone="UTC")

defs = dg.Definitions(assets=[paper_mark_to_market, paper_account_summary, clone_backtest], jobs=[mark_job],
                      schedules=[mark_schedule])
