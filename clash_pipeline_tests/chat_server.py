"""A Chat Completions server on 127.0.0.1 for tests: the request's `model` picks the behaviour
(valid, invalid, refuse, empty, slow, fail; notjson / notjson-html: a 200 whose body is not JSON;
notcompletion: JSON that is not a chat completion; ratelimit: a 429 with `Retry-After: 0.2` for the first
request of that model, then valid). `delay_s` delays every reply (a model that takes its time); the server counts
the requests in flight (`max_in_flight`, also at GET /stats). `python -m clash_pipeline_tests.chat_server
--delay 0.3` serves in a process of its own and prints its base URL."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VALID = {"action": "open_long", "size_usd": 250.0, "leverage": 2.0, "order_type": "market", "confidence": 0.7,
         "reason": "trend up"}


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # a thousand clients at once queue, not refused
    daemon_threads = True


class ChatServer:
    def __init__(self, slow_s: float = 2.0, delay_s: float = 0.0, port: int = 0, keep_requests: bool = True) -> None:
        self.requests: list[dict] = []
        self.slow_s, self.delay_s, self.keep_requests = slow_s, delay_s, keep_requests
        self.in_flight = self.max_in_flight = self.served = 0
        self._lock = threading.Lock()
        self._limited: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._send(200, {"max_in_flight": server.max_in_flight, "served": server.served})

            def do_POST(self) -> None:
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer()
                finally:
                    with server._lock:
                        server.in_flight -= 1
                        server.served += 1

            def _answer(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if server.keep_requests:
                    server.requests.append({"body": body, "authorization": self.headers.get("Authorization")})
                model = body["model"]
                if server.delay_s:
                    time.sleep(server.delay_s)
                if model == "ratelimit" and model not in server._limited:
                    server._limited.add(model)
                    return self._send(429, {"error": {"message": "slow down", "type": "rate_limit"}},
                                      {"Retry-After": "0.2"})
                if model == "fail":
                    return self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                if model in ("notjson", "notjson-html"):
                    return self._send_raw(200, b"<html><body>upstream proxy error</body></html>",
                                          "application/json" if model == "notjson" else "text/html")
                if model == "notcompletion":
                    return self._send(200, {"status": "ok", "detail": "not a completion"})
                if model == "slow":
                    time.sleep(server.slow_s)
                content, refusal = json.dumps(VALID), None
                if model == "invalid":
                    content = json.dumps({"action": "buy_everything", "size_usd": -5})
                elif model == "refuse":
                    content, refusal = None, "I can't help with trading."
                elif model == "empty":
                    content = ""
                self._send(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": 1_795_000_000, "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content, "refusal": refusal}}],
                    "usage": {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366},
                })

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

            def _send_raw(self, status: int, data: bytes, content_type: str, headers: dict | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the client gave up (the slow case)
                    pass

        self.httpd = _Server(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self.httpd.shutdown()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="a loopback Chat Completions server for benchmarks")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every reply")
    args = parser.parse_args()
    chat = ChatServer(delay_s=args.delay, keep_requests=False)
    print(chat.base_url, flush=True)
    threading.Event().wait()
