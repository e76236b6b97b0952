"""Links between the trade universe and context sources: Polymarket markets and DefiLlama subjects per symbol."""
