"""The seed's selection vocabulary and the stored taxonomy it maps onto.

The words a user (or the seed) writes are accepted verbatim, `Defi` as well as `DeFi`, `Spot/USDC` as well as
category `Spot` with subcategory `USDC`; `All` as a subcategory means the whole category. Matching ignores case
and surrounding spaces. The stored form is what `asset_categories` holds.
"""

from __future__ import annotations

from dataclasses import dataclass

# stored category -> its stored subcategories (the ones a selection can name)
STORED: dict[str, tuple[str, ...]] = {  # in the seed's order
    "All": (), "Perps": (),
    "Spot": ("USDC", "USDH", "USDT"),
    "Crypto": ("AI", "DeFi", "Gaming", "Layer 1", "Layer 2", "Meme"),
    "Tradfi": ("Stocks", "Indices", "Commodities", "FX", "Pre-IPO"),
    "Trending": (),
}
# the seed's words, where they differ from the stored form (keys lower-cased)
CATEGORY_WORDS = {"spot quotes": "Spot", "tradfi": "Tradfi", "trad-fi": "Tradfi"}
SUBCATEGORY_WORDS = {"defi": "DeFi", "layer1": "Layer 1", "l1": "Layer 1", "layer2": "Layer 2", "l2": "Layer 2",
                     "preipo": "Pre-IPO", "pre ipo": "Pre-IPO", "usdt0": "USDT", "memes": "Meme"}
ALL = "all"


class UnknownWord(ValueError):
    """A selection word the vocabulary does not know; `part` is "category" or "subcategory"."""

    def __init__(self, part: str, message: str):
        super().__init__(message)
        self.part = part


@dataclass(frozen=True)
class Choice:
    """A selection in stored form; `subcategory` None means the whole category."""

    category: str
    subcategory: str | None = None

    @property
    def label(self) -> str:
        return self.category + (f"/{self.subcategory}" if self.subcategory else "")


def _key(word: str) -> str:
    return " ".join(word.split()).lower()


def canonical(category: str, subcategory: str | None = None) -> Choice:
    """The stored form of a selection; UnknownWord naming the known words when a word is unknown."""
    if subcategory is None and "/" in category:
        category, subcategory = (part.strip() for part in category.split("/", 1))
    by_key = {_key(name): name for name in STORED}
    stored = by_key.get(_key(category)) or CATEGORY_WORDS.get(_key(category))
    if stored is None:
        raise UnknownWord("category", f"unknown category {category!r}; known: {list(STORED)}")
    if subcategory is None or _key(subcategory) in ("", ALL):
        return Choice(stored)
    subs = {_key(name): name for name in STORED[stored]}
    sub = subs.get(_key(subcategory)) or SUBCATEGORY_WORDS.get(_key(subcategory))
    if sub is None or sub not in STORED[stored]:
        raise UnknownWord("subcategory",
                          f"unknown subcategory {subcategory!r} of {stored}; known: {['All', *STORED[stored]]}")
    return Choice(stored, sub)
