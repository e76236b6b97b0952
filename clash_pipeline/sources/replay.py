"""Replay and record: httpx transports that answer from recordings in the API's own format.

Recording layout (`clash record --out DIR`, then `CLASH_REPLAY_DIR=DIR`):

    DIR/<source>/<key>.json      the response body, byte for byte
    DIR/<source>/index.jsonl     one line per recording: {"key", "method", "path", "request"}

`key` is the first 24 hex digits of the sha256 of the canonical request (method, path, sorted query,
canonical JSON body), so a replayed session that makes the same requests gets the same bodies.
A request with no recording is answered by the source's seeded generator.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

Generator = Callable[[str, str, dict], bytes]
"""Answers (method, path, request) with a body in the API's format, or raises NotFound."""


class NotFound(Exception):
    """The generator has nothing at that path: the transport answers 404, as the API would."""


def request_payload(request: httpx.Request) -> dict:
    """The request's JSON body, or its query parameters."""
    if request.content:
        return json.loads(request.content)
    return dict(sorted(request.url.params.multi_items()))


def request_key(method: str, path: str, payload: dict) -> str:
    canonical = json.dumps([method.upper(), path, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


class ReplayTransport(httpx.BaseTransport):
    """Answers from `recordings/<source>/` where a recording exists, else from the generator."""

    def __init__(self, source: str, generator: Generator, recordings: Path | None = None) -> None:
        self.source, self.generator = source, generator
        self.folder = recordings / source if recordings else None
        self.served_recorded = 0
        self.served_generated = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        payload = request_payload(request)
        path = request.url.path
        if self.folder:
            recorded = self.folder / f"{request_key(request.method, path, payload)}.json"
            if recorded.exists():
                self.served_recorded += 1
                return _json_response(recorded.read_bytes(), request)
        self.served_generated += 1
        try:
            return _json_response(self.generator(request.method, path, payload), request)
        except NotFound as missing:
            return httpx.Response(404, json={"error": str(missing)}, request=request)


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to a real transport and saves every 200 response in the recording layout."""

    def __init__(self, source: str, inner: httpx.BaseTransport, out_dir: Path) -> None:
        self.inner = inner
        self.folder = out_dir / source
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if response.status_code == 200:
            body = response.read()
            payload = request_payload(request)
            key = request_key(request.method, request.url.path, payload)
            with self._lock:
                (self.folder / f"{key}.json").write_bytes(body)
                line = {"key": key, "method": request.method, "path": request.url.path, "request": payload}
                with open(self.folder / "index.jsonl", "a") as index:
                    index.write(json.dumps(line, sort_keys=True) + "\n")
            return _json_response(body, request)
        return response


def _json_response(body: bytes, request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, content=body, request=request)
