"""The asset universe: Hyperliquid's perps and spot pairs mapped onto the product's taxonomy."""
