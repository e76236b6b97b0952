"""Map assets onto the product's taxonomy through the versioned mapping file (taxonomy.toml)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAPPING = Path(__file__).with_name("taxonomy.toml")
SECTIONS = ("api_categories", "symbols", "dexes", "spot_quotes", "trending")


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

    def categorize(self, asset: Asset) -> list[tuple[str, str, str]]:
        """(category, subcategory, rule) rows for one asset; an unmapped asset is Uncategorized, never dropped."""
        rows = [("Perps" if asset.kind == "perp" else "Spot", "", f"kind:{asset.kind}")]
        if asset.kind == "spot" and asset.quote in self.spot_quotes:
            rows.append(("Spot quotes", self.spot_quotes[asset.quote], f"spot_quotes:{asset.quote}"))
        symbol = asset.base if asset.kind == "spot" else asset.coin.split(":", 1)[-1]
        api = (asset.api_category or "").lower()
        if api in self.api_categories:
            rows.append((*self.api_categories[api], f"api_categories:{api}"))
        elif symbol in self.symbols:
            rows.append((*self.symbols[symbol], f"symbols:{symbol}"))
        elif asset.dex in self.dexes:
            rows.append((*self.dexes[asset.dex], f"dexes:{asset.dex}"))
        else:
            reason = f"api category {api!r} not mapped" if api else "no rule matched"
            rows.append(("Uncategorized", "", reason))
        return rows


def _pairs(section: dict) -> dict[str, tuple[str, str]]:
    return {key: (value[0], value[1]) for key, value in section.items()}


def load_taxonomy(path: Path | None = None, extension: Path | None = None) -> Taxonomy:
    """The default mapping, extended by `extension` (default: $CLASH_TAXONOMY_FILE) if given."""
    base = tomllib.loads((path or DEFAULT_MAPPING).read_text())
    extension = extension or (Path(os.environ["CLASH_TAXONOMY_FILE"]) if os.environ.get("CLASH_TAXONOMY_FILE") else None)
    version = str(base["version"])
    sources = [str(path or DEFAULT_MAPPING)]
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
        symbols=_pairs(base.get("symbols", {})),
        dexes=_pairs(base.get("dexes", {})),
        spot_quotes=dict(base.get("spot_quotes", {})),
        trending_top_n=int(trending.get("top_n", 10)),
        trending_min_volume_usd=float(trending.get("min_day_volume_usd", 1e6)),
        source=sources,
    )


def trending(taxonomy: Taxonomy, stats: Iterable[tuple[str, float, float | None]]) -> list[str]:
    """Trending coins from (coin, 24h notional volume USD, OI change %): the best by summed rank."""
    eligible = [(coin, vol, oi or 0.0) for coin, vol, oi in stats if vol >= taxonomy.trending_min_volume_usd]
    by_volume = {coin: i for i, (coin, _, _) in enumerate(sorted(eligible, key=lambda s: (-s[1], s[0])))}
    by_oi = {coin: i for i, (coin, _, _) in enumerate(sorted(eligible, key=lambda s: (-s[2], s[0])))}
    ranked = sorted(eligible, key=lambda s: (by_volume[s[0]] + by_oi[s[0]], s[0]))
    return [coin for coin, _, _ in ranked[: taxonomy.trending_top_n]]
