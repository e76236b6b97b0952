"""Validate a raw response body against its endpoint's pydantic adapter; failures name source, endpoint, field."""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import TypeAdapter

from clash_pipeline.sources.errors import payload_error
from clash_pipeline.sources.http import RawResponse


def parse_raw(adapters: dict[str, TypeAdapter], raw: RawResponse) -> Any:
    try:
        return adapters[raw.endpoint].validate_json(raw.body)
    except (pydantic.ValidationError, ValueError) as exc:
        raise payload_error(raw.source, raw.endpoint, exc) from None
