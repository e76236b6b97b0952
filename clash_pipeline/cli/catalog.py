"""`clash categories`: the taxonomy of market memory, each category and subcategory with its asset count."""

from __future__ import annotations

import argparse

from clash_pipeline.cli.common import emit, memory


def cmd_categories(args: argparse.Namespace) -> int:
    from clash_pipeline.universe.counts import category_counts, format_counts

    return emit(category_counts(memory()), args.json, format_counts)


def register(commands) -> None:
    parser = commands.add_parser(
        "categories", help="each category and subcategory with its asset count",
        description="Each category and subcategory of the product taxonomy (asset_categories in market memory) "
                    "with its number of assets, and how many assets are Uncategorized. The words shown are the "
                    "stored form; asset selections also accept the seed's words (Defi, Spot/USDC, Crypto/All).")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=cmd_categories)
