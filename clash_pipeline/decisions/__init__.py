"""The decision runtime: due runs per asset, pluggable engines, safety gates, dry-run orders, audit tables."""
