"""Cursor pagination: an opaque cursor encodes the sort key of the last item returned."""

from __future__ import annotations

import base64
import json

from clash_pipeline.api.problems import Problem

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def encode(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str | None, default: object = None) -> object:
    if not cursor:
        return default
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise Problem(422, "not a cursor from this API", "query.cursor") from None


def page(items: list, limit: int, key) -> dict:
    """`items` holds up to limit + 1 rows: the extra one says whether there is a next page."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "nextCursor": encode(key(items[-1])) if more and items else None}
