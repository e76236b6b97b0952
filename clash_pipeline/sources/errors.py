"""Errors a source raises: each names the source, the endpoint and what went wrong."""

from __future__ import annotations

import json

import pydantic


class SourceError(RuntimeError):
    """A source could not deliver usable data."""

    def __init__(self, source: str, endpoint: str, message: str) -> None:
        self.source, self.endpoint = source, endpoint
        super().__init__(f"{source} {endpoint}: {message}")


class PayloadError(SourceError):
    """A response body is malformed: missing field, wrong type, NaN, truncated, not JSON."""

    def __init__(self, source: str, endpoint: str, field: str, problem: str) -> None:
        self.field = field
        super().__init__(source, endpoint, f"bad payload at field {field!r}: {problem}")


class RequestFailed(SourceError):
    """The endpoint kept failing (429, 5xx, timeout, transport error) past the retry bound."""

    def __init__(self, source: str, endpoint: str, request: object, attempts: int, cause: str,
                 status: int | None = None) -> None:
        self.request, self.attempts, self.status = request, attempts, status
        super().__init__(
            source, endpoint, f"request {json.dumps(request, sort_keys=True)} failed after {attempts} attempts: {cause}"
        )


def payload_error(source: str, endpoint: str, error: Exception) -> PayloadError:
    """Turn a parsing failure into a PayloadError that names the first bad field."""
    if isinstance(error, pydantic.ValidationError):
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "<body>"
        if first["type"] == "json_invalid":
            return PayloadError(source, endpoint, "<body>", f"not valid JSON (truncated?): {first['msg']}")
        return PayloadError(source, endpoint, field, f"{first['msg']} (got {_short(first.get('input'))})")
    if isinstance(error, json.JSONDecodeError):
        return PayloadError(source, endpoint, "<body>", f"not valid JSON (truncated?): {error}")
    return PayloadError(source, endpoint, "<body>", str(error))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
