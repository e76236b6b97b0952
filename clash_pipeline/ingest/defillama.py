"""DefiLlama ingestion: capital base, capital flows and economic throughput, global and per chain, plus the links
from tradable symbols to chains and stablecoins."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Sequence
from urllib.parse import unquote

from clash_pipeline.ingest.isolation import finish, nothing_valid, parse_each
from clash_pipeline.ingest.load import Load, write_batch
from clash_pipeline.links.defillama import ChainInfo, Overrides, base_symbols, derive_links
from clash_pipeline.memory import tables as t
from clash_pipeline.sources.defillama.client import DefiLlamaClient, parse
from clash_pipeline.sources.errors import RequestFailed
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.timeutil import DAY_MS

log = logging.getLogger("clash_pipeline")
Progress = Callable[[str], None]
DETAIL_CHAINS = 10  # per-chain history and throughput for the largest chains by TVL
FLOW_DAYS = (1, 7, 30)


def top_chains(client: DefiLlamaClient, count: int = DETAIL_CHAINS) -> tuple[RawResponse, list[str]]:
    raw = client.chains()
    chains = sorted(parse(raw), key=lambda c: -c.tvl)
    return raw, [chain.name for chain in chains[:count]]


def _optional(fetch: Callable[[], RawResponse]) -> list[RawResponse]:
    """A per-chain endpoint that may not cover every chain: skip a 4xx (but not a 429)."""
    try:
        return [fetch()]
    except RequestFailed as error:
        if error.status is not None and 400 <= error.status < 500 and error.status != 429:
            log.warning(str(error))
            return []
        raise


def _throughput_requests(client: DefiLlamaClient, chain: str | None, with_chart: bool) -> list[RawResponse]:
    return [raw for kind, data_type in (("fees", None), ("fees", "dailyRevenue"), ("dexs", None))
            for raw in _optional(lambda: client.overview(kind, chain, data_type, with_chart))]


def pull_snapshot(client: DefiLlamaClient, progress: Progress = log.info) -> list[RawResponse]:
    """Chains, stablecoins (total and per chain), and fees/revenue/DEX-volume summaries, global and per chain."""
    chains_raw, chains = top_chains(client)
    raws = [chains_raw, client.stablecoins(), client.stablecoin_chains()]
    for chain in [None, *chains]:
        raws += _throughput_requests(client, chain, with_chart=False)
    progress(f"defillama snapshot: {len(raws)} responses, {len(chains)} chains in detail")
    return raws


def pull_history(client: DefiLlamaClient, progress: Progress = log.info) -> list[RawResponse]:
    """Daily history (the API returns all of it): TVL, stablecoin supply, fees/revenue/DEX volume."""
    chains_raw, chains = top_chains(client)
    raws = [chains_raw]
    for chain in [None, *chains]:
        raws += _optional(lambda: client.historical_tvl(chain))
        raws += _optional(lambda: client.stablecoin_charts(chain))
        raws += _throughput_requests(client, chain, with_chart=True)
    progress(f"defillama history: {len(raws)} responses, {len(chains)} chains in detail")
    return raws


# -- writes ---------------------------------------------------------------------------------------------------
def _subject(raw: RawResponse, prefix: str) -> str:
    """'' for the global series, else the chain named in the path (as DefiLlama spells it)."""
    rest = unquote(raw.path).removeprefix(prefix).strip("/")
    return "" if rest in ("", "all") else rest


def _metric(raw: RawResponse) -> str:
    if raw.endpoint == "overview/dexs":
        return "dex_volume"
    return "revenue" if raw.request.get("dataType") == "dailyRevenue" else "fees"


def _chain_names(raws: Sequence[RawResponse]) -> dict[str, str]:
    """Lower-case chain name -> DefiLlama's display name, from /v2/chains in the batch."""
    return {chain.name.lower(): chain.name for raw in raws if raw.endpoint == "v2/chains" for chain in parse(raw)}


def write_capital_base(conn: sqlite3.Connection, raws: Sequence[RawResponse], ts_ms: int) -> list[Load]:
    """Chains and stablecoins, each response on its own (a refused one is reported after the other is written)."""
    chain_lists, failures = parse_each(raws, "v2/chains", parse)
    stable_lists, refused = parse_each(raws, "stablecoins", parse)
    failures += refused
    nothing_valid(chain_lists + stable_lists, failures)
    chains = [(c.name, c.gecko_id, c.tokenSymbol, c.cmcId, None if c.chainId is None else str(c.chainId), c.tvl,
               ts_ms) for _, parsed in chain_lists for c in parsed]
    stables = []
    for _, parsed in stable_lists:
        for asset in parsed.peggedAssets:
            peg = asset.pegType
            prev = [(getattr(asset, f) or {}).get(peg) for f in
                    ("circulatingPrevDay", "circulatingPrevWeek", "circulatingPrevMonth")]
            stables.append((asset.id, asset.symbol, asset.name, asset.gecko_id, peg, asset.pegMechanism,
                            asset.circulating.get(peg, 0.0), *prev, asset.price, json.dumps(asset.chains), ts_ms))
    return finish(write_batch(conn, [(t.DL_CHAINS, chains), (t.DL_STABLECOINS, stables)]), failures,
                  len(chain_lists) + len(stable_lists))


