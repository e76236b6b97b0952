"""Archived decision payloads: one object per batch of runs, and reading one run's payload back.

An object is `{"packets": [...], "runs": {"<run id>": payload}}`. Runs whose context is one shared packet (the
runtime reads a packet once for every clone whose plan reads the same) store it once: their `context` is
`{"$packet": i, "prompt_id": ...}`, and reading puts the packet back, keys in their order (the prompt is rebuilt
from it byte for byte). Objects written before packets were shared (`{"<run id>": payload}`) read the same.
"""

from __future__ import annotations

import orjson


def pack(payloads: dict[int, dict]) -> bytes:
    """One object for a batch of runs' payloads; a packet several runs share is stored once."""
    packets: list[dict] = []
    index: dict[int, int] = {}
    runs = {}
    for run_id, payload in payloads.items():
        context = payload.get("context")
        if isinstance(context, dict) and "channels" in context:
            shared = id(context["channels"])  # runs of one packet read share its channels (never copied)
            if shared not in index:
                index[shared] = len(packets)
                packets.append(context)
            payload = {**payload, "context": {"$packet": index[shared], "prompt_id": context.get("prompt_id")}}
        runs[str(run_id)] = payload
    return orjson.dumps({"packets": packets, "runs": runs}, default=str)


def join(serialized: dict[int, bytes]) -> bytes:
    """One object of runs serialized one by one (`orjson.dumps(payload)`), packets not shared."""
    runs = b",".join(b'"%d":%s' % (run_id, body) for run_id, body in sorted(serialized.items()))
    return b'{"packets":[],"runs":{' + runs + b"}}"


def run_payload(body: bytes, run_id: int) -> dict | None:
    """One run's payload from an object (None if the object does not hold it)."""
    data = orjson.loads(body)
    runs = data["runs"] if "runs" in data and "packets" in data else data
    payload = runs.get(str(run_id))
    context = (payload or {}).get("context")
    if isinstance(context, dict) and "$packet" in context:
        payload["context"] = {**data["packets"][context["$packet"]], "prompt_id": context["prompt_id"]}
    return payload
