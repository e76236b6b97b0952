"""Link Polymarket markets to symbols (links/polymarket.toml) and pick each symbol's horizons.

Curated symbols ([symbols]) link by words, slug prefixes and tags, and are searched on Gamma. Every other symbol
of the trade universe links by its ticker (a whole word, as written: `TSLA`, `PEPE` for kPEPE) and its curated
names ([names], whole words in any case); [aliases] give a wrapped token its target's rules (UBTC -> BTC).

- immediate: the nearest-expiring open linked market;
- later: the nearest open linked market ending at least `later_gap_hours` after the immediate one;
- recently closed: linked markets closed within `recently_closed_days`, newest first, at most `recently_closed_max`.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from clash_pipeline.timeutil import DAY_MS, HOUR_MS

DEFAULT_MAPPING = Path(__file__).with_name("polymarket.toml")
WORD = re.compile(r"[a-z0-9]+")
TOKEN = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class SymbolRules:
    symbol: str
    words: frozenset[str]
    slug_prefixes: tuple[str, ...]
    tags: frozenset[str]
    search: str | None  # None: derived from the universe, matched but not searched
    tickers: frozenset[str] = frozenset()  # whole words, case as written
    names: tuple[tuple[str, ...], ...] = ()  # phrases of whole words, any case

    def match(self, words: set[str], tokens: set[str], phrase: str, slug: str, tags: set[str]) -> str | None:
        """The rule that links a market to this symbol, or None."""
        if hit := sorted(words & self.words):
            return f"word:{hit[0]}"
        if prefix := next((p for p in self.slug_prefixes if slug.startswith(p)), None):
            return f"slug:{prefix}"
        if hit := sorted(tags & self.tags):
            return f"tag:{hit[0]}"
        if hit := sorted(tokens & self.tickers):
            return f"ticker:{hit[0]}"
        if name := next((" ".join(n) for n in self.names if f" {' '.join(n)} " in phrase), None):
            return f"name:{name}"
        return None


@dataclass(frozen=True)
class MarketMapping:
    version: int
    symbols: tuple[SymbolRules, ...]
    later_gap_ms: int
    recently_closed_ms: int
    recently_closed_max: int
    derived: tuple[SymbolRules, ...] = ()  # the rest of the universe (see load_mapping)

    def links(self, question: str, slug: str, tag_slugs: Iterable[str]) -> list[tuple[str, str]]:
        """(symbol, rule) for every symbol the market relates to."""
        lowered = WORD.findall(question.lower())
        words, tokens, tags = set(lowered), set(TOKEN.findall(question)), set(tag_slugs)
        phrase = f" {' '.join(lowered)} "
        found = []
        for rules in (*self.symbols, *self.derived):
            if rule := rules.match(words, tokens, phrase, slug, tags):
                found.append((rules.symbol, rule))
        return found


def _phrases(names: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(WORD.findall(name.lower())) for name in names if WORD.findall(name.lower()))


def ticker_of(symbol: str) -> str:
    """The ticker a market would write: scaled perps drop their `k` (kPEPE -> PEPE)."""
    return symbol[1:] if len(symbol) > 1 and symbol[0] == "k" and symbol[1:].isupper() else symbol


def derive_rules(data: dict, curated: tuple[SymbolRules, ...], universe: Iterable[str]) -> tuple[SymbolRules, ...]:
    """Rules for every universe symbol that is not curated: its ticker (unless too short or a common word), its
    curated names, or its alias target's rules."""
    by_symbol = {rules.symbol: rules for rules in curated}
    config, names, aliases = data.get("universe", {}), data.get("names", {}), data.get("aliases", {})
    min_length, stop = int(config.get("min_ticker_length", 3)), set(config.get("stop_tickers", []))
    derived = []
    for symbol in sorted(set(universe) - set(by_symbol)):
        if (target := aliases.get(symbol)) in by_symbol:
            derived.append(replace(by_symbol[target], symbol=symbol, search=None))
            continue
        ticker = ticker_of(symbol)
        tickers = frozenset({ticker} if len(ticker) >= min_length and ticker not in stop and not ticker.isdigit()
                            else ())
        phrases = _phrases(names.get(symbol, []))
        if tickers or phrases:
            derived.append(SymbolRules(symbol, frozenset(), (), frozenset(), None, tickers, phrases))
    return tuple(derived)


def load_mapping(path: Path = DEFAULT_MAPPING, universe: Iterable[str] = ()) -> MarketMapping:
    """The curated mapping; with `universe` (symbols of the trade universe) also rules for every other symbol."""
    data = tomllib.loads(path.read_text())
    horizons = data.get("horizons", {})
    names = data.get("names", {})
    symbols = tuple(
        SymbolRules(symbol, frozenset(w.lower() for w in rules.get("words", [])),
                    tuple(rules.get("slug_prefixes", [])), frozenset(rules.get("tags", [])),
                    rules.get("search") or (rules.get("words") or [symbol])[0],
                    names=_phrases(names.get(symbol, [])))
        for symbol, rules in sorted(data.get("symbols", {}).items())
    )
    return MarketMapping(
        version=int(data["version"]), symbols=symbols,
        later_gap_ms=int(horizons.get("later_gap_hours", 24) * HOUR_MS),
        recently_closed_ms=int(horizons.get("recently_closed_days", 7) * DAY_MS),
        recently_closed_max=int(horizons.get("recently_closed_max", 5)),
        derived=derive_rules(data, symbols, universe),
    )


def universe_symbols(conn: sqlite3.Connection) -> set[str]:
    """The symbols markets link to: perp names without the dex prefix, spot base tokens (as plans read them)."""
    return {base if kind == "spot" and base else coin.split(":", 1)[-1]
            for coin, kind, base in conn.execute("SELECT coin, kind, base FROM hl_assets")}


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
