"""A seeded, deterministic stand-in for Polymarket's Gamma and CLOB APIs, in their wire formats.

The universe is a function of the hour: for each crypto symbol, short up/down markets that expire within hours,
daily "above $X" markets, a month-end "reach $X" market and markets closed in the past days; plus unrelated
politics and sports markets (team-name outcomes, a legacy ["0","0"] market) that linking must leave out.
Gamma filters (`closed`, `active`, `end_date_min/max`, `order`, `ascending`, `limit` capped at 100, `offset`),
public search, tags, and CLOB markets (cursor pages), books (levels in the recorded, reversed order), midpoints
and price histories are served from it, with the quirks of the real recordings (JSON arrays in strings,
`closedTime` as "YYYY-MM-DD HH:MM:SS+00", `active` true after close, volume as strings).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from clash_pipeline.sources.replay import NotFound
from clash_pipeline.timeutil import HOUR_MS, now_ms

CRYPTO = {"BTC": ("Bitcoin", 91000), "ETH": ("Ethereum", 3050), "SOL": ("Solana", 138), "HYPE": ("Hyperliquid", 34),
          "XRP": ("XRP", 2.2), "DOGE": ("Dogecoin", 0.16)}
TAGS = [{"id": "21", "label": "Crypto", "slug": "crypto"}, {"id": "235", "label": "Bitcoin", "slug": "bitcoin"},
        {"id": "39", "label": "Ethereum", "slug": "ethereum"}, {"id": "818", "label": "Solana", "slug": "solana"},
        {"id": "2", "label": "Politics", "slug": "politics"}, {"id": "100639", "label": "Sports", "slug": "sports"}]


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _u(*parts: object) -> float:
    return _h(*parts) / 2**64


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _closed_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def _token(*parts: object) -> str:
    """A CLOB token id: a 77-digit decimal string (too big for int64, kept as text)."""
    return ("1" + "".join(str(_h("token", i, *parts)) for i in range(5)))[:77]


class PolymarketReplay:
    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self.clock = clock

    # -- the universe -----------------------------------------------------------------------------------------
    def _market(self, slug: str, question: str, end: int, outcomes: list[str], closed_at: int | None,
                event: dict, volume: float, tags: list[dict], winner: int = 0) -> dict:
        yes = round(0.03 + 0.94 * _u(slug, "price"), 3)
        prices = ["1", "0"] if winner == 0 else ["0", "1"]
        if closed_at is None:
            prices = [str(yes), str(round(1 - yes, 3))]
        tokens = [_token(slug, i) for i in range(len(outcomes))]
        market = {
            "id": str(1_000_000 + _h(slug) % 900_000), "question": question,
            "conditionId": "0x" + hashlib.sha256(slug.encode()).hexdigest(), "slug": slug,
            "endDate": _iso(end), "liquidity": f"{volume * 0.3:.4f}", "volume": f"{volume:.6f}",
            "outcomes": json.dumps(outcomes), "outcomePrices": json.dumps(prices), "clobTokenIds": json.dumps(tokens),
            "active": True, "closed": closed_at is not None, "acceptingOrders": closed_at is None,
            "volumeNum": volume, "liquidityNum": round(volume * 0.3, 4), "volume24hr": round(volume * 0.2, 4),
            "orderPriceMinTickSize": 0.01, "orderMinSize": 5, "negRisk": False, "restricted": True,
            "bestBid": round(max(yes - 0.01, 0.0), 2), "bestAsk": round(min(yes + 0.01, 1.0), 2),
            "lastTradePrice": yes, "spread": 0.02, "umaResolutionStatuses": "[]",
            "events": [{**event, "tags": tags}],
        }
        if closed_at is not None:
            market["closedTime"] = _closed_time(closed_at)
        return market

    def universe(self) -> list[dict]:
        now = self.clock()
        hour = now - now % HOUR_MS
        markets = []
        for symbol, (name, price) in CRYPTO.items():
            tags = [TAGS[0]] + [t for t in TAGS if t["label"] == name]
            lower = name.lower()
            for step in (1, 2, 4):
                end = hour + step * HOUR_MS
                slug = f"{symbol.lower()}-updown-1h-{end // 1000}"
                event = {"id": str(_h(slug, "e") % 10**5), "slug": slug, "title": f"{name} Up or Down"}
                markets.append(self._market(slug, f"{name} Up or Down - {_iso(end - HOUR_MS)} to {_iso(end)}",
                                            end, ["Up", "Down"], None, event, 5000 + 40000 * _u(slug), tags))
            for days in (1, 2):
                day_end = (hour // (24 * HOUR_MS) + days) * 24 * HOUR_MS + 16 * HOUR_MS
                strike = round(price * (0.97 + 0.06 * _u(symbol, day_end)), 2 if price < 10 else None)
                date = datetime.fromtimestamp(day_end / 1000, tz=UTC).strftime("%B %-d")
                slug = f"{lower}-above-on-{date.lower().replace(' ', '-')}"
                event = {"id": str(_h(slug, "e") % 10**5), "slug": slug, "title": f"{name} above ___ on {date}?"}
                markets.append(self._market(slug, f"Will the price of {name} be above ${strike:,} on {date}?",
                                            day_end, ["Yes", "No"], None, event, 20000 + 90000 * _u(slug), tags))
            month_end = datetime.fromtimestamp(hour / 1000, tz=UTC).replace(day=1) + timedelta(days=32)
            month_end = month_end.replace(day=1, hour=4)
            slug = f"what-price-will-{lower}-hit-in-{month_end.strftime('%B').lower()}"
            event = {"id": str(_h(slug, "e") % 10**5), "slug": slug, "title": f"What price will {name} hit?"}
            markets.append(self._market(slug, f"Will {name} reach ${round(price * 1.15):,} by {month_end:%B %-d}?",
                                        int(month_end.timestamp() * 1000), ["Yes", "No"], None, event,
                                        200000 + 500000 * _u(slug), tags))
            for days_ago in (1, 3, 9):
                closed = hour - days_ago * 24 * HOUR_MS + 4 * HOUR_MS
                slug = f"{symbol.lower()}-updown-daily-{closed // 1000}"
                event = {"id": str(_h(slug, "e") % 10**5), "slug": slug, "title": f"{name} Up or Down daily"}
                markets.append(self._market(slug, f"{name} Up or Down on {_iso(closed)[:10]}?", closed,
                                            ["Up", "Down"], closed + 120_000, event, 30000 * (1 + _u(slug)), tags,
                                            winner=_h(slug) % 2))
        politics = {"id": "30829", "slug": "fed-decision", "title": "Fed decision"}
        markets.append(self._market("fed-cuts-rates", "Will the Fed cut rates at its next meeting?",
                                    hour + 20 * 24 * HOUR_MS, ["Yes", "No"], None, politics, 3e6, [TAGS[4]]))
        sports = {"id": "77001", "slug": "nba-lakers-celtics", "title": "Lakers vs. Celtics"}
        markets.append(self._market("nba-lakers-celtics", "Lakers vs. Celtics", hour + 30 * HOUR_MS,
                                    ["Lakers", "Celtics"], None, sports, 8e5, [TAGS[5]]))
        legacy = self._market("legacy-amm-market", "Will the legacy AMM market resolve?", hour - 400 * 24 * HOUR_MS,
                              ["Yes", "No"], hour - 399 * 24 * HOUR_MS, politics, 1000.0, [TAGS[4]])
        legacy["outcomePrices"] = '["0", "0"]'
        markets.append(legacy)
        return markets

    # -- dispatch ---------------------------------------------------------------------------------------------
    def gamma(self, method: str, path: str, request: dict) -> bytes:
        path = path.rstrip("/")
        if path == "/markets":
            return _dumps(self._filtered(self.universe(), request))
        if path.startswith("/markets/"):
            market_id = path.rsplit("/", 1)[1]
            market = next((m for m in self.universe() if m["id"] == market_id), None)
            if market is None:
                raise NotFound(f"no market {market_id}")
            return _dumps(market)
        if path == "/events":
            return _dumps(self._events(self._filtered(self.universe(), {**request, "limit": "1000", "offset": "0"}),
                                       request))
        if path == "/public-search":
            query = str(request.get("q", "")).lower()
            hits = [m for m in self.universe() if query in m["question"].lower()]
            events = self._events(hits, {"limit": "20", "offset": "0"})
            return _dumps({"events": events, "pagination": {"hasMore": False, "totalResults": len(events)}})
        if path == "/tags":
            return _dumps([{**t, "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
                            "requiresTranslation": False} for t in TAGS])
        raise NotFound(f"not found: {path}")

    def _filtered(self, markets: list[dict], request: dict) -> list[dict]:
        def flag(name: str) -> bool | None:
            value = request.get(name)
            return None if value is None else str(value).lower() == "true"

        closed, active = flag("closed"), flag("active")
        closed = False if closed is None else closed  # Gamma's implicit closed=false
        picked = [m for m in markets if m["closed"] == closed and (active is None or m["active"] == active)]
        if request.get("end_date_min"):
            picked = [m for m in picked if m["endDate"] >= request["end_date_min"]]
        if request.get("end_date_max"):
            picked = [m for m in picked if m["endDate"] <= request["end_date_max"]]
        order = request.get("order")
        if order:
            reverse = str(request.get("ascending", "true")).lower() != "true"
            picked.sort(key=lambda m: (m.get(order) is None, m.get(order) or 0, m["id"]), reverse=reverse)
        offset, limit = int(request.get("offset", 0)), min(int(request.get("limit", 100)), 100)
        return picked[offset : offset + limit]

    def _events(self, markets: list[dict], request: dict) -> list[dict]:
        events: dict[str, dict] = {}
        for market in markets:
            ref = market["events"][0]
            event = events.setdefault(ref["id"], {**ref, "active": True, "closed": market["closed"],
                                                  "endDate": market["endDate"], "volume": 0.0, "liquidity": 0.0,
                                                  "markets": []})
            event["volume"] += market["volumeNum"]
            event["liquidity"] += market["liquidityNum"]
            event["markets"].append(market)
        offset, limit = int(request.get("offset", 0)), min(int(request.get("limit", 100)), 100)
        return list(events.values())[offset : offset + limit]

    def clob(self, method: str, path: str, request: dict) -> bytes:
        path = path.rstrip("/")
        markets = self.universe()
        by_token = {token: (m, i) for m in markets for i, token in enumerate(json.loads(m["clobTokenIds"]))}
        if path == "/markets":
            offset = int(base64.b64decode(request.get("next_cursor") or "MA==").decode() or 0)
            page = markets[offset : offset + 100]
            after = offset + len(page)
            cursor = "LTE=" if after >= len(markets) else base64.b64encode(str(after).encode()).decode()
            return _dumps({"data": [self._clob_market(m) for m in page], "next_cursor": cursor, "limit": 100,
                           "count": len(page)})
        token = str(request.get("token_id") or request.get("market") or "")
        if token not in by_token:
            raise NotFound("market not found")
        market, index = by_token[token]
        price = float(json.loads(market["outcomePrices"])[index])
        if path == "/book":
            return _dumps(self._book(market, token, price))
        if path == "/midpoint":
            return _dumps({"mid": str(price)})
        if path == "/prices-history":
            start, end = int(request.get("startTs", 0)), int(request.get("endTs", 0))
            step = 60 * int(request.get("fidelity", 60))
            return _dumps({"history": [{"t": t, "p": round(min(max(price + 0.1 * (_u(token, t) - 0.5), 0.001), 0.999), 3)}
                                       for t in range(start - start % step, end + 1, step)]})
        raise NotFound(f"not found: {path}")

    def _clob_market(self, market: dict) -> dict:
        tokens = json.loads(market["clobTokenIds"])
        prices = json.loads(market["outcomePrices"])
        outcomes = json.loads(market["outcomes"])
        return {"condition_id": market["conditionId"], "question": market["question"], "market_slug": market["slug"],
                "end_date_iso": market["endDate"], "active": True, "closed": market["closed"],
                "accepting_orders": market["acceptingOrders"], "minimum_tick_size": 0.01, "minimum_order_size": 5,
                "tags": [t["label"] for t in market["events"][0]["tags"]],
                "tokens": [{"token_id": t, "outcome": o, "price": float(p), "winner": market["closed"] and p == "1"}
                           for t, o, p in zip(tokens, outcomes, prices)]}

    def _book(self, market: dict, token: str, price: float) -> dict:
        tick = round(price, 2)  # levels on the 0.01 tick, so no two levels of a side share a price
        bids = [{"price": f"{p:.2f}", "size": f"{50 + 400 * _u(token, 'b', p):.2f}"}
                for p in (round(tick - 0.01 * k, 2) for k in range(6, 0, -1)) if 0 < p < 1]
        asks = [{"price": f"{p:.2f}", "size": f"{50 + 400 * _u(token, 'a', p):.2f}"}
                for p in (round(tick + 0.01 * k, 2) for k in range(6, 0, -1)) if 0 < p < 1]
        return {"market": market["conditionId"], "asset_id": token, "timestamp": str(self.clock()),
                "hash": hashlib.sha1(f"{token}{self.clock()}".encode()).hexdigest(), "bids": bids, "asks": asks,
                "min_order_size": "5", "tick_size": "0.01", "neg_risk": False,
                "last_trade_price": f"{price:.3f}"}


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
