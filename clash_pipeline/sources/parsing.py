"""Parse a raw response and hold it to its endpoint's contract; failures name source, endpoint, request, field.

Each endpoint has a pydantic adapter (types and per-field ranges, on the models) and may have a contract: a
function of (parsed body, request) that checks what one field cannot say alone (identity against the request,
cross-field ranges such as high >= low or an uncrossed book, duplicate keys) and raises `Violation`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
from pydantic import TypeAdapter

from clash_pipeline.sources.errors import FetchFailed, Violation, payload_error, request_label
from clash_pipeline.sources.http import RawResponse

Contract = Callable[[Any, dict], None]


def parse_raw(adapters: dict[str, TypeAdapter], raw: RawResponse, contracts: dict[str, Contract] | None = None) -> Any:
    if raw.status != 200:
        raise FetchFailed(raw.source, raw.endpoint, raw.body.decode(errors="replace"))
    try:
        parsed = adapters[raw.endpoint].validate_json(raw.body)
        contract = (contracts or {}).get(raw.endpoint)
        if contract is not None:
            contract(parsed, raw.request)
        return parsed
    except (pydantic.ValidationError, ValueError) as exc:
        label = request_label(raw.request, raw.method, raw.path, raw.endpoint)
        raise payload_error(raw.source, raw.endpoint, exc, label) from None
