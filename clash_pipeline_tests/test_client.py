"""The Hyperliquid client: paging without gap or overlap, retries with a bound, the weight budget."""

from __future__ import annotations

import json

import httpx
import pytest

from clash_pipeline.sources.errors import RequestFailed
from clash_pipeline.sources.http import RetryPolicy, WeightBudget
from clash_pipeline.sources.hyperliquid.client import parse
from clash_pipeline.timeutil import DAY_MS, MINUTE_MS
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import body_of, mock_client, replay_client


def test_candle_pages_cover_a_long_range_with_no_gap_or_overlap():
    client = replay_client(NOW_MS)
    start = NOW_MS - NOW_MS % DAY_MS - 8 * DAY_MS  # 8 days of 1m candles: 11,520, so 3 pages
    end = start + 8 * DAY_MS
    pages = client.candle_pages("BTC", "1m", start, end)
    assert len(pages) == 3
    assert all(len(parse(page)) <= 5000 for page in pages)
    opens = [c["t"] for page in pages for c in parse(page)]
    assert opens == list(range(start, end, MINUTE_MS))


def test_funding_pages_follow_the_last_time_whatever_the_page_size(fixtures_dir):
    rows = json.loads((fixtures_dir / "hyperliquid" / "fundingHistory_BTC_no_endTime.json").read_bytes())
    requests = []

    def serve(request: httpx.Request) -> httpx.Response:
        body = body_of(request)
        requests.append(body)
        page = [r for r in rows if body["startTime"] <= r["time"] <= body["endTime"]][:300]
        return httpx.Response(200, json=page)

    client = mock_client(serve)
    pages = client.funding_pages("BTC", rows[0]["time"], rows[-1]["time"] + 1)
    got = [r["time"] for page in pages for r in parse(page)]
    assert got == [r["time"] for r in rows]  # every row once, in order
    assert len(pages) == 4 and requests[1]["startTime"] == rows[299]["time"] + 1


@pytest.mark.parametrize("failure", [429, 500, 502, 503, "timeout"])
def test_transient_failures_are_retried_with_backoff(failure):
    calls, sleeps = [], []

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            if failure == "timeout":
                raise httpx.ReadTimeout("slow", request=request)
            return httpx.Response(failure)
        return httpx.Response(200, json={"BTC": "1.0"})

    client = mock_client(serve, RetryPolicy(max_attempts=4, base_delay_s=1, max_delay_s=8), sleeps)
    assert parse(client.all_mids()) == {"BTC": 1.0}
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1 and 0 <= sleeps[1] <= 2  # full jitter under an exponential cap


def test_retries_are_bounded_and_the_error_names_endpoint_and_request():
    client = mock_client(lambda request: httpx.Response(503), RetryPolicy(max_attempts=3))
    with pytest.raises(RequestFailed) as error:
        client.l2_book("BTC")
    message = str(error.value)
    assert "hyperliquid l2Book" in message and '"coin": "BTC"' in message and "3 attempts" in message
    assert "HTTP 503" in message


def test_a_client_error_is_not_retried():
    calls = []

    def serve(request):
        calls.append(1)
        return httpx.Response(422, text="Failed to deserialize the JSON body")

    with pytest.raises(RequestFailed, match="HTTP 422"):
        mock_client(serve).meta()
    assert len(calls) == 1


def test_optional_endpoint_missing_is_skipped():
    assert mock_client(lambda request: httpx.Response(422)).optional_info({"type": "perpCategories"}) is None


def test_weight_budget_waits_when_spent():
    clock, sleeps = [0.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    budget = WeightBudget(1200, clock=lambda: clock[0], sleep=sleep)
    for _ in range(60):
        budget.acquire(20)  # the whole minute's budget
    assert sleeps == []
    budget.acquire(20)
    assert sleeps == [pytest.approx(1.0)]  # 20 weight refills in 1 s at 1,200/min
    budget.charge(100)
    budget.acquire(2)
    assert sleeps[-1] == pytest.approx(5.1)
