"""The asset universe and the taxonomy mapping: every asset categorized or Uncategorized, never dropped."""

from __future__ import annotations

from clash_pipeline.ingest import hyperliquid as ingest
from clash_pipeline.universe.taxonomy import Asset, load_taxonomy, trending
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.helpers import replay_client


def test_rules_in_order():
    taxonomy = load_taxonomy()
    assert taxonomy.categorize(Asset("xyz:NVDA", "perp", "xyz", api_category="stocks"))[1][:2] == ("Tradfi", "Stocks")
    assert taxonomy.categorize(Asset("BTC", "perp"))[1] == ("Crypto", "Layer 1", "symbols:BTC")
    assert taxonomy.categorize(Asset("xyz:NEW", "perp", "xyz"))[1] == ("Tradfi", "Stocks", "dexes:xyz")
    spot = taxonomy.categorize(Asset("@232", "spot", base="HYPE", quote="USDH"))
    assert [row[:2] for row in spot] == [("Spot", ""), ("Spot", "USDH"), ("Crypto", "Layer 1")]
    unknown = taxonomy.categorize(Asset("ZZZ", "perp", api_category="weird"))
    assert unknown == [("Perps", "", "kind:perp"),
                       ("Uncategorized", "", "api category 'weird' not mapped, no rule matched")]


def test_an_extension_file_adds_rules_and_versions_the_rows(tmp_path):
    extension = tmp_path / "mine.toml"
    extension.write_text('version = 3\n[api_categories]\nweird = ["Crypto", "Gaming"]\n')
    taxonomy = load_taxonomy(extension=extension)
    assert taxonomy.version == "2.1+3"
    assert taxonomy.categorize(Asset("ZZZ", "perp", api_category="weird"))[1][:2] == ("Crypto", "Gaming")


def test_trending_ranks_volume_and_oi_change():
    taxonomy = load_taxonomy()
    stats = [("A", 5e6, 1.0), ("B", 9e6, -2.0), ("C", 2e6, 30.0), ("D", 10.0, 99.0)]
    assert trending(taxonomy, stats)[:3] == ["A", "B", "C"]  # D trades too little to trend
    assert "D" not in trending(taxonomy, stats)


def test_universe_keeps_every_asset(memory):
    raws = ingest.pull_snapshot(replay_client(NOW_MS), [])
    ingest.write_universe(memory, raws, load_taxonomy())
    coins = {c for (c,) in memory.execute("SELECT coin FROM hl_assets")}
    categorized = {c for (c,) in memory.execute("SELECT DISTINCT coin FROM asset_categories "
                                                "WHERE category NOT IN ('Perps', 'Spot', 'Trending')")}
    assert coins == categorized
    assert memory.execute("SELECT asset_id, only_isolated FROM hl_assets WHERE coin = 'xyz:TSLA'").fetchone() == \
        (110_000, 1)
    assert memory.execute("SELECT is_delisted FROM hl_assets WHERE coin = 'MATIC'").fetchone() == (1,)
    tiers = memory.execute("SELECT lower_bound_usd, max_leverage FROM hl_margin_tiers WHERE margin_table_id = 56 "
                           "ORDER BY 1").fetchall()
    assert tiers == [(0.0, 40), (150_000_000.0, 20)]
    assert memory.execute("SELECT COUNT(*) FROM asset_categories WHERE category = 'Trending'").fetchone() == (10,)
