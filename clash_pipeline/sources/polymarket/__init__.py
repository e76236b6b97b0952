"""Polymarket: related prediction markets (Gamma discovery API and the CLOB market-data API)."""
