"""Helpers for the API tests and benchmark: a real uvicorn server on a free loopback port in a thread, and
wallet sign-in with a local test key."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from eth_account import Account
from eth_account.messages import encode_defunct

DOMAIN = "app.clash.test"
CHAIN = 4326


@contextmanager
def serve(app) -> Iterator[str]:
    """Run `app` on 127.0.0.1:<free port> until the block ends; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def sign_in(client: httpx.Client, account, chain_id: int = CHAIN) -> dict:
    """Challenge, sign with personal_sign, verify: the verify answer (tokens, user)."""
    challenge = client.post("/api/v1/auth/siwe/challenge", json={"address": account.address, "chainId": chain_id,
                                                                  "statement": "Sign in to Clash of Clones."})
    challenge.raise_for_status()
    message = challenge.json()["message"]
    signature = Account.sign_message(encode_defunct(text=message), account.key).signature.to_0x_hex()
    verified = client.post("/api/v1/auth/siwe/verify", json={"message": message, "signature": signature})
    verified.raise_for_status()
    return verified.json()


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['accessToken']}"}
