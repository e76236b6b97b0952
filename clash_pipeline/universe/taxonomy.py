"""Map assets onto the product's taxonomy through the versioned mapping file (taxonomy.toml)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAPPING = Path(__file__).with_name("taxonomy.toml")
SECTIONS = ("api_categories", "symbols", "dexes", "spot_quotes", "trending")
COIN_SECTIONS = ("crypto", "tradfi")
UNCATEGORIZED = "Uncategorized"


@dataclass(frozen=True)
class Asset:
    """What the taxonomy needs to know about one asset."""

    coin: str
    kind: str  # perp | spot
    dex: str = ""
    base: str | None = None
    quote: str | None = None
    api_category: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    version: str
    api_categories: dict[str, tuple[str, str]]
    symbols: dict[str, tuple[str, str]]
    dexes: dict[str, tuple[str, str]]
    spot_quotes: dict[str, str]
    trending_top_n: int = 10
    trending_min_volume_usd: float = 1e6
    source: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    tradfi_names: dict[str, tuple[str, str]] = field(default_factory=dict)

    def categorize(self, asset: Asset) -> list[tuple[str, str, str]]:
        """(category, subcategory, rule) rows for one asset; an unmapped asset is Uncategorized, never dropped."""
        rows = [("Perps" if asset.kind == "perp" else "Spot", "", f"kind:{asset.kind}")]
        if asset.kind == "spot" and asset.quote in self.spot_quotes:
            rows.append(("Spot", self.spot_quotes[asset.quote], f"spot_quotes:{asset.quote}"))
        rows.append(self._place(asset))
        return rows

    def _place(self, asset: Asset) -> tuple[str, str, str]:
        """The one crypto / tradfi row for an asset, by the rules of taxonomy.toml in order."""
        symbol = (asset.base or "") if asset.kind == "spot" else asset.coin.split(":", 1)[-1]
        api = (asset.api_category or "").lower()
        if api in self.api_categories:
            return (*self.api_categories[api], f"api_categories:{api}")
        dex_row = self.dexes.get(asset.dex) if asset.kind == "perp" and asset.dex else None
        if dex_row and dex_row[0] == "Tradfi":
            if symbol in self.tradfi_names:
                return (*self.tradfi_names[symbol], f"tradfi_names:{symbol}")
            return (*dex_row, f"dexes:{asset.dex}")
        if symbol in self.symbols:
            return (*self.symbols[symbol], f"symbols:{symbol}")
        if (target := self.aliases.get(symbol)) in self.symbols:
            return (*self.symbols[target], f"aliases:{symbol}={target}")
        if dex_row:
            return (*dex_row, f"dexes:{asset.dex}")
        reason = f"api category {api!r} not mapped, no rule matched" if api else "no rule matched"
        return (UNCATEGORIZED, "", reason)


def _pairs(section: dict) -> dict[str, tuple[str, str]]:
    return {key: (value[0], value[1]) for key, value in section.items()}


def _lists(path: Path, sections: dict[str, dict[str, list[str]]]) -> dict[str, tuple[str, str]]:
    """{symbol: (category, subcategory)} from {category: {subcategory: [symbols]}}; a symbol listed twice is refused."""
    found: dict[str, tuple[str, str]] = {}
    for category, groups in sections.items():
        for subcategory, symbols in groups.items():
            for symbol in symbols:
                if symbol in found:
                    raise ValueError(f"{path}: {symbol} is listed twice ({'/'.join(found[symbol])} and "
                                     f"{category}/{subcategory})")
                found[symbol] = (category, subcategory)
    return found


def _coins(path: Path) -> tuple[int, dict[str, tuple[str, str]], dict[str, str], dict[str, tuple[str, str]]]:
    """coins.toml: (version, symbols, aliases, builder tradfi names)."""
    data = tomllib.loads(path.read_text())
    symbols = _lists(path, {"Crypto": data.get("crypto", {}), "Tradfi": data.get("tradfi", {})})
    names = _lists(path, {"Tradfi": data.get("builder_tradfi", {})})
    return int(data["version"]), symbols, dict(data.get("aliases", {})), names


def load_taxonomy(path: Path | None = None, extension: Path | None = None) -> Taxonomy:
    """The default mapping (with its coins file), extended by `extension` (default: $CLASH_TAXONOMY_FILE)."""
    path = path or DEFAULT_MAPPING
    base = tomllib.loads(path.read_text())
    extension = extension or (Path(os.environ["CLASH_TAXONOMY_FILE"]) if os.environ.get("CLASH_TAXONOMY_FILE") else None)
    version, sources = str(base["version"]), [str(path)]
    symbols: dict[str, tuple[str, str]] = {}
    aliases: dict[str, str] = {}
    tradfi_names: dict[str, tuple[str, str]] = {}
    if coins_file := base.get("coins_file"):
        coins_path = path.with_name(coins_file)
        coins_version, symbols, aliases, tradfi_names = _coins(coins_path)
        version = f"{version}.{coins_version}"
        sources.append(str(coins_path))
    if extension:
        extra = tomllib.loads(extension.read_text())
        unknown = set(extra) - set(SECTIONS) - {"version"}
        if unknown:
            raise ValueError(f"taxonomy extension {extension} has unknown sections: {sorted(unknown)}")
        for section in SECTIONS:
            base.setdefault(section, {}).update(extra.get(section, {}))
        version = f"{version}+{extra.get('version', 0)}"
        sources.append(str(extension))
    trending = base.get("trending", {})
    return Taxonomy(
        version=version,
        api_categories=_pairs(base.get("api_categories", {})),
        symbols={**symbols, **_pairs(base.get("symbols", {}))},
        dexes=_pairs(base.get("dexes", {})),
        spot_quotes=dict(base.get("spot_quotes", {})),
        trending_top_n=int(trending.get("top_n", 10)),
        trending_min_volume_usd=float(trending.get("min_day_volume_usd", 1e6)),
        source=sources,
        aliases=aliases,
        tradfi_names=tradfi_names,
    )


def trending(taxonomy: Taxonomy, stats: Iterable[tuple[str, float, float | None]]) -> list[str]:
    """Trending coins from (coin, 24h notional volume USD, OI change %): the best by summed rank."""
    eligible = [(coin, vol, oi or 0.0) for coin, vol, oi in stats if vol >= taxonomy.trending_min_volume_usd]
    by_volume = {coin: i for i, (coin, _, _) in enumerate(sorted(eligible, key=lambda s: (-s[1], s[0])))}
    by_oi = {coin: i for i, (coin, _, _) in enumerate(sorted(eligible, key=lambda s: (-s[2], s[0])))}
    ranked = sorted(eligible, key=lambda s: (by_volume[s[0]] + by_oi[s[0]], s[0]))
    return [coin for coin, _, _ in ranked[: taxonomy.trending_top_n]]
