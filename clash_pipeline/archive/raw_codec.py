"""A batch of raw responses as one archive payload: a JSON header line per response, then its body verbatim."""

from __future__ import annotations

import json
from collections.abc import Sequence

from clash_pipeline.sources.http import RawResponse

CONTENT_TYPE = "application/x-clash-raw-responses"


def encode_raws(raws: Sequence[RawResponse]) -> bytes:
    chunks = []
    for raw in raws:
        header = {"source": raw.source, "endpoint": raw.endpoint, "method": raw.method, "path": raw.path,
                  "request": raw.request, "status": raw.status, "fetched_ms": raw.fetched_ms,
                  "body_bytes": len(raw.body)}
        chunks += [json.dumps(header, sort_keys=True).encode(), b"\n", raw.body, b"\n"]
    return b"".join(chunks)


def decode_raws(data: bytes) -> list[RawResponse]:
    raws, offset = [], 0
    while offset < len(data):
        end = data.index(b"\n", offset)
        header = json.loads(data[offset:end])
        start = end + 1
        body = data[start : start + header.pop("body_bytes")]
        raws.append(RawResponse(body=body, **header))
        offset = start + len(body) + 1
    return raws
