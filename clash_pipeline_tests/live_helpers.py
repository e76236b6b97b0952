"""Live-trading test setup: the loopback exchange seeded from market memory, owners, a venue, approval."""

from __future__ import annotations

import base64
import os
from decimal import Decimal

from eth_account import Account
from eth_account.messages import encode_typed_data

from clash_pipeline.live import agents
from clash_pipeline.live.client import ExchangeClient
from clash_pipeline.live.config import load_live_config
from clash_pipeline.live.execute import Venue
from clash_pipeline.live.keystore import Keystore
from clash_pipeline.paper.market import snapshot
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS
from clash_pipeline_tests.fake_exchange import FakeExchange


def master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def fake_exchange(conn, clock=lambda: NOW_MS) -> FakeExchange:
    """A loopback exchange whose books are the market memory's at NOW_MS."""
    assets, books = {}, {}
    for coin in TRADING_COINS:
        asset, sz_decimals = conn.execute("SELECT asset_id, sz_decimals FROM hl_assets WHERE coin = ?",
                                          (coin,)).fetchone()
        snap = snapshot(conn, coin, NOW_MS)
        assets[coin] = (asset, sz_decimals)
        books[coin] = ([list(level) for level in snap.bids], [list(level) for level in snap.asks])
    return FakeExchange(assets, books, clock)


def live_env(url: str, key: str, **extra: str) -> dict[str, str]:
    return {"CLASH_LIVE_TRADING": "testnet", "CLASH_LIVE_API_URL": url, "CLASH_MASTER_KEY": key,
            "CLASH_LIVE_MAX_ORDER_USD": "1000", "CLASH_LIVE_MAX_DAY_USD": "10000", "CLASH_LIVE_TIMEOUT_S": "0.3",
            **extra}


def venue(env: dict[str, str], clock=lambda: NOW_MS) -> Venue:
    config = load_live_config(env)
    return Venue(ExchangeClient(config.api_url, config.timeout_s), config, Keystore.from_env(env), clock)


def owner_of(conn, clone_id: int, fake: FakeExchange, usdc: Decimal = Decimal(5000)):
    """A fresh owner wallet for the clone (its creator), funded on the exchange."""
    owner = Account.create()
    conn.execute("UPDATE clones SET creator = ? WHERE clone_id = ?", (owner.address, clone_id))
    fake.deposit(owner.address, usdc)
    return owner


def owner_signature(owner, payload: dict) -> str:
    """What the owner's wallet does with `typed_data` (eth_signTypedData_v4): a 65-byte hex signature."""
    return "0x" + bytes(owner.sign_message(encode_typed_data(full_message=payload["typed_data"])).signature).hex()


def connect_and_approve(conn, clone_id: int, owner, v: Venue) -> dict:
    payload = agents.connect(conn, clone_id, v.config, v.keystore, v.clock())
    agents.approve(conn, clone_id, {"signature": owner_signature(owner, payload)}, v.client, v.config, v.clock())
    return payload
