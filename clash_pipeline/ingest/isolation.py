"""Failure isolation inside one snapshot: every response that is valid is written, each one that is not is
reported, and the write then fails naming them (so the run fails, and a retry needs only those requests).

A fetch that failed past its retries is kept in the batch as a raw response with the failure as its body
(`failed_fetch`), so the archive records it and the writer reports it beside the responses that broke their
contract.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from clash_pipeline.ingest.load import Load
from clash_pipeline.sources.errors import RequestFailed, SourceError, request_label
from clash_pipeline.sources.http import RawResponse
from clash_pipeline.timeutil import now_ms

FAILED_STATUS = 599  # a failed fetch with no HTTP status (timeout, transport error)


@dataclass(frozen=True)
class Failure:
    """One request whose response was not written: what was asked, and why (one line)."""

    source: str
    endpoint: str
    request: dict
    error: SourceError

    @property
    def label(self) -> str:
        return f"{self.source} {self.endpoint} {request_label(self.request)}".rstrip()

    def __str__(self) -> str:
        return str(self.error)


class IncompleteIngest(RuntimeError):
    """Some responses of a batch were refused; the others were written (`loads`)."""

    def __init__(self, failures: Sequence[Failure], loads: Sequence[Load], written: int) -> None:
        self.failures, self.loads = list(failures), list(loads)
        names = "; ".join(str(failure) for failure in self.failures)
        super().__init__(f"{len(self.failures)} response(s) refused, {written} written: {names}")

    def requests(self, endpoint: str, key: str) -> list[object]:
        """The `key` of every failed request to `endpoint`: what a retry has to ask again (coins, token ids)."""
        return [f.request[key] for f in self.failures if f.endpoint == endpoint and key in f.request]


def failed_fetch(fetch: Callable[[], RawResponse], source: str, endpoint: str, method: str, path: str,
                 request: dict) -> RawResponse:
    """The response, or (when the request failed past its retries) a raw response recording the failure."""
    try:
        return fetch()
    except RequestFailed as error:
        return RawResponse(source, endpoint, method, path, request, error.status or FAILED_STATUS,
                           str(error).encode(), now_ms())


def parse_each(raws: Sequence[RawResponse], endpoint: str, parse: Callable[[RawResponse], Any]
               ) -> tuple[list[tuple[RawResponse, Any]], list[Failure]]:
    """Parse every `endpoint` response on its own: the valid ones, and a Failure for each one refused."""
    parsed, failures = [], []
    for raw in raws:
        if raw.endpoint != endpoint:
            continue
        try:
            parsed.append((raw, parse(raw)))
        except SourceError as error:
            failures.append(Failure(raw.source, raw.endpoint, raw.request, error))
    return parsed, failures


def nothing_valid(parsed: Sequence[object], failures: Sequence[Failure]) -> None:
    """When every response was refused there is nothing to write: raise the first error as it is."""
    if failures and not parsed:
        raise failures[0].error


def finish(loads: list[Load], failures: Sequence[Failure], written: int) -> list[Load]:
    """The loads of a batch, or IncompleteIngest (after the commit) when some responses were refused."""
    if failures:
        raise IncompleteIngest(failures, loads, written)
    return loads
