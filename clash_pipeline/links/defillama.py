"""Link tradable symbols to DefiLlama chains and stablecoins, each link with the reason it exists.

Every asset also receives DefiLlama's global rows (subject ''), linked or not.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OVERRIDES = Path(__file__).with_name("defillama.toml")


@dataclass(frozen=True)
class ChainInfo:
    name: str
    token_symbol: str | None
    gecko_id: str | None


@dataclass(frozen=True)
class Overrides:
    version: int
    same_as: dict[str, str]
    gecko_ids: dict[str, str]
    chains: dict[str, list[str]]


def load_overrides(path: Path = DEFAULT_OVERRIDES) -> Overrides:
    data = tomllib.loads(path.read_text())
    return Overrides(int(data["version"]), dict(data.get("same_as", {})), dict(data.get("gecko_ids", {})),
                     {k: list(v) for k, v in data.get("chains", {}).items()})


def derive_links(symbols: Iterable[str], chains: Iterable[ChainInfo], stablecoin_symbols: Iterable[str],
                 overrides: Overrides) -> list[tuple[str, str, str, str]]:
    """(symbol, subject_kind, subject, reason) for every link, sorted."""
    chains = list(chains)
    stables = {s.upper() for s in stablecoin_symbols}
    links: dict[tuple[str, str, str], str] = {}
    for symbol in set(symbols):
        known = overrides.same_as.get(symbol, symbol)
        alias = f" (as {known}, curated same_as)" if known != symbol else ""
        gecko = overrides.gecko_ids.get(known)
        for chain in chains:
            if chain.token_symbol and chain.token_symbol.upper() == known.upper():
                links.setdefault((symbol, "chain", chain.name), f"chain tokenSymbol={chain.token_symbol}{alias}")
            elif gecko and chain.gecko_id == gecko:
                links.setdefault((symbol, "chain", chain.name), f"chain gecko_id={gecko}{alias}")
        for name in overrides.chains.get(known, []):
            if any(chain.name == name for chain in chains):
                links.setdefault((symbol, "chain", name), f"curated chain{alias}")
        if known.upper() in stables:
            links.setdefault((symbol, "stablecoin", known.upper()), f"stablecoin symbol={known.upper()}{alias}")
    return sorted((s, kind, subject, reason) for (s, kind, subject), reason in links.items())


def base_symbols(rows: Iterable[tuple[str, str, str | None, str | None]]) -> set[str]:
    """Symbols of the trade universe from (coin, kind, base, quote) rows: perp names without the dex prefix,
    spot base tokens and spot quote tokens."""
    found = set()
    for coin, kind, base, quote in rows:
        if kind == "perp":
            found.add(coin.split(":", 1)[-1])
        else:
            found.update(x for x in (base, quote) if x)
    return found
