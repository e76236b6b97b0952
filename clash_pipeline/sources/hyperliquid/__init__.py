"""Hyperliquid: the trade universe (public `info` endpoint)."""
