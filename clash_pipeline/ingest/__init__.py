"""Ingestion: pull raw responses from a source, then parse, normalize and write them to market memory."""
