"""Resolve Asset Blocks against the current universe: deterministic, and explaining itself.

Order of rules: category selections admit, `include` admits by name, `exclude` removes, delisted assets are
removed. Every symbol touched gets the reason it was admitted or removed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from clash_pipeline.strategy.graph import AssetBlock, CategorySelection, Problem
from clash_pipeline.universe.names import display_name
from clash_pipeline.universe.vocabulary import Choice, UnknownWord, canonical


@dataclass(frozen=True)
class Universe:
    """The tradable assets and their taxonomy rows, as market memory holds them now."""

    kinds: dict[str, str]                       # coin -> perp | spot
    names: dict[str, str]                       # display name -> coin (HYPE/USDC -> @107)
    bases: dict[str, str]                       # coin -> symbol for context links (BTC, TSLA, HYPE for @107)
    delisted: frozenset[str]
    categories: dict[str, frozenset[tuple[str, str]]]
    shown: dict[str, str] = field(default_factory=dict)  # coin -> display name (@107 -> HYPE/USDC)

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> Universe:
        rows = conn.execute("SELECT coin, kind, quote, is_delisted, base FROM hl_assets").fetchall()
        categories: dict[str, set[tuple[str, str]]] = {}
        for coin, category, subcategory in conn.execute("SELECT coin, category, subcategory FROM asset_categories"):
            categories.setdefault(coin, set()).add((category, subcategory))
        shown = {c: display_name(c, k, b, q) for c, k, q, _, b in rows}
        return cls({c: k for c, k, *_ in rows}, {n: c for c, n in shown.items()},
                   {c: (b if k == "spot" and b else c.split(":", 1)[-1]) for c, k, _, _, b in rows},
                   frozenset(c for c, _, _, d, _ in rows if d), {c: frozenset(v) for c, v in categories.items()}, shown)

    def coin(self, name: str) -> str | None:
        return name if name in self.kinds else self.names.get(name)

    def display(self, coin: str) -> str:
        """The readable name of a coin of the universe (HYPE/USDC for @107)."""
        return self.shown.get(coin, coin)


@dataclass
class Resolution:
    enabled: list[str]
    reasons: dict[str, list[str]] = field(default_factory=dict)


def _stored(choice: CategorySelection) -> Choice:
    """The seed's words (`Defi`, `Spot/USDC`, `Crypto`/`All`) in the taxonomy's stored form."""
    return canonical(choice.category, choice.subcategory)


def selection_problems(block: AssetBlock) -> list[Problem]:
    problems = []
    for i, choice in enumerate(block.select):
        try:
            _stored(choice)
        except UnknownWord as error:
            problems.append(Problem(block.id, f"select.{i}.{error.part}", str(error)))
    return problems


def resolve(block: AssetBlock, universe: Universe) -> tuple[Resolution, list[Problem]]:
    problems = selection_problems(block)
    admitted: dict[str, list[str]] = {}
    for given in block.select:
        try:
            choice = _stored(given)
        except UnknownWord:
            continue  # reported by selection_problems
        label = choice.label
        for coin, rows in sorted(universe.categories.items()):
            if choice.category == "All" or any(cat == choice.category and (not choice.subcategory or sub == choice.subcategory)
                                               for cat, sub in rows):
                admitted.setdefault(coin, []).append(f"admitted by category {label}")
    for i, name in enumerate(block.include):
        coin = universe.coin(name)
        if coin is None:
            problems.append(Problem(block.id, f"include.{i}", f"{name!r} is not in the universe"))
        else:
            admitted.setdefault(coin, []).append(f"admitted by include {name}")
    reasons = {coin: list(why) for coin, why in admitted.items()}
    enabled = set(admitted)
    for name in block.exclude:
        coin = universe.coin(name) or name
        if coin in enabled:
            enabled.discard(coin)
            reasons[coin].append(f"removed by exclude {name}")
    for coin in sorted(enabled & universe.delisted):
        enabled.discard(coin)
        reasons[coin].append("removed: delisted")
    if not enabled and not problems:
        problems.append(Problem(block.id, "select", "the selection resolves to no asset in the current universe"))
    return Resolution(sorted(enabled), reasons), problems


def resolve_all(blocks: Iterable[AssetBlock], universe: Universe) -> tuple[dict[str, Resolution], list[Problem]]:
    resolutions, problems = {}, []
    for block in blocks:
        resolutions[block.id], found = resolve(block, universe)
        problems += found
    return resolutions, problems
