"""The taxonomy on the real universe recordings: at most 5% Uncategorized on each, xyz markets where the API
(or, without it, the curated names) puts them, the curated main-dex rules, spot pairs under their quote, the
seed's selection words, and `clash categories` on a memory ingested from the recordings."""

from __future__ import annotations

import json

import pytest

from clash_pipeline.cli import main
from clash_pipeline.ingest import hyperliquid as ingest
from clash_pipeline.memory.db import open_memory
from clash_pipeline.strategy.graph import AssetBlock
from clash_pipeline.strategy.selection import Universe, resolve
from clash_pipeline.universe.taxonomy import Asset, load_taxonomy
from clash_pipeline.universe.vocabulary import canonical
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import raw, replay_client

MAIN = "universe/metaAndAssetCtxs_main_2025-08-22.json"
XYZ = "universe/metaAndAssetCtxs_dex-xyz_2026-02-06.json"
SPOT = "universe/spotMetaAndAssetCtxs_2025-08-22.json"
RECORDINGS = {  # name -> (endpoint, request); ws_allDexsAssetCtxs.json holds contexts only, no names
    MAIN: ("metaAndAssetCtxs", {"type": "metaAndAssetCtxs"}),
    XYZ: ("metaAndAssetCtxs", {"type": "metaAndAssetCtxs", "dex": "xyz"}),
    SPOT: ("spotMetaAndAssetCtxs", {"type": "spotMetaAndAssetCtxs"}),
    "spotMetaAndAssetCtxs.json": ("spotMetaAndAssetCtxs", {"type": "spotMetaAndAssetCtxs"}),
}


def _raws(fixtures_dir, names, categories: list | None = None):
    raws = [raw(RECORDINGS[n][0], fixtures_dir / "hyperliquid" / n, RECORDINGS[n][1], fetched_ms=NOW_MS) for n in names]
    if categories is not None:
        raws.append(raw("perpCategories", json.dumps(categories), fetched_ms=NOW_MS))
    return raws


def _placed(conn) -> dict[str, tuple[str, str, str]]:
    """coin -> its (category, subcategory, rule) crypto/tradfi row."""
    return {coin: (cat, sub, rule) for coin, cat, sub, rule in conn.execute(
        "SELECT coin, category, subcategory, rule FROM asset_categories "
        "WHERE category NOT IN ('Perps', 'Spot', 'Trending')")}


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_at_most_5_percent_uncategorized_on_each_real_recording(fixtures_dir, memory, name):
    ingest.write_universe(memory, _raws(fixtures_dir, [name]), load_taxonomy())
    coins = {c for (c,) in memory.execute("SELECT coin FROM hl_assets")}
    placed = _placed(memory)
    assert set(placed) == coins  # every asset has exactly one crypto/tradfi row (or Uncategorized)
    uncategorized = sorted(c for c, (cat, _, _) in placed.items() if cat == "Uncategorized")
    assert len(uncategorized) <= 0.05 * len(coins), uncategorized


def test_meta_recording_is_categorized_too(fixtures_dir):
    taxonomy = load_taxonomy()
    universe = json.loads((fixtures_dir / "hyperliquid" / "meta.json").read_text())["universe"]
    rows = [taxonomy.categorize(Asset(a["name"], "perp"))[-1] for a in universe]
    assert sum(row[0] == "Uncategorized" for row in rows) <= 0.05 * len(rows)


def test_xyz_indices_commodities_and_fx_are_not_stocks(fixtures_dir, memory):
    ingest.write_universe(memory, _raws(fixtures_dir, [XYZ]), load_taxonomy())
    placed = _placed(memory)
    assert placed["xyz:XYZ100"] == ("Tradfi", "Indices", "tradfi_names:XYZ100")
    assert placed["xyz:KR200"][:2] == ("Tradfi", "Indices")
    assert {placed[f"xyz:{c}"][:2] for c in ("GOLD", "SILVER", "CL", "NATGAS", "PLATINUM")} == {("Tradfi", "Commodities")}
    assert {placed[f"xyz:{c}"][:2] for c in ("EUR", "JPY", "DXY")} == {("Tradfi", "FX")}
    assert placed["xyz:TSLA"] == ("Tradfi", "Stocks", "dexes:xyz")
    # the API's word wins over the curated names and over the dex
    ingest.write_universe(memory, _raws(fixtures_dir, [XYZ], [["xyz:TSLA", "preipo"], ["xyz:GOLD", "other"]]),
                          load_taxonomy())
    placed = _placed(memory)
    assert placed["xyz:TSLA"] == ("Tradfi", "Pre-IPO", "api_categories:preipo")
    assert placed["xyz:GOLD"] == ("Tradfi", "Commodities", "tradfi_names:GOLD")  # 'other' is not mapped: falls through


