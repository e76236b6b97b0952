"""Named jobs for the per-clone stages (partitioned by clone), so a data engineer launches a stage by name, in
process, rather than "Materialize all" over assets whose partitions differ."""

import dagster as dg

clone_job = dg.define_asset_job(
    "clone_job", selection=["clone_read_plans", "clone_decisions", "paper_account_summary"],
    executor_def=dg.in_process_executor,
    description="One clone (pick its c000042 partition): compile its read plans, decide (optionally one asset, "
                "`force`), and summarize its live paper account.")
read_plans_job = dg.define_asset_job(
    "clone_read_plans_job", selection=["clone_read_plans"], executor_def=dg.in_process_executor,
    description="Compile the read plans of the clones picked (one partition, or a range of them in one run).")
clone_backtest_job = dg.define_asset_job(
    "clone_backtest_job", selection=["clone_backtest"], executor_def=dg.in_process_executor,
    description="Backtest one clone over stored history (start, end and cadence in the launch config).")

defs = dg.Definitions(jobs=[clone_job, read_plans_job, clone_backtest_job])
