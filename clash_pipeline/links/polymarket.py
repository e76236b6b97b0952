"""Link Polymarket markets to symbols (links/polymarket.toml) and pick each symbol's horizons.

- immediate: the nearest-expiring open linked market;
- later: the nearest open linked market ending at least `later_gap_hours` after the immediate one;
- recently closed: linked markets closed within `recently_closed_days`, newest first, at most `recently_closed_max`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from clash_pipeline.timeutil import DAY_MS, HOUR_MS

DEFAULT_MAPPING = Path(__file__).with_name("polymarket.toml")
WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class SymbolRules:
    symbol: str
    words: frozenset[str]
    slug_prefixes: tuple[str, ...]
    tags: frozenset[str]
    search: str


@dataclass(frozen=True)
class MarketMapping:
    version: int
    symbols: tuple[SymbolRules, ...]
    later_gap_ms: int
    recently_closed_ms: int
    recently_closed_max: int

    def links(self, question: str, slug: str, tag_slugs: Iterable[str]) -> list[tuple[str, str]]:
        """(symbol, rule) for every symbol the market relates to."""
        words, tags = set(WORD.findall(question.lower())), set(tag_slugs)
        found = []
        for rules in self.symbols:
            if hit := sorted(words & rules.words):
                found.append((rules.symbol, f"word:{hit[0]}"))
            elif prefix := next((p for p in rules.slug_prefixes if slug.startswith(p)), None):
                found.append((rules.symbol, f"slug:{prefix}"))
            elif hit := sorted(tags & rules.tags):
                found.append((rules.symbol, f"tag:{hit[0]}"))
        return found


def load_mapping(path: Path = DEFAULT_MAPPING) -> MarketMapping:
    data = tomllib.loads(path.read_text())
    horizons = data.get("horizons", {})
    symbols = tuple(
        SymbolRules(symbol, frozenset(w.lower() for w in rules.get("words", [])),
                    tuple(rules.get("slug_prefixes", [])), frozenset(rules.get("tags", [])),
                    rules.get("search") or (rules.get("words") or [symbol])[0])
        for symbol, rules in sorted(data.get("symbols", {}).items())
    )
    return MarketMapping(
        version=int(data["version"]), symbols=symbols,
        later_gap_ms=int(horizons.get("later_gap_hours", 24) * HOUR_MS),
        recently_closed_ms=int(horizons.get("recently_closed_days", 7) * DAY_MS),
        recently_closed_max=int(horizons.get("recently_closed_max", 5)),
    )


@dataclass(frozen=True)
class MarketTimes:
    market_id: str
    end_ms: int | None
    closed: bool
    closed_ms: int | None


def horizons(mapping: MarketMapping, markets: Iterable[MarketTimes], now_ms: int) -> list[tuple[str, int, str, int | None]]:
    """(horizon, rank, market_id, end_ms) for one symbol's linked markets, as of `now_ms`."""
    markets = list(markets)
    open_ = sorted((m for m in markets if not m.closed and m.end_ms is not None and m.end_ms > now_ms),
                   key=lambda m: (m.end_ms, m.market_id))
    rows = []
    if open_:
        first = open_[0]
        rows.append(("immediate", 0, first.market_id, first.end_ms))
        later = next((m for m in open_[1:] if m.end_ms >= first.end_ms + mapping.later_gap_ms), None)
        if later:
            rows.append(("later", 0, later.market_id, later.end_ms))
    closed = sorted((m for m in markets if m.closed and m.closed_ms is not None
                     and now_ms - mapping.recently_closed_ms <= m.closed_ms <= now_ms),
                    key=lambda m: (-m.closed_ms, m.market_id))
    rows += [("recently_closed", rank, m.market_id, m.end_ms)
             for rank, m in enumerate(closed[: mapping.recently_closed_max])]
    return rows