def test_main_dex_coins_take_the_curated_mapping_with_their_rule(fixtures_dir, memory):
    ingest.write_universe(memory, _raws(fixtures_dir, [MAIN]), load_taxonomy())
    placed = _placed(memory)
    assert placed["ARB"] == ("Crypto", "Layer 2", "symbols:ARB") and placed["OP"][:2] == ("Crypto", "Layer 2")
    assert placed["DOGE"][:2] == placed["kPEPE"][:2] == ("Crypto", "Meme")
    assert placed["RNDR"][:2] == ("Crypto", "AI") and placed["AAVE"][:2] == ("Crypto", "DeFi")
    assert placed["IMX"][:2] == ("Crypto", "Gaming") and placed["BTC"][:2] == ("Crypto", "Layer 1")
    assert memory.execute("SELECT DISTINCT mapping_version FROM asset_categories").fetchall() == [("2.1",)]


def test_spot_pairs_inherit_their_base_and_sit_under_their_quote(fixtures_dir, memory):
    ingest.write_universe(memory, _raws(fixtures_dir, [SPOT]), load_taxonomy())
    rows = lambda coin: sorted(memory.execute(  # noqa: E731
        "SELECT category, subcategory, rule FROM asset_categories WHERE coin = ?", (coin,)))
    assert rows("@107") == [("Crypto", "Layer 1", "symbols:HYPE"), ("Spot", "", "kind:spot"),
                            ("Spot", "USDC", "spot_quotes:USDC")]
    assert ("Spot", "USDT", "spot_quotes:USDT0") in rows("@207")  # HYPE/USDT0
    assert ("Crypto", "Layer 1", "aliases:UBTC=BTC") in rows("@142")  # UBTC/USDC
    assert ("Tradfi", "Commodities", "symbols:XAUT0") in rows("@182")


def test_a_symbol_listed_twice_in_the_coins_file_is_refused(tmp_path):
    (tmp_path / "coins.toml").write_text('version = 1\n[crypto]\nMeme = ["DOGE"]\nAI = ["DOGE"]\n')
    (tmp_path / "taxonomy.toml").write_text('version = 9\ncoins_file = "coins.toml"\n')
    with pytest.raises(ValueError, match="DOGE is listed twice"):
        load_taxonomy(tmp_path / "taxonomy.toml")


SEED_WORDS = [("All", None), ("Perps", None), ("Spot", None), ("Trending", None),
              *[("Crypto", s) for s in ("All", "AI", "Defi", "Gaming", "Layer 1", "Layer 2", "Meme")],
              *[("Tradfi", s) for s in ("All", "Stocks", "Indices", "Commodities", "FX", "Pre-IPO")],
              *[("Spot", s) for s in ("All", "USDC", "USDH", "USDT")],
              ("Spot/USDC", None), ("Crypto/Defi", None)]


@pytest.mark.parametrize(("category", "subcategory"), SEED_WORDS)
def test_the_seeds_words_are_accepted_verbatim(memory, category, subcategory):
    ingest.write_universe(memory, ingest.pull_snapshot(replay_client(NOW_MS), []), load_taxonomy())
    block = AssetBlock(id="a", select=[{"category": category, "subcategory": subcategory}])
    resolution, problems = resolve(block, Universe.load(memory))
    assert problems == [] and resolution.enabled
    stored = canonical(category, subcategory)
    assert all(f"admitted by category {stored.label}" in resolution.reasons[c] for c in resolution.enabled)


def test_stored_forms_and_unknown_words():
    assert canonical("Crypto", "Defi") == canonical("crypto", "DeFi") == canonical("Crypto/Defi")
    assert canonical("Spot/USDC").subcategory == "USDC" and canonical("Tradfi", "All").subcategory is None
    with pytest.raises(ValueError, match="unknown subcategory 'Bonds' of Tradfi"):
        canonical("Tradfi", "Bonds")
    with pytest.raises(ValueError, match="unknown category 'Memes'"):
        canonical("Memes")


def test_clash_categories_on_a_memory_ingested_from_the_real_recordings(fixtures_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLASH_HOME", str(tmp_path))
    conn = open_memory(tmp_path / "market_memory.sqlite")
    ingest.write_universe(conn, _raws(fixtures_dir, [MAIN, XYZ, SPOT]), load_taxonomy())
    conn.close()
    assert main(["categories", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["assets"] == 445 and report["uncategorized_pct"] <= 5.0
    by_name = {row["category"]: row for row in report["categories"]}
    assert by_name["Perps"]["assets"] == 246 and by_name["Spot"]["assets"] == 199
    tradfi = {s["subcategory"]: s["assets"] for s in by_name["Tradfi"]["subcategories"]}
    assert tradfi["Indices"] >= 2 and tradfi["Commodities"] >= 9 and tradfi["FX"] == 3
    assert [s["subcategory"] for s in by_name["Crypto"]["subcategories"]] == \
        ["AI", "DeFi", "Gaming", "Layer 1", "Layer 2", "Meme"]
    assert main(["categories"]) == 0
    text = capsys.readouterr().out
    assert "Layer 2" in text and "445 assets;" in text
