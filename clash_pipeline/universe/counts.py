"""How many assets sit in each category and subcategory of market memory's taxonomy (`clash categories`)."""

from __future__ import annotations

import sqlite3

from clash_pipeline.universe.taxonomy import UNCATEGORIZED
from clash_pipeline.universe.vocabulary import STORED

ORDER = [*(c for c in STORED if c != "All"), UNCATEGORIZED]


def _rank(order: list[str] | tuple[str, ...], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def category_counts(conn: sqlite3.Connection) -> dict:
    """Every category with its distinct asset count and its subcategories' counts, in the seed's order; plus
    the universe size, how many assets are Uncategorized and the mapping version(s) that placed them."""
    (assets,) = conn.execute("SELECT COUNT(*) FROM hl_assets").fetchone()
    per_category = dict(conn.execute("SELECT category, COUNT(DISTINCT coin) FROM asset_categories GROUP BY 1"))
    per_sub: dict[str, list[tuple[str, int]]] = {}
    for category, subcategory, count in conn.execute(
            "SELECT category, subcategory, COUNT(DISTINCT coin) FROM asset_categories WHERE subcategory != '' "
            "GROUP BY 1, 2"):
        per_sub.setdefault(category, []).append((subcategory, count))
    versions = [v for (v,) in conn.execute("SELECT DISTINCT mapping_version FROM asset_categories ORDER BY 1")]
    categories = []
    for category in sorted(per_category, key=lambda c: _rank(ORDER, c)):
        subs = sorted(per_sub.get(category, []), key=lambda s: _rank(STORED.get(category, ()), s[0]))
        categories.append({"category": category, "assets": per_category[category],
                           "subcategories": [{"subcategory": s, "assets": n} for s, n in subs]})
    uncategorized = per_category.get(UNCATEGORIZED, 0)
    return {"assets": assets, "uncategorized": uncategorized,
            "uncategorized_pct": round(100 * uncategorized / assets, 1) if assets else 0.0,
            "mapping_versions": versions, "categories": categories}


def format_counts(report: dict) -> str:
    lines = [f"{'category':<16}{'subcategory':<14}{'assets':>7}"]
    for row in report["categories"]:
        lines.append(f"{row['category']:<16}{'':<14}{row['assets']:>7}")
        lines += [f"{'':<16}{sub['subcategory']:<14}{sub['assets']:>7}" for sub in row["subcategories"]]
    versions = ", ".join(report["mapping_versions"]) or "none"
    lines.append(f"{report['assets']} assets; {report['uncategorized']} Uncategorized "
                 f"({report['uncategorized_pct']}%); mapping version {versions}")
    return "\n".join(lines)
