"""What each stage reads, in one place, so the asset graph is the data flow: the three APIs as external assets,
and the market-memory reads that decisions, paper marks, backtests and the arena share.

Daily history feeds stages that are not daily (a decision, a mark) through `LastPartitionMapping`: they read the
newest stored days. The volatility of a day reads the candles of its look-back window (`volatility_candles`).
"""

import math

import dagster as dg

from clash_pipeline.market.volatility import WINDOWS
from clash_pipeline.settings import load_settings
from clash_pipeline.timeutil import DAY_MS, interval_ms

GROUP = "sources"

hyperliquid_api = dg.AssetSpec(
    "hyperliquid_api", group_name=GROUP, kinds={"hyperliquid"},
    description="The Hyperliquid info API (POST /info): meta, contexts, mids, books, candles, funding. External: "
                "Dagster never materializes it; the raw pulls read it.")
polymarket_api = dg.AssetSpec(
    "polymarket_api", group_name=GROUP, kinds={"polymarket"},
    description="Polymarket's Gamma (markets, search) and CLOB (books) APIs. External: the raw pull reads it.")
defillama_api = dg.AssetSpec(
    "defillama_api", group_name=GROUP, kinds={"defillama"},
    description="DefiLlama's TVL, stablecoin and fees/volume APIs. External: the raw pulls read it.")
apis = [hyperliquid_api, polymarket_api, defillama_api]


def volatility_lookback_days() -> int:
    """Days of candles before a day that its volatility profile reads: the longest window at the longest
    configured interval."""
    longest = max(interval_ms(interval) for interval in load_settings().intervals)
    return math.ceil((max(WINDOWS) + 1) * longest / DAY_MS)


def volatility_candles() -> dg.AssetDep:
    """A volatility day reads its own day's candles and those of the look-back window before it."""
    return dg.AssetDep("hyperliquid_candles", partition_mapping=dg.TimeWindowPartitionMapping(
        start_offset=-volatility_lookback_days(), allow_nonexistent_upstream_partitions=True))


def newest(key: str) -> dg.AssetDep:
    """A non-daily stage reading the newest stored days of a daily history asset."""
    return dg.AssetDep(key, partition_mapping=dg.LastPartitionMapping())


def every_partition(key: str) -> dg.AssetDep:
    """A stage reading all partitions of `key` (where Dagster would otherwise infer an identity mapping)."""
    return dg.AssetDep(key, partition_mapping=dg.AllPartitionMapping())


SNAPSHOT_TABLES = ["hyperliquid_asset_universe", "hyperliquid_mids", "hyperliquid_asset_contexts",
                   "hyperliquid_liquidity", "hyperliquid_funding_pressure", "polymarket_markets", "polymarket_books",
                   "defillama_capital_base", "defillama_throughput", "defillama_asset_links"]
HISTORY_TABLES = ["hyperliquid_candles", "hyperliquid_funding_history", "hyperliquid_volatility", "defillama_history"]


def market_memory_reads() -> list[dg.AssetDep | str]:
    """What a context packet reads: every snapshot table, and the newest days of every history table."""
    return [*SNAPSHOT_TABLES, *(newest(key) for key in HISTORY_TABLES)]


def history_reads() -> list[dg.AssetDep]:
    """What a replay over stored history reads (a backtest, an audition, a race): the whole history."""
    return [every_partition(key) for key in HISTORY_TABLES]


def mark_reads() -> list[dg.AssetDep | str]:
    """What a paper mark reads besides the orders: prices, books, funding, and the universe's rules."""
    return ["hyperliquid_asset_universe", "hyperliquid_mids", "hyperliquid_asset_contexts", "hyperliquid_liquidity",
            newest("hyperliquid_candles"), newest("hyperliquid_funding_history")]


defs = dg.Definitions(assets=apis)
