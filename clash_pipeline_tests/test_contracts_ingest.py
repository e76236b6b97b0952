"""Ingest contracts: identity against the request, domain ranges, duplicates, blocking checks before the commit,
failure isolation per asset and per source, and derived measures that survive sparse or degenerate data.

Every refusal asserts one PayloadError naming source, endpoint, request and field, and that no row changed.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import httpx
import pytest

from clash_pipeline.ingest import defillama as dl_ingest
from clash_pipeline.ingest import hyperliquid as hl
from clash_pipeline.ingest import polymarket as pm_ingest
from clash_pipeline.ingest.isolation import IncompleteIngest
from clash_pipeline.ingest.load import BlockingCheckFailed
from clash_pipeline.links.polymarket import load_mapping
from clash_pipeline.market.liquidity import liquidity_profile
from clash_pipeline.market.volatility import volatility_rows
from clash_pipeline.sources.errors import PayloadError, RequestFailed
from clash_pipeline.sources.http import RawResponse, SourceHttp
from clash_pipeline.sources.polymarket.client import PolymarketClient
from clash_pipeline.sources.polymarket.replay import PolymarketReplay
from clash_pipeline.sources.replay import ReplayTransport
from clash_pipeline.timeutil import DAY_MS, HOUR_MS, MINUTE_MS
from clash_pipeline.universe.taxonomy import load_taxonomy
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import replay_client

START, END = NOW_MS - NOW_MS % DAY_MS - DAY_MS, NOW_MS - NOW_MS % DAY_MS


def _edit(raw: RawResponse, change) -> RawResponse:
    body = json.loads(raw.body)
    change(body)
    return dataclasses.replace(raw, body=json.dumps(body).encode())


def _rows(conn: sqlite3.Connection, table: str) -> list[tuple]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()


def _refused(conn, tables, write, *, field: str, request: str, endpoint: str, source: str = "hyperliquid"):
    """`write` raises one PayloadError naming source, endpoint, request and field; no row of `tables` changed."""
    before = {table: _rows(conn, table) for table in tables}
    with pytest.raises(PayloadError) as error:
        write()
    assert (error.value.source, error.value.endpoint, error.value.field) == (source, endpoint, field)
    assert request in error.value.request and request in str(error.value) and field in str(error.value)
    assert "\n" not in str(error.value)
    assert {table: _rows(conn, table) for table in tables} == before
    return error.value


# -- Hyperliquid: identity -------------------------------------------------------------------------------------
@pytest.fixture
def client():
    return replay_client(NOW_MS)


@pytest.fixture
def candles(client, memory):
    """A stored day of BTC and ETH 1h candles, and the BTC page that produced it."""
    btc = client.candle_pages("BTC", "1h", START, END)
    hl.write_candles(memory, btc + client.candle_pages("ETH", "1h", START, END), START, END)
    return btc[0]


@pytest.mark.parametrize(("change", "field"), [
    (lambda rows: rows[3].update(s="ETH"), "3.s"),
    (lambda rows: [row.update(s="ETH") for row in rows], "0.s"),
    (lambda rows: rows[2].update(i="1d"), "2.i"),
], ids=["one-row-says-ETH", "all-rows-say-ETH", "interval-1d"])
def test_candles_whose_identity_differs_from_the_request_are_refused(memory, candles, change, field):
    bad = _edit(candles, change)
    _refused(memory, ["hl_candles"], lambda: hl.write_candles(memory, [bad], START, END),
             field=field, request="coin=BTC interval=1h", endpoint="candleSnapshot")


def test_book_and_funding_whose_coin_differs_from_the_request_are_refused(memory, client):
    book = _edit(client.l2_book("BTC"), lambda body: body.update(coin="ETH"))
    _refused(memory, ["hl_book_levels", "hl_liquidity"], lambda: hl.write_books(memory, [book]),
             field="coin", request="coin=BTC", endpoint="l2Book")
    funding = client.funding_pages("BTC", START, END)[0]
    bad = _edit(funding, lambda rows: rows[5].update(coin="ETH"))
    _refused(memory, ["hl_funding_history"], lambda: hl.write_funding_history(memory, [bad], START, END),
             field="5.coin", request="coin=BTC", endpoint="fundingHistory")


# -- Hyperliquid: ranges and duplicates ---------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "field"), [
    (lambda rows: rows[1].update(o="-5.0"), "1.o"),
    (lambda rows: rows[1].update(c="0"), "1.c"),
    (lambda rows: rows[4].update(h=str(float(rows[4]["l"]) / 2)), "4.h"),  # high < low
    (lambda rows: rows[4].update(c=str(float(rows[4]["h"]) * 2)), "4.h"),  # close > high
    (lambda rows: rows[6].update(v="-1.0"), "6.v"),
    (lambda rows: rows.append({**rows[7], "c": str(float(rows[7]["c"]) * 1.001)}), f"{24}.t"),  # duplicate open
], ids=["negative-open", "zero-close", "high-below-low", "close-above-high", "negative-volume", "duplicate-t"])
def test_candles_out_of_range_or_duplicated_are_refused(memory, candles, change, field):
    bad = _edit(candles, change)
    _refused(memory, ["hl_candles"], lambda: hl.write_candles(memory, [bad], START, END),
             field=field, request="coin=BTC interval=1h", endpoint="candleSnapshot")


def test_an_exact_repeat_of_a_candle_is_harmless(memory, candles):
    repeated = _edit(candles, lambda rows: rows.append(dict(rows[7])))
    before = _rows(memory, "hl_candles")
    hl.write_candles(memory, [repeated], START, END)
    assert _rows(memory, "hl_candles") == before


@pytest.mark.parametrize(("change", "field"), [
    (lambda book: book["levels"][0].__setitem__(0, {**book["levels"][1][0], "n": 1}), "levels"),  # bid at the ask
    (lambda book: book["levels"][1][2].update(sz="-3.0"), "levels.1.2.sz"),
    (lambda book: book["levels"][1][2].update(sz="0.0"), "levels.1.2.sz"),
    (lambda book: book["levels"][0][3].update(px="0"), "levels.0.3.px"),
    (lambda book: book["levels"][0].append(dict(book["levels"][0][5])), "levels.0.20.px"),
], ids=["crossed", "negative-size", "zero-size", "zero-price", "duplicate-level"])
def test_books_crossed_negative_or_duplicated_are_refused(memory, client, change, field):
    book = _edit(client.l2_book("BTC"), change)
    error = _refused(memory, ["hl_book_levels", "hl_liquidity"], lambda: hl.write_books(memory, [book]),
                     field=field, request="coin=BTC", endpoint="l2Book")
    if field == "levels":
        assert "crossed book" in str(error)


def _snapshot(client, coins=("BTC", "ETH")) -> list[RawResponse]:
    return hl.pull_snapshot(client, list(coins))


def _main_meta(raws: list[RawResponse]) -> RawResponse:
    return next(raw for raw in raws if raw.endpoint == "metaAndAssetCtxs" and "dex" not in raw.request)


@pytest.mark.parametrize(("change", "field"), [
    (lambda pair: pair[0]["universe"][0].update(szDecimals=-3), "meta.universe.0.szDecimals"),
    (lambda pair: pair[0]["universe"][0].update(maxLeverage=0), "meta.universe.0.maxLeverage"),
    (lambda pair: pair[1][0].update(openInterest="-10.0"), "ctxs.0.openInterest"),
    (lambda pair: pair[1][0].update(markPx="0.0"), "ctxs.0.markPx"),
    (lambda pair: pair[0]["universe"].__setitem__(1, {**pair[0]["universe"][1], "name": pair[0]["universe"][0]["name"]}),
     "meta.universe.1.name"),
], ids=["szDecimals-negative", "maxLeverage-zero", "negative-oi", "zero-mark", "BTC-twice"])
def test_universe_and_contexts_out_of_range_or_duplicated_are_refused(memory, client, change, field):
    raws = _snapshot(client)
    hl.write_universe(memory, raws, load_taxonomy())
    hl.write_contexts(memory, raws)
    bad = _edit(_main_meta(raws), change)
    tables = ["hl_assets", "hl_margin_tiers", "asset_categories", "hl_asset_ctxs", "hl_positioning"]
    _refused(memory, tables, lambda: hl.write_universe(memory, [bad], load_taxonomy()),
             field=field, request="", endpoint="metaAndAssetCtxs")
    _refused(memory, tables, lambda: hl.write_contexts(memory, [bad]), field=field, request="",
             endpoint="metaAndAssetCtxs")


def test_a_universe_naming_btc_twice_never_gives_btc_another_assets_id(memory, client):
    raws = _snapshot(client)
    hl.write_universe(memory, raws, load_taxonomy())
    btc = memory.execute("SELECT asset_id, sz_decimals FROM hl_assets WHERE coin = 'BTC'").fetchone()
    twice = _edit(_main_meta(raws), lambda pair: pair[0]["universe"].__setitem__(
        1, {**pair[0]["universe"][1], "name": "BTC"}))
    with pytest.raises(PayloadError, match="duplicate asset 'BTC'"):
        hl.write_universe(memory, [twice], load_taxonomy())
    assert memory.execute("SELECT asset_id, sz_decimals FROM hl_assets WHERE coin = 'BTC'").fetchone() == btc


# -- Blocking checks before the commit ---------------------------------------------------------------------------
def test_ohlc_sane_runs_before_the_commit_and_rolls_the_batch_back(memory, client):
    pages = client.candle_pages("BTC", "1h", START, END)
    hl.write_candles(memory, pages, START, END)
    # a bad row already in the window (written before the contract existed)
    memory.execute("UPDATE hl_candles SET high = low / 2 WHERE coin = 'BTC' AND open_ms = ?", (START,))
    before = _rows(memory, "hl_candles")
    more = client.candle_pages("ETH", "1h", START, END)
    with pytest.raises(BlockingCheckFailed, match="ohlc_sane failed with 1 violation"):
        hl.write_candles(memory, more, START, END)
    assert _rows(memory, "hl_candles") == before  # ETH's valid rows were rolled back with the batch


def test_binary_prices_in_range_runs_before_the_commit(memory, pm_raws):
    mapping, raws = load_mapping(), pm_raws
    pm_ingest.write_markets(memory, raws, mapping, NOW_MS)
    # a bad row already stored (written before the contract existed), which this batch does not overwrite
    columns = [row[1] for row in memory.execute("PRAGMA table_info(pm_markets)")]
    copied = ", ".join({"market_id": "'stale-1'", "outcome_prices": "'[\"1.5\", \"-0.5\"]'"}.get(c, c) for c in columns)
    memory.execute(f"INSERT INTO pm_markets ({', '.join(columns)}) SELECT {copied} FROM pm_markets "
                   "WHERE json_array_length(outcomes) = 2 LIMIT 1")
    tables = ["pm_markets", "pm_market_snapshots", "pm_asset_links", "pm_asset_horizons"]
    before = {table: _rows(memory, table) for table in tables}
    with pytest.raises(BlockingCheckFailed, match="binary_prices_in_range"):
        pm_ingest.write_markets(memory, raws, mapping, NOW_MS + 60_000)
    assert {table: _rows(memory, table) for table in tables} == before


# -- Polymarket ---------------------------------------------------------------------------------------------------
def _pm_client() -> PolymarketClient:
    replay = PolymarketReplay(lambda: NOW_MS)
    return PolymarketClient(
        SourceHttp("polymarket", "https://g.invalid", transport=ReplayTransport("g", replay.gamma)),
        SourceHttp("polymarket", "https://c.invalid", transport=ReplayTransport("c", replay.clob)))


@pytest.fixture
def pm_client():
    return _pm_client()


@pytest.fixture(scope="module")
def pm_raws():
    return pm_ingest.pull_snapshot(_pm_client(), load_mapping(), NOW_MS, lambda _: None)


def _books(raws):
    return [raw for raw in raws if raw.endpoint == "clob/book"]


@pytest.mark.parametrize(("change", "field"), [
    (lambda book: book.update(asset_id="123"), "asset_id"),
    (lambda book: book["bids"][0].update(price="1.5"), "bids.0.price"),
    (lambda book: book["asks"][0].update(size="-2"), "asks.0.size"),
    (lambda book: book["bids"].append({"price": "0.999", "size": "10"}), "bids"),  # crossed
], ids=["asset-id-differs", "price-above-1", "negative-size", "crossed"])
def test_clob_books_refused_name_the_token(memory, pm_raws, change, field):
    book = _books(pm_raws)[0]
    bad = _edit(book, change)
    _refused(memory, ["pm_books"], lambda: pm_ingest.write_books(memory, [bad], NOW_MS), field=field,
             request=f"token_id={book.request['token_id']}", endpoint="clob/book", source="polymarket")


@pytest.mark.parametrize(("change", "field"), [
    (lambda markets: markets[0].update(outcomePrices='["1.2", "-0.2"]'), "0.outcomePrices.0"),
    (lambda markets: markets[0].update(bestBid=2), "0.bestBid"),
    (lambda markets: markets[0].update(volume="-5"), "0.volume"),
    (lambda markets: markets.append(dict(markets[0])), "1.id"),
], ids=["outcome-price-out-of-range", "best-bid-2", "negative-volume", "duplicate-id"])
def test_gamma_markets_out_of_range_or_duplicated_are_refused(memory, pm_raws, change, field):
    page = next(raw for raw in pm_raws if raw.endpoint == "gamma/markets")
    bad = _edit(page, lambda markets: (markets.__delitem__(slice(1, None)), change(markets)))
    tables = ["pm_markets", "pm_market_snapshots", "pm_asset_links", "pm_asset_horizons"]
    _refused(memory, tables, lambda: pm_ingest.write_markets(memory, [bad], load_mapping(), NOW_MS),
             field=field, request="closed=false", endpoint="gamma/markets", source="polymarket")


def test_one_bad_book_never_drops_the_markets_links_or_other_books(memory, pm_client, monkeypatch):
    tokens = sorted({raw.request["token_id"] for raw in _books(
        pm_ingest.pull_snapshot(pm_client, load_mapping(), NOW_MS, lambda _: None))})
    failing = tokens[0]
    real_book = PolymarketClient.book

    def book(self, token_id):
        if token_id == failing:
            raise RequestFailed("polymarket", "clob/book", {"token_id": token_id}, 5, "HTTP 503")
        return real_book(self, token_id)

    monkeypatch.setattr(PolymarketClient, "book", book)
    raws = pm_ingest.pull_snapshot(pm_client, load_mapping(), NOW_MS, lambda _: None)  # the pull goes on
    pm_ingest.write_markets(memory, raws, load_mapping(), NOW_MS)
    assert memory.execute("SELECT COUNT(*) FROM pm_asset_links").fetchone()[0] > 0
    with pytest.raises(IncompleteIngest, match=f"token_id.*{failing}.*HTTP 503") as error:
        pm_ingest.write_books(memory, raws, NOW_MS)
    assert error.value.requests("clob/book", "token_id") == [failing]
    stored = {token for (token,) in memory.execute("SELECT token_id FROM pm_books")}
    assert stored == set(tokens) - {failing}


# -- DefiLlama ---------------------------------------------------------------------------------------------------
def _dl(endpoint: str, path: str, body: object) -> RawResponse:
    return RawResponse("defillama", endpoint, "GET", path, {}, 200, json.dumps(body).encode(), NOW_MS)


def test_negative_tvl_is_a_payload_error_not_an_integrity_error(memory):
    day = START // 1000
    good = _dl("v2/historicalChainTvl", "/v2/historicalChainTvl", [{"date": day, "tvl": 5.0}])
    dl_ingest.write_history(memory, [good], START, END)
    bad = _dl("v2/historicalChainTvl", "/v2/historicalChainTvl/Ethereum", [{"date": day, "tvl": -1.0}])
    _refused(memory, ["dl_tvl", "dl_flows"], lambda: dl_ingest.write_history(memory, [good, bad], START, END),
             field="0.tvl", request="path=/v2/historicalChainTvl/Ethereum", endpoint="v2/historicalChainTvl",
             source="defillama")
    twice = _dl("v2/historicalChainTvl", "/v2/historicalChainTvl", [{"date": day, "tvl": 5.0}, {"date": day, "tvl": 6.0}])
    _refused(memory, ["dl_tvl"], lambda: dl_ingest.write_history(memory, [twice], START, END), field="1.date",
             request="", endpoint="v2/historicalChainTvl", source="defillama")


def test_negative_chain_tvl_and_duplicate_chains_are_refused_and_stablecoins_still_written(memory):
    chains = _dl("v2/chains", "/v2/chains", [{"name": "Ethereum", "tvl": -3.0}])
    stables = _dl("stablecoins", "/stablecoins", {"peggedAssets": [
        {"id": "1", "name": "Tether", "symbol": "USDT", "pegType": "peggedUSD", "circulating": {"peggedUSD": 1.0}}]})
    with pytest.raises(IncompleteIngest, match=r"defillama v2/chains: bad payload at field '0.tvl'"):
        dl_ingest.write_capital_base(memory, [chains, stables], NOW_MS)
    assert _rows(memory, "dl_chains") == [] and len(_rows(memory, "dl_stablecoins")) == 1
    twice = _dl("v2/chains", "/v2/chains", [{"name": "Ethereum", "tvl": 3.0}, {"name": "Ethereum", "tvl": 4.0}])
    _refused(memory, ["dl_chains"], lambda: dl_ingest.write_capital_base(memory, [twice], NOW_MS),
             field="1.name", request="", endpoint="v2/chains", source="defillama")


# -- Hyperliquid snapshot isolation -------------------------------------------------------------------------------
def test_a_snapshot_writes_every_valid_book_and_names_the_bad_one(memory, client, monkeypatch):
    real = type(client).l2_book

    def l2_book(self, coin):
        if coin == "SOL":
            raise RequestFailed("hyperliquid", "l2Book", {"type": "l2Book", "coin": coin}, 5, "HTTP 503")
        return real(self, coin)

    monkeypatch.setattr(type(client), "l2_book", l2_book)
    raws = _snapshot(client, ["BTC", "SOL", "ETH", "HYPE"])
    raws = [_edit(raw, lambda book: book.update(coin="BTC")) if raw.request.get("coin") == "ETH" else raw
            for raw in raws]
    with pytest.raises(IncompleteIngest) as error:
        hl.write_books(memory, raws)
    assert error.value.requests("l2Book", "coin") == ["SOL", "ETH"]
    assert "coin=ETH: bad payload at field 'coin'" in str(error.value) and "HTTP 503" in str(error.value)
    assert {coin for (coin,) in memory.execute("SELECT coin FROM hl_liquidity")} == {"BTC", "HYPE"}


def test_a_refused_dex_universe_leaves_the_other_dexes_written(memory, client):
    raws = _snapshot(client)
    main = _main_meta(raws)
    bad = _edit(main, lambda pair: pair[0]["universe"][0].update(maxLeverage=0))
    with pytest.raises(IncompleteIngest, match="maxLeverage"):
        hl.write_universe(memory, [bad if raw is main else raw for raw in raws], load_taxonomy())
    dexes = {dex for (dex,) in memory.execute("SELECT DISTINCT dex FROM hl_assets WHERE kind = 'perp'")}
    assert "" not in dexes and dexes  # builder dexes written, the main one refused
    assert memory.execute("SELECT COUNT(*) FROM hl_assets WHERE kind = 'spot'").fetchone()[0] > 0


# -- Derived measures on sparse and degenerate data ---------------------------------------------------------------
def test_volatility_survives_coins_and_intervals_that_do_not_all_combine(memory, client):
    start = NOW_MS - NOW_MS % DAY_MS - 3 * DAY_MS
    raws = client.candle_pages("BTC", "1h", start, start + 2 * DAY_MS)
    raws += client.candle_pages("ETH", "15m", start, start + 2 * DAY_MS)
    hl.write_candles(memory, raws, start, start + 2 * DAY_MS)
    load = hl.write_volatility(memory, ["BTC", "ETH"], ["15m", "1h"], start + DAY_MS, start + 2 * DAY_MS)
    assert load.rows > 0
    assert {row[:2] for row in memory.execute("SELECT DISTINCT coin, interval FROM hl_volatility")} == {
        ("BTC", "1h"), ("ETH", "15m")}


def test_volatility_and_liquidity_survive_zero_prices():
    bars = [(i * MINUTE_MS, (i + 1) * MINUTE_MS - 1, 1.0, 1.0, 1.0, 0.0 if i == 40 else 1.0 + i / 100)
            for i in range(120)]
    rows = volatility_rows("X", "1m", MINUTE_MS, bars, since_ms=0, windows=(14,))
    as_of = {row[2] for row in rows}
    assert HOUR_MS in as_of or not as_of  # no crash; windows holding the zero close are left out
    assert all(not (40 * MINUTE_MS <= ts - 1 < 55 * MINUTE_MS) for ts in as_of)
    assert volatility_rows("X", "1m", MINUTE_MS, [], since_ms=0) == []
    assert liquidity_profile([(0.0, 1.0)], [(0.0, 2.0)]) is None
    assert liquidity_profile([(2.0, 1.0)], [(1.0, 1.0)]) is None  # crossed


# -- Through Dagster: checks reported, runs fail naming what failed, sources isolated -----------------------------
def _days_ago(n: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


@pytest.fixture
def dagster_home(tmp_path):
    import dagster as dg

    from clash_pipeline.settings import load_settings

    with dg.instance_for_test() as instance:
        yield load_settings({"CLASH_HOME": str(tmp_path), "CLASH_COINS": "BTC,ETH"}), instance


def test_a_failing_blocking_check_is_reported_to_dagster_and_nothing_is_written(dagster_home):
    import dagster as dg

    from clash_pipeline.defs.hyperliquid_history import hyperliquid_candles, hyperliquid_candles_raw
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.timeutil import day_start_ms

    settings, instance = dagster_home
    day = _days_ago(2)
    start = day_start_ms(day)
    conn = open_memory(settings.memory_path)
    row = ("OLD", "1h", start, start + HOUR_MS - 1, 10.0, 5.0, 9.0, 10.0, 1.0, 1)  # high 5 < low 9, not overwritten
    conn.execute("INSERT INTO hl_candles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    conn.commit()
    config = {"config": {"coins": ["BTC", "ETH"], "intervals": ["1h"]}}
    result = dg.materialize([hyperliquid_candles_raw, hyperliquid_candles], instance=instance,
                            resources=default_resources(settings), partition_key=day, raise_on_error=False,
                            run_config={"ops": {"hyperliquid_candles_raw": config}})
    assert not result.success
    checks = {c.check_name: (c.passed, c.metadata["violations"].value) for c in result.get_asset_check_evaluations()}
    assert checks == {"ohlc_sane": (False, 1)}
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "ohlc_sane failed with 1 violation(s)" in failure.step_failure_data.user_failure_data.description
    assert conn.execute("SELECT * FROM hl_candles").fetchall() == [row]  # the rest of the day was rolled back


def test_a_snapshot_run_writes_the_valid_books_and_fails_naming_the_coin(dagster_home, monkeypatch):
    import dagster as dg

    from clash_pipeline.defs.hyperliquid_snapshot import hyperliquid_liquidity, hyperliquid_snapshot_raw
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.inprocess import RunLog
    from clash_pipeline.inprocess_ingest import retry_books
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.sources.hyperliquid.client import HyperliquidClient

    settings, instance = dagster_home
    real = HyperliquidClient.l2_book

    def l2_book(self, coin):
        if coin == "ETH":
            raise RequestFailed("hyperliquid", "l2Book", {"type": "l2Book", "coin": coin}, 5, "HTTP 503")
        return real(self, coin)

    monkeypatch.setattr(HyperliquidClient, "l2_book", l2_book)
    result = dg.materialize([hyperliquid_snapshot_raw, hyperliquid_liquidity], instance=instance,
                            resources=default_resources(settings), raise_on_error=False,
                            run_config={"ops": {"hyperliquid_snapshot_raw": {"config": {"book_coins": ["BTC", "ETH", "SOL"]}}}})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    description = failure.step_failure_data.user_failure_data.description
    assert "hyperliquid l2Book" in description and "ETH" in description and "HTTP 503" in description
    materialization = result.asset_materializations_for_node("hyperliquid_liquidity")[0]
    assert materialization.metadata["retry/book_coins"].value == ["ETH"]  # what the next run has to ask again
    coins = {coin for (coin,) in open_memory(settings.memory_path).execute("SELECT coin FROM hl_liquidity")}
    assert coins == {"BTC", "SOL"}

    # the next run asks again for ETH's book only
    monkeypatch.setattr(HyperliquidClient, "l2_book", real)
    asked = []
    real_info = HyperliquidClient.info
    monkeypatch.setattr(HyperliquidClient, "info", lambda self, body: asked.append(body) or real_info(self, body))
    outcome = retry_books(settings, instance, materialization.metadata["retry/book_coins"].value,
                          run_log=RunLog.QUIET)
    assert outcome.ok and asked == [{"type": "l2Book", "coin": "ETH"}]
    coins = {coin for (coin,) in open_memory(settings.memory_path).execute("SELECT coin FROM hl_liquidity")}
    assert coins == {"BTC", "SOL", "ETH"}


def test_ingest_sources_runs_every_source_when_one_is_down(dagster_home, monkeypatch):
    from clash_pipeline.inprocess import RunLog
    from clash_pipeline.inprocess_ingest import failed_sources, ingest_sources
    from clash_pipeline.memory.db import open_memory
    from clash_pipeline.sources.defillama.client import DefiLlamaClient

    settings, instance = dagster_home

    def down(self):
        raise RequestFailed("defillama", "v2/chains", {}, 5, "HTTP 503")

    monkeypatch.setattr(DefiLlamaClient, "chains", down)
    day = _days_ago(0)
    outcomes = ingest_sources(settings, instance, ["defillama", "polymarket"], day, day, ["BTC"], ["1h"],
                              run_log=RunLog.QUIET)
    assert failed_sources(outcomes) == ["defillama"]
    error = outcomes[0].error
    assert error.startswith("defillama v2/chains: request {} failed after 5 attempts: HTTP 503") and "\n" not in error
    conn = open_memory(settings.memory_path)
    for table in ("pm_markets", "pm_asset_links", "pm_books"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] > 0, table
