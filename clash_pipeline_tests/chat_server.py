"""A Chat Completions server on 127.0.0.1 for tests: the request's `model` picks the behaviour
(valid, invalid, refuse, empty, slow, fail; notjson / notjson-html: a 200 whose body is not JSON;
notcompletion: JSON that is not a chat completion)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VALID = {"action": "open_long", "size_usd": 250.0, "leverage": 2.0, "order_type": "market", "confidence": 0.7,
         "reason": "trend up"}


class ChatServer:
    def __init__(self, slow_s: float = 2.0) -> None:
        self.requests: list[dict] = []
        self.slow_s = slow_s
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"body": body, "authorization": self.headers.get("Authorization")})
                model = body["model"]
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

            def _send(self, status: int, payload: dict) -> None:
                self._send_raw(status, json.dumps(payload).encode(), "application/json")

            def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the client gave up (the slow case)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self.httpd.shutdown()
