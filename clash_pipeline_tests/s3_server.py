"""A real S3 protocol server on 127.0.0.1 for tests and benchmarks: moto's server mode, behind a small proxy
that can answer with throttling or 5xx errors, slow down, or go away (drop connections) and come back."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

ERRORS = {429: "TooManyRequests", 500: "InternalError", 503: "SlowDown"}
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    def __init__(self) -> None:
        self.moto_port = free_port()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self.moto.start()
        self.faults: deque[int] = deque()
        self.down = False
        self.delay_s = 0.0
        self.requests = 0
        server = self

        class Proxy(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                server.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if server.down:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if server.delay_s:
                    time.sleep(server.delay_s)
                if server.faults:
                    status = server.faults.popleft()
                    payload = (f"<?xml version='1.0'?><Error><Code>{ERRORS.get(status, 'Error')}</Code>"
                               f"<Message>injected</Message></Error>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", server.moto_port, timeout=30)
                upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_HEADERS:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        self.proxy.daemon_threads = True
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The endpoint clients use (through the proxy)."""
        return f"http://127.0.0.1:{self.proxy.server_address[1]}"

    def direct_client(self):
        """A boto3 client straight to moto, for set-up and for checks that bypass the faults."""
        return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.moto_port}", aws_access_key_id="test",
                            aws_secret_access_key="test", region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}))

    def create_bucket(self, name: str) -> str:
        self.direct_client().create_bucket(Bucket=name)
        return name

    def reset(self) -> None:
        self.faults.clear()
        self.down, self.delay_s = False, 0.0

    def stop(self) -> None:
        self.proxy.shutdown()
        self.moto.stop()
