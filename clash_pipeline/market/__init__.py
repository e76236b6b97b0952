"""Market measures derived from stored data: liquidity, volatility, funding and positioning pressure."""
