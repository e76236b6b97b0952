"""Paper trading: deterministic fills, synthetic accounts and positions, funding, mark-to-market, metrics,
backtests and decision replay."""
