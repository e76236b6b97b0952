"""The market-history lake: each day of market and trading history as Parquet in the archive store (local folder
or R2) with a manifest per day, queried with DuckDB, and hydrated into a fresh market memory so that backtests and
analyses run on any machine. Imports no Dagster."""
