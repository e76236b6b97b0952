"""Partitions shared by the history assets: daily from CLASH_HISTORY_START, one run per backfilled range."""

from datetime import datetime, timedelta

import dagster as dg

from clash_pipeline.settings import load_settings
from clash_pipeline.timeutil import to_ms

daily = dg.DailyPartitionsDefinition(start_date=load_settings().history_start, end_offset=1)
one_run_per_range = dg.BackfillPolicy.single_run()


def window_ms(context: dg.AssetExecutionContext) -> tuple[int, int]:
    """The run's partition window [start, end) in ms (a range run covers all of its days)."""
    window = context.partition_time_window
    return to_ms(window.start), to_ms(window.end)


def recent_days(now: datetime) -> list[str]:
    """Today's partition, and yesterday's too in the first hour of a day (its last data arrives late)."""
    today = now.date()
    return ([(today - timedelta(days=1)).isoformat()] if now.hour == 0 else []) + [today.isoformat()]


def recent_days_schedule(name: str, job: object, cron: str, description: str) -> dg.ScheduleDefinition:
    """A schedule that asks for today's partition (and yesterday's in the first hour of a day)."""

    @dg.schedule(name=name, cron_schedule=cron, job=job, execution_timezone="UTC", description=description)
    def _schedule(context: dg.ScheduleEvaluationContext):
        for key in recent_days(context.scheduled_execution_time):
            yield dg.RunRequest(run_key=f"{key}@{context.scheduled_execution_time.isoformat()}", partition_key=key)

    return _schedule
