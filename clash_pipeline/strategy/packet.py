"""Execute an asset's read plan: the effective context packet, as of a time.

Compact (columns once, each row a tuple of values: an array in JSON, and the reader's own tuple, not a copy),
stable (each read's rows oldest first, reads in plan order), bounded (a byte budget per channel: the oldest rows
go first, and the packet says how many), and point-in-time (every read only sees rows known at `as_of`).
"""

from __future__ import annotations

import sqlite3

import orjson

from clash_pipeline.strategy.plan import AssetPlan, empty_channels
from clash_pipeline.strategy.reads import SqlReader

CHANNEL_BUDGET_BYTES = 8_000


def build_packet(conn: sqlite3.Connection, plan: AssetPlan, as_of_ms: int,
                 budget_bytes: int = CHANNEL_BUDGET_BYTES, reader: SqlReader | None = None) -> dict:
    """The packet of `plan` as of `as_of_ms`, its reads through `reader` (each read's own query by default)."""
    return _built(conn, plan, as_of_ms, budget_bytes, reader or SqlReader(conn))[0]


def encoded_packet(conn: sqlite3.Connection, plan: AssetPlan, as_of_ms: int,
                   budget_bytes: int = CHANNEL_BUDGET_BYTES, reader: SqlReader | None = None) -> tuple[dict, bytes]:
    """The packet and its compact JSON (`orjson.dumps(packet)`'s bytes), each channel's rows encoded once:
    fitting a channel to its budget encodes it anyway, and an archived run's context is these bytes."""
    packet, channels_json = _built(conn, plan, as_of_ms, budget_bytes, reader or SqlReader(conn))
    return packet, orjson.dumps({**packet, "channels": channels_json})


def _built(conn: sqlite3.Connection, plan: AssetPlan, as_of_ms: int, budget_bytes: int,
           reader: SqlReader) -> tuple[dict, dict]:
    """The packet, and its channels with their reads as the JSON fitting them to the budget made."""
    channels: dict[str, dict] = {}
    encoded: dict[str, dict[str, list[bytes]]] = {}  # each read's rows as JSON, by channel
    counts = []
    for read in plan.reads:
        rows, rows_json = reader.encoded(read, as_of_ms)
        channel = channels.setdefault(read.channel, {"reads": {}, "truncated_rows": 0})
        channel["reads"][read.name] = {"columns": list(read.columns), "rows": rows}
        encoded.setdefault(read.channel, {})[read.name] = rows_json
        counts.append((read, len(rows)))
    bodies = {}
    for name, channel in channels.items():
        channel["truncated_rows"], body = _fit(channel, encoded[name], budget_bytes)
        bodies[name] = {"reads": orjson.Fragment(body), "truncated_rows": channel["truncated_rows"]}
    packet = {"asset": plan.coin, "name": plan.name or plan.coin, "symbol": plan.symbol, "prompt_id": plan.prompt_id,
              "as_of_ms": as_of_ms,
              "channels": channels, "empty": empty_channels(conn, plan, counts, as_of_ms, reader.newest)}
    return packet, bodies


def _fit(channel: dict, encoded: dict[str, list[bytes]], budget_bytes: int) -> tuple[int, bytes]:
    """Drop the oldest rows of the largest read until the channel fits its budget (compact JSON bytes); how many
    went, and the reads' JSON (assembled from each row's, `encoded`)."""
    body = _reads_json(channel["reads"], encoded)
    dropped, size = 0, len(body)
    while size > budget_bytes:
        name = max(channel["reads"], key=lambda n: len(channel["reads"][n]["rows"]))
        if not channel["reads"][name]["rows"]:
            break
        channel["reads"][name]["rows"].pop(0)
        size -= len(encoded[name].pop(0)) + 1
        dropped += 1
    return dropped, (_reads_json(channel["reads"], encoded) if dropped else body)


def _reads_json(reads: dict, encoded: dict[str, list[bytes]]) -> bytes:
    """`orjson.dumps(reads)`, its rows taken from their JSON."""
    return orjson.dumps({name: {"columns": read["columns"], "rows": orjson.Fragment(b"[" + b",".join(encoded[name])
                                                                                     + b"]")}
                         for name, read in reads.items()})
