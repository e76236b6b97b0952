"""A seeded, deterministic stand-in for api.llama.fi and stablecoins.llama.fi, in the documented shapes.

Only an old `/v2/chains` was ever recorded, so every other endpoint is generated from the OpenAPI spec and the
official SDK's types: daily series at 00:00 UTC (the current day partial), Unix seconds as ints in TVL and
dimension charts and as strings in stablecoin charts, nullable `gecko_id`/`tokenSymbol`/`cmcId`, a `chainId`
that is a number, a string or null. Values are a smooth pseudo-random walk per (subject, day).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from urllib.parse import unquote

from clash_pipeline.sources.replay import NotFound
from clash_pipeline.timeutil import DAY_MS, now_ms

# name, gecko_id, tokenSymbol, cmcId, chainId, TVL (USD), stablecoins (USD), daily fees (USD), daily DEX volume
CHAINS = (
    ("Ethereum", "ethereum", "ETH", "1027", 1, 6.2e10, 1.6e11, 4.0e6, 1.5e9),
    ("Solana", "solana", "SOL", "5426", None, 9.5e9, 1.3e10, 5.0e6, 2.5e9),
    ("Bitcoin", "bitcoin", "BTC", "1", None, 6.5e9, 1.0e6, 8.0e5, 2.0e6),
    ("Hyperliquid L1", "hyperliquid", "HYPE", "32196", 999, 2.1e9, 5.5e9, 3.0e6, 6.0e8),
    ("Arbitrum", None, None, None, 42161, 2.8e9, 8.5e9, 3.0e5, 5.0e8),
    ("Base", None, None, None, 8453, 4.5e9, 4.2e9, 1.2e6, 1.1e9),
    ("BSC", "binancecoin", "BNB", "1839", 56, 6.0e9, 1.1e10, 1.5e6, 1.8e9),
    ("Tron", "tron", "TRX", "1958", None, 4.8e9, 7.8e10, 2.0e6, 1.0e8),
    ("Avalanche", "avalanche-2", "AVAX", "5805", 43114, 1.5e9, 2.0e9, 1.0e5, 1.5e8),
    ("Sui", "sui", "SUI", "20947", None, 1.2e9, 8.0e8, 2.0e5, 2.0e8),
    ("Optimism", "optimism", "OP", "11840", 10, 6.0e8, 6.0e8, 5.0e4, 5.0e7),
    ("Evmos", "evmos", "EVMOS", None, "9001", 1.9e6, 1.0e5, 1.0e2, 1.0e4),
)
# id, name, symbol, gecko_id, pegType, mechanism, circulating (peg units), price
STABLECOINS = (
    ("1", "Tether", "USDT", "tether", "peggedUSD", "fiat-backed", 1.84e11, 1.0),
    ("2", "USD Coin", "USDC", "usd-coin", "peggedUSD", "fiat-backed", 7.6e10, 1.0),
    ("146", "Ethena USDe", "USDE", "ethena-usde", "peggedUSD", "crypto-backed", 9.0e9, 0.999),
    ("5", "Dai", "DAI", "dai", "peggedUSD", "crypto-backed", 5.0e9, 1.0),
    ("262", "USDH", "USDH", None, "peggedUSD", "fiat-backed", 3.0e8, 1.0),
    ("50", "Euro Coin", "EURC", "euro-coin", "peggedEUR", "fiat-backed", 2.5e8, 1.16),
)
PROTOCOLS = (("Aave", "AAVE", "aave", "Lending"), ("Lido", "LDO", "lido-dao", "Liquid Staking"),
             ("Uniswap", "UNI", "uniswap", "Dexes"), ("Hyperliquid", "HYPE", "hyperliquid", "Derivatives"),
             ("Pendle", "PENDLE", "pendle", "Yield"), ("Jupiter", "JUP", "jupiter-exchange-solana", "Dexes"))
HISTORY_START_S = 1_672_531_200  # 2023-01-01


def _u(*parts: object) -> float:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big") / 2**64


def _walk(subject: str, day: int) -> float:
    """A smooth multiplicative walk around 1.0 for a subject and day number."""
    total = 0.0
    for scale, weight in ((180, 0.25), (30, 0.08), (7, 0.03), (1, 0.01)):
        knot, frac = divmod(day, scale)
        frac /= scale
        smooth = frac * frac * (3 - 2 * frac)
        a, b = _u(subject, scale, knot) * 2 - 1, _u(subject, scale, knot + 1) * 2 - 1
        total += weight * (a + (b - a) * smooth)
    return math.exp(total)


class DefiLlamaReplay:
    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self.clock = clock

    def _days(self) -> list[int]:
        today = self.clock() // DAY_MS
        return list(range(HISTORY_START_S // 86_400, today + 1))

    def _series(self, subject: str, base: float) -> list[tuple[int, float]]:
        return [(day * 86_400, round(base * _walk(subject, day), 2)) for day in self._days()]

    def api(self, method: str, path: str, request: dict) -> bytes:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        today = self.clock() // DAY_MS
        chains = {c[0]: c for c in CHAINS}
        if parts == ["v2", "chains"]:
            return _dumps([{"gecko_id": g, "tvl": round(tvl * _walk(n + "tvl", today), 2), "tokenSymbol": s,
                            "cmcId": cmc, "name": n, "chainId": cid} for n, g, s, cmc, cid, tvl, *_ in CHAINS])
        if parts[:2] == ["v2", "historicalChainTvl"]:
            if len(parts) == 3:
                chain = chains.get(parts[2])
                series = self._series(parts[2] + "tvl", chain[5]) if chain else []
            else:
                series = self._series("all-tvl", sum(c[5] for c in CHAINS) * 1.4)
            return _dumps([{"date": d, "tvl": v} for d, v in series])
        if parts == ["protocols"]:
            return _dumps([{"id": str(i), "name": n, "symbol": s, "gecko_id": g, "category": cat,
                            "chains": ["Ethereum", "Arbitrum"], "chain": "Multi-Chain",
                            "tvl": round(2e9 * _walk(n, today), 2), "chainTvls": {"Ethereum": 1e9, "Ethereum-staking": 1e8},
                            "change_1d": round(_u(n, today) - 0.5, 3), "mcap": None}
                           for i, (n, s, g, cat) in enumerate(PROTOCOLS)])
        if parts[0] == "overview" and len(parts) in (2, 3):
            kind = parts[1]
            chain = next((c for c in CHAINS if len(parts) == 3 and c[0].lower() == parts[2]), None)
            if len(parts) == 3 and chain is None:
                raise NotFound("chain not found")
            column = 7 if kind == "fees" else 8
            base = chain[column] if chain else sum(c[column] for c in CHAINS) * 1.5
            if request.get("dataType") == "dailyRevenue":
                base *= 0.4
            subject = f"{kind}-{request.get('dataType', '')}-{chain[0] if chain else 'all'}"
            series = self._series(subject, base)
            values = [v for _, v in series]
            body = {"chain": chain[0] if chain else None, "allChains": [c[0] for c in CHAINS],
                    "total24h": values[-2], "total48hto24h": values[-3], "total7d": round(sum(values[-8:-1]), 2),
                    "total30d": round(sum(values[-31:-1]), 2), "change_1d": round((values[-2] / values[-3] - 1) * 100, 2),
                    "change_7d": round((values[-2] / values[-9] - 1) * 100, 2),
                    "change_1m": round((values[-2] / values[-32] - 1) * 100, 2), "protocols": []}
            if str(request.get("excludeTotalDataChart", "true")).lower() == "false":
                body["totalDataChart"] = [[d, v] for d, v in series]
            return _dumps(body)
        raise NotFound(f"not found: {path}")

    def stablecoins(self, method: str, path: str, request: dict) -> bytes:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        today = self.clock() // DAY_MS
        chain_share = {c[0]: c[6] / sum(x[6] for x in CHAINS) for c in CHAINS}
        if parts == ["stablecoins"]:
            assets = []
            for sid, name, symbol, gecko, peg, mechanism, supply, price in STABLECOINS:
                now = round(supply * _walk(symbol, today), 2)
                assets.append({
                    "id": sid, "name": name, "symbol": symbol, "gecko_id": gecko, "pegType": peg,
                    "pegMechanism": mechanism, "circulating": {peg: now},
                    "circulatingPrevDay": {peg: round(supply * _walk(symbol, today - 1), 2)},
                    "circulatingPrevWeek": {peg: round(supply * _walk(symbol, today - 7), 2)},
                    "circulatingPrevMonth": {peg: round(supply * _walk(symbol, today - 30), 2)},
                    "chainCirculating": {c: {"current": {peg: round(now * share, 2)}} for c, share in chain_share.items()
                                         if share > 0},
                    "chains": [c for c, share in chain_share.items() if share > 0],
                    "price": price, "priceSource": "defillama",
                })
            return _dumps({"peggedAssets": assets})
        if parts[0] == "stablecoincharts" and len(parts) == 2:
            share = 1.0 if parts[1] == "all" else chain_share.get(parts[1])
            if share is None:
                return _dumps([])
            total = sum(s[6] * s[7] for s in STABLECOINS if s[4] == "peggedUSD")
            return _dumps([{"date": str(d), "totalCirculating": {"peggedUSD": v}, "totalCirculatingUSD": {
                "peggedUSD": v, "peggedEUR": round(v * 0.0013, 2)}}
                for d, v in self._series(f"stable-{parts[1]}", total * share)])
        if parts == ["stablecoinchains"]:
            total = sum(s[6] * s[7] for s in STABLECOINS if s[4] == "peggedUSD")
            return _dumps([{"gecko_id": g, "totalCirculatingUSD": {"peggedUSD": round(total * chain_share[n] * _walk(
                f"stable-{n}", today), 2)}, "tokenSymbol": s, "name": n}
                for n, g, s, *_ in CHAINS if chain_share[n] > 0])
        raise NotFound(f"not found: {path}")


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