def write_throughput_summary(conn: sqlite3.Connection, raws: Sequence[RawResponse], ts_ms: int) -> Load:
    """Fees, revenue and DEX volume summaries, each overview on its own (refused ones reported after the write)."""
    chain_lists, _ = parse_each(raws, "v2/chains", parse)
    names = {chain.name.lower(): chain.name for _, chains in chain_lists for chain in chains}
    views, failures = parse_each(raws, "overview/fees", parse)
    dexs, refused = parse_each(raws, "overview/dexs", parse)
    views, failures = views + dexs, failures + refused
    nothing_valid(views, failures)
    rows = []
    for raw, view in views:
        subject = _subject(raw, f"/overview/{raw.endpoint.split('/')[1]}")
        rows.append((_metric(raw), names.get(subject, view.chain or subject), ts_ms, view.total24h, view.total7d,
                     view.total30d, view.change_1d, view.change_7d, view.change_1m))
    return finish(write_batch(conn, [(t.DL_THROUGHPUT_SUMMARY, rows)]), failures, len(views))[0]


def write_history(conn: sqlite3.Connection, raws: Sequence[RawResponse], start_ms: int, end_ms: int) -> list[Load]:
    """Daily TVL, stablecoin supply (USD, all peg types), throughput, and capital flows for days in
    [start_ms, end_ms). The API returns whole series, so flows have their 1d/7d/30d look-back even at the
    window's first day."""
    names = _chain_names(raws)
    series: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)  # (kind, subject) -> day -> USD
    throughput = []
    inside = range(start_ms, end_ms)
    for raw in raws:
        if raw.endpoint == "v2/historicalChainTvl":
            series["tvl", _subject(raw, "/v2/historicalChainTvl")].update((p.date, p.tvl) for p in parse(raw))
        elif raw.endpoint == "stablecoincharts":
            series["stablecoins", _subject(raw, "/stablecoincharts")].update(
                (p.date, sum(p.totalCirculatingUSD.values())) for p in parse(raw))
        elif raw.endpoint in ("overview/fees", "overview/dexs"):
            view = parse(raw)
            subject = _subject(raw, f"/overview/{raw.endpoint.split('/')[1]}")
            subject = names.get(subject, view.chain or subject)
            throughput += [(_metric(raw), subject, day, value) for day, value in view.totalDataChart if day in inside]
    tvl = [(subject, day, v) for (kind, subject), days in series.items() if kind == "tvl"
           for day, v in days.items() if day in inside]
    supply = [(subject, day, v) for (kind, subject), days in series.items() if kind == "stablecoins"
              for day, v in days.items() if day in inside]
    flows = [(kind, subject, day, *flow(days, day)) for (kind, subject), days in series.items()
             for day in days if day in inside]
    return write_batch(conn, [(t.DL_TVL, tvl), (t.DL_STABLECOIN_SUPPLY, supply), (t.DL_THROUGHPUT, throughput),
                              (t.DL_FLOWS, flows)])


def flow(values: dict[int, float], day: int) -> tuple:
    """(value, change over 1d/7d/30d in USD, the same in %) of a daily series at `day`; None where the past day
    is missing (or zero, for %)."""
    value = values[day]
    past = [values.get(day - n * DAY_MS) for n in FLOW_DAYS]
    return (value, *[None if p is None else value - p for p in past],
            *[None if not p else (value - p) / p * 100 for p in past])


def write_links(conn: sqlite3.Connection, overrides: Overrides, ts_ms: int) -> Load:
    """Links from every symbol of the trade universe to DefiLlama chains and stablecoins; a current view."""
    symbols = base_symbols(conn.execute("SELECT coin, kind, base, quote FROM hl_assets"))
    chains = [ChainInfo(*row) for row in conn.execute("SELECT name, token_symbol, gecko_id FROM dl_chains")]
    stables = [symbol for (symbol,) in conn.execute("SELECT symbol FROM dl_stablecoins")]
    rows = [(*link, ts_ms) for link in derive_links(symbols, chains, stables, overrides)]
    return write_batch(conn, [(t.DL_ASSET_LINKS, rows)],
                       then=[("DELETE FROM dl_asset_links WHERE updated_ms < ?", (ts_ms,))])[0]
