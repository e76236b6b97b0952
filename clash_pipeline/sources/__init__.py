"""Source clients: typed, retrying, rate-limited readers of the public market-data APIs."""
