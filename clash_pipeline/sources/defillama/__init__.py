"""DefiLlama: macro DeFi context (capital base, capital flows, economic throughput), free API, no key."""
