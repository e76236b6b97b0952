"""A seeded, deterministic stand-in for Hyperliquid's `info` endpoint, in the exact wire format.

It answers any request: the universe (perps on the first dex and two builder dexes, spot pairs with USDC,
USDH and USDT0 quotes), mids, contexts, books, predicted fundings, categories, and candle and funding
history for any coin and range. Magnitudes follow the real recordings: prices with at most five significant
figures and `6 - szDecimals` decimals as decimal strings, hourly funding near 0.0000125, funding `time` a few
milliseconds past the hour, 20 book levels a side.

Prices are a pure function of (coin, time): a sum of value-noise octaves, so any candle can be generated on its
own, pages agree with each other, and the same request always gets the same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from clash_pipeline.sources.replay import NotFound
from clash_pipeline.timeutil import HOUR_MS, MINUTE_MS, interval_ms, now_ms

SEED = 20261128
FUNDING_PAGE = 500


@dataclass(frozen=True)
class Perp:
    name: str
    sz_decimals: int
    max_leverage: int
    price: float
    daily_vol: float = 0.03
    minute_volume: float = 1.0  # base units per minute, roughly


PERPS = (
    Perp("BTC", 5, 40, 91000.0, 0.025, 25.0),
    Perp("ETH", 4, 25, 3050.0, 0.035, 400.0),
    Perp("SOL", 2, 20, 138.0, 0.045, 5000.0),
    Perp("HYPE", 2, 10, 34.0, 0.06, 20000.0),
    Perp("XRP", 0, 20, 2.2, 0.04, 200000.0),
    Perp("DOGE", 0, 10, 0.16, 0.05, 2e6),
    Perp("AVAX", 2, 10, 14.0, 0.05, 8000.0),
    Perp("LINK", 1, 10, 14.5, 0.05, 9000.0),
    Perp("ARB", 1, 10, 0.26, 0.06, 400000.0),
    Perp("OP", 1, 10, 0.42, 0.06, 200000.0),
    Perp("SUI", 1, 10, 1.7, 0.06, 100000.0),
    Perp("AAVE", 2, 10, 175.0, 0.05, 600.0),
    Perp("UNI", 1, 10, 6.1, 0.05, 20000.0),
    Perp("PENDLE", 0, 5, 2.6, 0.06, 30000.0),
    Perp("TAO", 3, 5, 285.0, 0.06, 200.0),
    Perp("FET", 0, 5, 0.25, 0.07, 300000.0),
    Perp("WLD", 1, 10, 0.62, 0.07, 200000.0),
    Perp("IMX", 1, 5, 0.31, 0.07, 100000.0),
    Perp("kPEPE", 0, 10, 0.0058, 0.08, 3e7),
    Perp("FARTCOIN", 1, 10, 0.31, 0.09, 500000.0),
    Perp("MATIC", 1, 20, 0.38, 0.05, 0.0),  # delisted: stays in the universe
)
BUILDER_PERPS = {
    "xyz": (
        Perp("xyz:TSLA", 3, 10, 410.0, 0.03, 300.0),
        Perp("xyz:NVDA", 3, 10, 182.0, 0.025, 800.0),
        Perp("xyz:XYZ100", 4, 20, 25100.0, 0.012, 5.0),
        Perp("xyz:GOLD", 4, 20, 4050.0, 0.01, 20.0),
        Perp("xyz:EUR", 1, 50, 1.16, 0.004, 80000.0),
    ),
    "vntl": (Perp("vntl:SPACEX", 2, 3, 420.0, 0.02, 50.0),),
}
DEX_COLLATERAL = {"xyz": 0, "vntl": 360}
CATEGORIES = {
    "TAO": "ai", "FET": "ai", "WLD": "ai", "AAVE": "defi", "UNI": "defi", "PENDLE": "defi", "IMX": "gaming",
    "kPEPE": "meme", "DOGE": "meme", "FARTCOIN": "meme", "ARB": "layer2", "OP": "layer2",
    "xyz:TSLA": "stocks", "xyz:NVDA": "stocks", "xyz:XYZ100": "indices", "xyz:GOLD": "commodities",
    "xyz:EUR": "fx", "vntl:SPACEX": "preipo",
}
# (index, name, szDecimals, weiDecimals, price in USD)
SPOT_TOKENS = (
    (0, "USDC", 8, 8, 1.0), (1, "PURR", 0, 5, 0.113), (150, "HYPE", 2, 8, 34.0), (197, "UBTC", 5, 10, 91000.0),
    (221, "UETH", 4, 9, 3050.0), (268, "USDT0", 2, 8, 1.0), (360, "USDH", 2, 8, 1.0),
)
# (pair index, base token index, quote token index)
SPOT_PAIRS = ((0, 1, 0), (107, 150, 0), (142, 197, 0), (151, 221, 0), (166, 268, 0), (230, 360, 0), (232, 150, 360),
              (240, 150, 268))
SPOT_UNDERLYING = {"UBTC": "BTC", "UETH": "ETH"}  # a spot token that follows a perp's price path
SPOT_MAX_DECIMALS = 8

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))


def _uniform(seed: int, keys: np.ndarray) -> np.ndarray:
    """Deterministic uniforms in [0, 1) for integer keys."""
    with np.errstate(over="ignore"):
        mixed = _splitmix(keys.astype(np.uint64) * np.uint64(0x2545F4914F6CDD1D) + np.uint64(seed))
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _coin_seed(coin: str, salt: str = "") -> int:
    seed = SEED
    for ch in f"{salt}:{coin}":
        seed = (seed * 1_000_003 + ord(ch)) & 0xFFFFFFFF
    return seed


OCTAVES = ((30 * 24 * HOUR_MS, 4.0), (5 * 24 * HOUR_MS, 1.6), (24 * HOUR_MS, 1.0), (4 * HOUR_MS, 0.45),
           (HOUR_MS, 0.22), (15 * MINUTE_MS, 0.1), (3 * MINUTE_MS, 0.05), (MINUTE_MS, 0.03))


class HyperliquidReplay:
    """Answers `info` requests; `clock` fixes "now" for snapshot endpoints (mids, contexts, books)."""

    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self.clock = clock
        self.perps = {p.name: p for p in PERPS}
        for perps in BUILDER_PERPS.values():
            self.perps.update({p.name: p for p in perps})

    # -- the price model -------------------------------------------------------------------------------------
    @staticmethod
    def _spot_pair(coin: str) -> tuple[int, int, int] | None:
        """The (pair index, base token, quote token) of a spot coin (`PURR/USDC`, `@107`), else None."""
        index = 0 if coin == "PURR/USDC" else int(coin[1:]) if coin[:1] == "@" and coin[1:].isdigit() else None
        return next((pair for pair in SPOT_PAIRS if pair[0] == index), None)

    def _perp(self, coin: str) -> Perp:
        """The market parameters of a coin: a perp's own; a spot pair's from its base token (lot decimals) and
        the perp its base follows (volatility)."""
        if coin in self.perps:
            return self.perps[coin]
        pair = self._spot_pair(coin)
        if pair is not None:
            tokens = {i: (name, szd) for i, name, szd, _, _ in SPOT_TOKENS}
            name, szd = tokens[pair[1]]
            follows = self.perps.get(SPOT_UNDERLYING.get(name, name))
            price = self._spot_prices(pair[0], np.array([0]))[0]
            return Perp(coin, szd, 1, price, follows.daily_vol if follows else 0.0, 250_000 / max(price, 1) / 1440)
        u = _uniform(_coin_seed(coin, "new"), np.arange(3))
        return Perp(coin, int(u[0] * 3), 10, float(10 ** (u[1] * 5 - 2)), 0.05, 1000.0)

    def prices(self, coin: str, times: np.ndarray) -> np.ndarray:
        """Mid price of `coin` at each time (ms), deterministic (a spot pair's follows its base token)."""
        pair = self._spot_pair(coin)
        if pair is not None:
            return self._spot_prices(pair[0], times)
        perp = self._perp(coin)
        seed = _coin_seed(coin)
        t = times.astype(np.int64)
        log_move = np.zeros(len(t))
        for octave, (scale, weight) in enumerate(OCTAVES):
            knot, frac = np.divmod(t, scale)
            frac = frac / scale
            smooth = frac * frac * (3 - 2 * frac)
            a = _uniform(seed + octave, knot) * 2 - 1
            b = _uniform(seed + octave, knot + 1) * 2 - 1
            log_move += weight * (a + (b - a) * smooth)
        return perp.price * np.exp(perp.daily_vol * 0.5 * log_move)

    def _max_decimals(self, coin: str) -> int:
        return SPOT_MAX_DECIMALS if self._spot_pair(coin) else 6

    def _px(self, coin: str, value: float) -> str:
        """A price as Hyperliquid formats it: at most 5 significant figures and 6 (spot: 8) - szDecimals decimals."""
        return _price_str(value, self._perp(coin).sz_decimals, self._max_decimals(coin))

    # -- dispatch ---------------------------------------------------------------------------------------------
    def __call__(self, method: str, path: str, request: dict) -> bytes:
        info_type = request.get("type")
        handler = getattr(self, f"_{info_type}", None)
        if method != "POST" or path.rstrip("/") != "/info" or handler is None:
            raise NotFound(f"no generator for {method} {path} {info_type!r}")
        return handler(request)

    # -- history ----------------------------------------------------------------------------------------------
    def _candleSnapshot(self, request: dict) -> bytes:
        req = request["req"]
        coin, interval = req["coin"], req["interval"]
        step = interval_ms(interval)
        start = req["startTime"] - req["startTime"] % step
        end = min(req.get("endTime", self.clock()), self.clock())
        opens = np.arange(start, end + 1, step, dtype=np.int64)[:5000]
        if len(opens) == 0:
            return b"[]"
        perp = self._perp(coin)
        inner = np.linspace(0, step, 5)
        samples = self.prices(coin, (opens[:, None] + inner[None, :]).ravel()).reshape(len(opens), 5)
        seed = _coin_seed(coin, interval)
        wick = _uniform(seed, opens // step) * 0.0006 * np.sqrt(step / MINUTE_MS) * perp.daily_vol / 0.03
        highs = samples.max(axis=1) * (1 + wick)
        lows = samples.min(axis=1) * (1 - wick * _uniform(seed + 1, opens // step))
        volumes = perp.minute_volume * (step / MINUTE_MS) * (0.3 + 1.4 * _uniform(seed + 2, opens // step))
        trades = (10 + volumes / max(perp.minute_volume, 1e-9) * 40).astype(np.int64)
        szd, most = perp.sz_decimals, self._max_decimals(coin)
        o, c = _price_strs(samples[:, 0], szd, most), _price_strs(samples[:, -1], szd, most)
        h = _price_strs(np.maximum(highs, np.maximum(samples[:, 0], samples[:, -1])), szd, most)
        lo = _price_strs(np.minimum(lows, np.minimum(samples[:, 0], samples[:, -1])), szd, most)
        v = [repr(round(x, szd)) for x in volumes.tolist()]
        parts = [
            f'{{"t":{t},"T":{t + step - 1},"s":"{coin}","i":"{interval}","o":"{o[i]}","c":"{c[i]}",'
            f'"h":"{h[i]}","l":"{lo[i]}","v":"{v[i]}","n":{n}}}'
            for i, (t, n) in enumerate(zip(opens.tolist(), trades.tolist()))
        ]
        return ("[" + ",".join(parts) + "]").encode()

    def _fundingHistory(self, request: dict) -> bytes:
        coin = request["coin"]
        if self._spot_pair(coin) is not None:
            return b"[]"  # spot has no funding [UNCONFIRMED: what the API answers for a spot coin]
        end = min(request.get("endTime", self.clock()), self.clock())
        first_hour = -(-request["startTime"] // HOUR_MS) * HOUR_MS
        hours = np.arange(first_hour, end + 1, HOUR_MS, dtype=np.int64)[:FUNDING_PAGE]
        seed = _coin_seed(coin, "funding")
        premium = (_uniform(seed, hours // HOUR_MS) - 0.45) * 0.0008
        rates = premium + np.clip(0.0000125 - premium, -0.0005, 0.0005) / 8 + premium * 0.05
        times = hours + (_uniform(seed + 1, hours // HOUR_MS) * 400).astype(np.int64)
        rows = [
            {"coin": coin, "fundingRate": _rate_str(rates[i]), "premium": _rate_str(premium[i]), "time": t}
            for i, t in enumerate(times.tolist())
            if request["startTime"] <= t <= end
        ]
        return json.dumps(rows, separators=(",", ":")).encode()

    # -- universe ---------------------------------------------------------------------------------------------
    def _dex_perps(self, dex: str) -> tuple[Perp, ...]:
        return BUILDER_PERPS.get(dex, ()) if dex else PERPS

    def _meta_dict(self, dex: str) -> dict:
        universe = []
        for perp in self._dex_perps(dex):
            asset: dict = {"szDecimals": perp.sz_decimals, "name": perp.name, "maxLeverage": perp.max_leverage,
                           "marginTableId": 56 if perp.name == "BTC" else 55 if perp.name == "ETH" else perp.max_leverage}
            if perp.minute_volume == 0:
                asset["isDelisted"] = True
            if dex:
                asset["marginMode"] = "strictIsolated"
                asset["growthMode"] = "enabled"
                asset["marginTableId"] = perp.max_leverage
            universe.append(asset)
        meta: dict = {"universe": universe}
        if dex:
            meta["collateralToken"] = DEX_COLLATERAL[dex]
        else:
            meta["marginTables"] = [
                [55, {"description": "tiered 25x", "marginTiers": [
                    {"lowerBound": "0.0", "maxLeverage": 25}, {"lowerBound": "100000000.0", "maxLeverage": 15}]}],
                [56, {"description": "tiered 40x", "marginTiers": [
                    {"lowerBound": "0.0", "maxLeverage": 40}, {"lowerBound": "150000000.0", "maxLeverage": 20}]}],
            ]
        return meta

    def _meta(self, request: dict) -> bytes:
        return _dumps(self._meta_dict(request.get("dex", "")))

    def _perp_ctx(self, perp: Perp, now: int) -> dict:
        mark, prev, oracle_base = self.prices(perp.name, np.array([now, now - 24 * HOUR_MS, now - 7_000])).tolist()
        u = _uniform(_coin_seed(perp.name, "ctx"), np.array([now // MINUTE_MS, now // HOUR_MS, 1, 2])).tolist()
        if perp.minute_volume == 0:
            return {"funding": "0.0", "openInterest": "0.0", "prevDayPx": self._px(perp.name, prev),
                    "dayNtlVlm": "0.0", "premium": None, "oraclePx": self._px(perp.name, mark),
                    "markPx": self._px(perp.name, mark), "midPx": None, "impactPxs": None, "dayBaseVlm": "0.0"}
        oracle = oracle_base * (1 + (u[0] - 0.5) * 0.0006)
        day_base = perp.minute_volume * 1440 * (0.6 + 0.8 * u[1])
        oi = day_base * (0.8 + 1.5 * u[2]) * (1 + 0.1 * math.sin(now / (6 * HOUR_MS)))
        spread = mark * 0.0001
        premium = (mark - oracle) / oracle
        return {
            "funding": _rate_str(0.0000125 + premium * 0.05), "openInterest": repr(round(oi, perp.sz_decimals)),
            "prevDayPx": self._px(perp.name, prev), "dayNtlVlm": f"{day_base * mark:.4f}",
            "premium": _rate_str(premium), "oraclePx": self._px(perp.name, oracle),
            "markPx": self._px(perp.name, mark), "midPx": self._px(perp.name, mark),
            "impactPxs": [self._px(perp.name, mark - spread), self._px(perp.name, mark + spread)],
            "dayBaseVlm": repr(round(day_base, perp.sz_decimals)),
        }

    def _metaAndAssetCtxs(self, request: dict) -> bytes:
        dex, now = request.get("dex", ""), self.clock()
        return _dumps([self._meta_dict(dex), [self._perp_ctx(p, now) for p in self._dex_perps(dex)]])

    def _spot_meta_dict(self) -> dict:
        tokens = [{"name": name, "szDecimals": szd, "weiDecimals": wei, "index": i,
                   "tokenId": f"0x{_coin_seed(name, 'token'):032x}", "isCanonical": i in (0, 1), "evmContract": None,
                   "fullName": None, "deployerTradingFeeShare": "0.0"} for i, name, szd, wei, _ in SPOT_TOKENS]
        universe = [{"tokens": [base, quote], "name": "PURR/USDC" if index == 0 else f"@{index}", "index": index,
                     "isCanonical": index == 0} for index, base, quote in SPOT_PAIRS]
        return {"universe": universe, "tokens": tokens}

    def _spotMeta(self, request: dict) -> bytes:
        return _dumps(self._spot_meta_dict())

    def _spot_prices(self, index: int, times: np.ndarray) -> np.ndarray:
        """A pair's price at each time: its base token's price (moving with the perp it follows) in its quote."""
        tokens = {i: (name, price) for i, name, _, _, price in SPOT_TOKENS}
        _, base, quote = next(p for p in SPOT_PAIRS if p[0] == index)
        base_name, base_price = tokens[base]
        follows = SPOT_UNDERLYING.get(base_name, base_name)
        drift = (self.prices(follows, times) / self.perps[follows].price if follows in self.perps
                 else np.ones(len(times)))
        return base_price * drift / tokens[quote][1]

    def _spot_price(self, index: int, now: int) -> float:
        return float(self._spot_prices(index, np.array([now]))[0])

    def _spotMetaAndAssetCtxs(self, request: dict) -> bytes:
        now, ctxs = self.clock(), []
        szd = {i: s for i, _, s, _, _ in SPOT_TOKENS}
        for index, base, _ in SPOT_PAIRS:
            px = self._spot_price(index, now)
            prev = px * (1 + (_uniform(index, np.array([now // HOUR_MS]))[0] - 0.5) * 0.04)
            fmt = lambda v: _price_str(v, szd[base], max_decimals=8)  # noqa: E731
            ctxs.append({"prevDayPx": fmt(prev), "dayNtlVlm": f"{px * 250000 / max(px, 1):.4f}", "markPx": fmt(px),
                         "midPx": fmt(px), "circulatingSupply": "1000000000.0",
                         "coin": "PURR/USDC" if index == 0 else f"@{index}", "totalSupply": "1000000000.0",
                         "dayBaseVlm": f"{250000 / max(px, 1):.2f}"})
        return _dumps([self._spot_meta_dict(), ctxs])

    # -- snapshots --------------------------------------------------------------------------------------------
    def _allMids(self, request: dict) -> bytes:
        dex, now = request.get("dex", ""), self.clock()
        mids = {p.name: self._px(p.name, self.prices(p.name, np.array([now]))[0]) for p in self._dex_perps(dex)}
        if not dex:
            szd = {i: s for i, _, s, _, _ in SPOT_TOKENS}
            for index, base, _ in SPOT_PAIRS:
                name = "PURR/USDC" if index == 0 else f"@{index}"
                mids[name] = _price_str(self._spot_price(index, now), szd[base], max_decimals=8)
        return _dumps(mids)

    def _l2Book(self, request: dict) -> bytes:
        coin, now = request["coin"], self.clock()
        perp = self._perp(coin)
        mid = self.prices(coin, np.array([now]))[0]
        u = _uniform(_coin_seed(coin, "book"), np.arange(now // 1000 * 64, now // 1000 * 64 + 64))
        tick = 10 ** -(max(0, self._max_decimals(coin) - perp.sz_decimals))
        sig_tick = 10 ** (np.floor(np.log10(mid)) - 4)
        step = max(tick, sig_tick)
        notional = perp.minute_volume * mid * 3 if perp.minute_volume else 1000.0
        sides = []
        for side, sign in ((0, -1), (1, 1)):
            levels, px = [], mid
            for level in range(20):
                px = px + sign * step * (1 + int(u[side * 32 + level] * 4)) if level else mid + sign * step
                size = notional / mid * (0.2 + u[side * 32 + level] * 1.5) * (1 + level * 0.15)
                levels.append({"px": self._px(coin, px), "sz": f"{size:.{perp.sz_decimals}f}",
                               "n": 1 + int(u[side * 32 + (level + 7) % 32] * 6)})
            sides.append(levels)
        return _dumps({"coin": coin, "time": now, "levels": sides})

    def _predictedFundings(self, request: dict) -> bytes:
        now = self.clock()
        next_hour = (now // HOUR_MS + 1) * HOUR_MS
        out = []
        for perp in PERPS:
            u = _uniform(_coin_seed(perp.name, "predicted"), np.array([now // HOUR_MS, 1, 2]))
            venues = [["BinPerp", {"fundingRate": _rate_str((u[0] - 0.4) * 0.0002), "nextFundingTime": next_hour + 7 * HOUR_MS}],
                      ["HlPerp", {"fundingRate": _rate_str(0.0000125 + (u[1] - 0.5) * 0.00002), "nextFundingTime": next_hour}],
                      ["BybitPerp", {"fundingRate": _rate_str((u[2] - 0.4) * 0.0002), "nextFundingTime": next_hour + 7 * HOUR_MS}]]
            out.append([perp.name, venues])
        return _dumps(out)

    def _perpDexs(self, request: dict) -> bytes:
        dexes = [None] + [{"name": dex, "fullName": dex.upper(), "deployer": f"0x{_coin_seed(dex):040x}",
                           "oracleUpdater": None, "feeRecipient": None, "assetToStreamingOiCap": [],
                           "assetToFundingMultiplier": []} for dex in BUILDER_PERPS]
        return _dumps(dexes)

    def _perpCategories(self, request: dict) -> bytes:
        return _dumps([[coin, category] for coin, category in CATEGORIES.items()])

    def _perpConciseAnnotations(self, request: dict) -> bytes:
        return _dumps([[coin, {"category": category}] for coin, category in CATEGORIES.items()])


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _price_str(value: float, sz_decimals: int, max_decimals: int = 6) -> str:
    """Round to Hyperliquid's tick rule and format as the API does ("30135.0", "0.001604")."""
    value = float(value)
    if value >= 100_000:
        return repr(float(round(value)))
    magnitude = int(np.floor(np.log10(abs(value)))) if value else 0
    decimals = max(0, min(max_decimals - sz_decimals, 4 - magnitude))
    return repr(round(value, decimals))


def _price_strs(values: np.ndarray, sz_decimals: int, max_decimals: int = 6) -> list[str]:
    """`_price_str` over an array, with the rounding rule computed in numpy."""
    magnitude = np.floor(np.log10(np.abs(values)))
    decimals = np.clip(np.minimum(max_decimals - sz_decimals, 4 - magnitude), 0, None)
    decimals = np.where(values >= 100_000, 0, decimals).astype(np.int64)
    return [repr(float(round(v, d))) for v, d in zip(values.tolist(), decimals.tolist())]


def _rate_str(value: float) -> str:
    text = f"{float(value):.10f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
