"""Archived decision payloads: one object per batch of runs, and reading one run's payload back.

An object is `{"shared": [...], "runs": {"<run id>": payload}}`. What many runs of a batch hold as one object
(the runtime reads a packet once for every clone whose plan reads the same, prices every order of an asset
against one book snapshot, and has one set of bounds and fill config) is stored once, in `shared`: the runs
hold `{"$shared": i}` in its place, and reading puts it back. Objects written before parts were shared
(`{"<run id>": payload}`) read the same.
"""

from __future__ import annotations

import orjson

SHARED_PARTS = ("context", "snapshot", "bounds", "fill_config")  # the parts of a payload that runs share


def pack(payloads: dict[int, dict]) -> bytes:
    """One object for a batch of runs' payloads; a part several runs hold as one object is stored once."""
    shared: list[dict] = []
    index: dict[int, int] = {}
    runs = {}
    for run_id, payload in payloads.items():
        payload = dict(payload)
        for part in SHARED_PARTS:
            value = payload.get(part)
            if isinstance(value, (dict, orjson.Fragment)):  # a Fragment: a part already encoded (a packet)
                if id(value) not in index:  # the payloads hold every part alive: an id is never reused here
                    index[id(value)] = len(shared)
                    shared.append(value)
                payload[part] = {"$shared": index[id(value)]}
        runs[str(run_id)] = payload
    return orjson.dumps({"shared": shared, "runs": runs}, default=str)


def join(serialized: dict[int, bytes]) -> bytes:
    """One object of runs serialized one by one (`orjson.dumps(payload)`), nothing shared."""
    parts = [b'{"shared":[],"runs":{']
    for i, run_id in enumerate(sorted(serialized)):  # each body copied once, into the object
        parts += (b'%s"%d":' % (b"," if i else b"", run_id), serialized[run_id])
    parts.append(b"}}")
    return b"".join(parts)


def run_payload(body: bytes, run_id: int) -> dict | None:
    """One run's payload from an object (None if the object does not hold it)."""
    data = orjson.loads(body)
    if "runs" not in data:
        return data.get(str(run_id))  # the first objects: {"<run id>": payload}
    payload = data["runs"].get(str(run_id))
    for part, value in (payload or {}).items():
        if isinstance(value, dict) and "$shared" in value:
            payload[part] = data["shared"][value["$shared"]]
    return payload
