"""Errors a source raises: each names the source, the endpoint, the request and what went wrong."""

from __future__ import annotations

import json

from datetime import UTC, datetime

import pydantic

TIME_KEYS = frozenset({"startTime", "endTime"})


class SourceError(RuntimeError):
    """A source could not deliver usable data."""

    def __init__(self, source: str, endpoint: str, message: str) -> None:
        self.source, self.endpoint = source, endpoint
        super().__init__(f"{source} {endpoint}: {message}")


class PayloadError(SourceError):
    """A response body is malformed (missing field, wrong type, NaN, truncated, not JSON) or breaks its
    endpoint's contract (identity differs from the request, value out of range, duplicate key)."""

    def __init__(self, source: str, endpoint: str, field: str, problem: str, request: str = "") -> None:
        self.field, self.request, self.problem = field, request, problem
        where = f"{endpoint} {request}" if request else endpoint
        super().__init__(source, where, f"bad payload at field {field!r}: {problem}")
        self.endpoint = endpoint


class Violation(ValueError):
    """A contract broken by a parsed response: the field (path in the body) and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


class RequestFailed(SourceError):
    """The endpoint kept failing (429, 5xx, timeout, transport error) past the retry bound."""

    def __init__(self, source: str, endpoint: str, request: object, attempts: int, cause: str,
                 status: int | None = None) -> None:
        self.request, self.attempts, self.status = request, attempts, status
        super().__init__(
            source, endpoint, f"request {json.dumps(request, sort_keys=True)} failed after {attempts} attempts: {cause}"
        )


class FetchFailed(SourceError):
    """A recorded failed fetch (a raw response whose status is not 200) reached a parser; the body is the error."""

    def __init__(self, source: str, endpoint: str, error: str) -> None:
        super().__init__(source, endpoint, error)
        self.args = (error,)


def request_label(request: dict, method: str = "POST", path: str = "", endpoint: str = "") -> str:
    """The request as one short `key=value ...` text: the coin, interval, page times, token or chain asked for."""
    flat: dict[str, object] = {}
    if method == "GET" and path and not endpoint.endswith(path.strip("/")):
        flat["path"] = path
    for key, value in request.items():
        if isinstance(value, dict):
            flat.update(value)
        elif key != "type":
            flat[key] = value
    return " ".join(f"{key}={_time(value) if key in TIME_KEYS and isinstance(value, int) else value}"
                    for key, value in flat.items())


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload_error(source: str, endpoint: str, error: Exception, request: str = "") -> PayloadError:
    """Turn a parsing or contract failure into a PayloadError that names the request and the first bad field."""
    if isinstance(error, Violation):
        return PayloadError(source, endpoint, error.field, error.problem, request)
    if isinstance(error, pydantic.ValidationError):
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "<body>"
        if first["type"] == "json_invalid":
            return PayloadError(source, endpoint, "<body>", f"not valid JSON (truncated?): {first['msg']}", request)
        return PayloadError(source, endpoint, field, f"{first['msg']} (got {_short(first.get('input'))})", request)
    if isinstance(error, json.JSONDecodeError):
        return PayloadError(source, endpoint, "<body>", f"not valid JSON (truncated?): {error}", request)
    return PayloadError(source, endpoint, "<body>", str(error), request)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
