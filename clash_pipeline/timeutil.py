"""Time helpers: every timestamp in market memory is integer milliseconds UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from clash_pipeline import clock

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
}


def now_ms() -> int:
    """The pipeline's clock (`clash_pipeline.clock`): the wall clock, or replay time under `clash run`."""
    return clock.now_ms()


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def day_start_ms(day: date | str) -> int:
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


@lru_cache(maxsize=4096)  # packets of one tick, and views of one day, say the same times again and again
def iso(ms: int | None) -> str | None:
    """Readable UTC time for logs and metadata."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def days_between(start: str, end: str) -> list[str]:
    """ISO days from start to end, end excluded."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days)]


def interval_ms(interval: str) -> int:
    try:
        return INTERVAL_MS[interval]
    except KeyError:
        raise ValueError(f"unknown candle interval {interval!r}; known: {', '.join(INTERVAL_MS)}") from None
