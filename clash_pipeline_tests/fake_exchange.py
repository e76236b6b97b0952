"""A loopback Hyperliquid `/exchange` + `/info` for tests: it checks what the real exchange checks, with its own texts.

- Every signature is recovered with eth-account, independently of the code under test (its own msgpack action
  hash and EIP-712 messages): an `approveAgent` registers the agent for the address that signed it; an order's
  signer must be an approved, unexpired agent ("User or API Wallet 0x... does not exist.").
- Nonces: unique per signer among the 100 highest kept ("Invalid nonce: duplicate nonce N").
- Prices and sizes: the tick and lot rules ("Order has invalid price.", "Order has invalid size.", the $10 minimum).
- Orders fill from a book (levels consumed as they fill); IOC remainders cancel; GTC rests; TP/SL brackets wait.
- Test levers: `on_order` (called before an order is applied), `delay_s` (answer late, after applying),
  `drop_s` (do not apply, answer late), `revoke_agent`, `add_funding`, `external_fill`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgpack
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from clash_pipeline.market.exchange_rules import valid_price
from clash_pipeline.paper.positions import Position, apply_fill

DOMAIN_TYPES = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]
ZERO = "0x0000000000000000000000000000000000000000"
TAKER_FEE = Decimal("0.00045")


def recover_l1(action: dict, nonce: int, signature: dict, mainnet: bool) -> str:
    digest = keccak(msgpack.packb(action) + nonce.to_bytes(8, "big") + b"\x00")
    data = {"domain": {"name": "Exchange", "version": "1", "chainId": 1337, "verifyingContract": ZERO},
            "types": {"EIP712Domain": DOMAIN_TYPES, "Agent": [{"name": "source", "type": "string"},
                                                             {"name": "connectionId", "type": "bytes32"}]},
            "primaryType": "Agent", "message": {"source": "a" if mainnet else "b", "connectionId": digest}}
    return Account.recover_message(encode_typed_data(full_message=data),
                                   vrs=(signature["v"], int(signature["r"], 16), int(signature["s"], 16)))


def recover_approve_agent(action: dict, signature: dict) -> str:
    fields = [{"name": "hyperliquidChain", "type": "string"}, {"name": "agentAddress", "type": "address"},
              {"name": "agentName", "type": "string"}, {"name": "nonce", "type": "uint64"}]
    data = {"domain": {"name": "HyperliquidSignTransaction", "version": "1",
                       "chainId": int(action["signatureChainId"], 16), "verifyingContract": ZERO},
            "types": {"EIP712Domain": DOMAIN_TYPES, "HyperliquidTransaction:ApproveAgent": fields},
            "primaryType": "HyperliquidTransaction:ApproveAgent",
            "message": {f["name"]: action[f["name"]] for f in fields}}
    return Account.recover_message(encode_typed_data(full_message=data),
                                   vrs=(signature["v"], int(signature["r"], 16), int(signature["s"], 16)))


class FakeExchange:
    def __init__(self, assets: dict[str, tuple[int, int]], books: dict[str, tuple[list, list]],
                 clock: Callable[[], int], mainnet: bool = False) -> None:
        self.assets = assets                      # coin -> (asset id, szDecimals); perps
        self.by_asset = {a: coin for coin, (a, _) in assets.items()}
        self.books = {coin: ([list(level) for level in bids], [list(level) for level in asks])
                      for coin, (bids, asks) in books.items()}
        self.clock, self.mainnet = clock, mainnet
        self.usdc: dict[str, Decimal] = {}        # user -> cash (deposits, realized PnL, fees, funding)
        self.positions: dict[str, dict[str, Position]] = {}
        self.agents: dict[str, tuple[str, int | None]] = {}  # agent -> (user, valid until)
        self.nonces: dict[str, list[int]] = {}
        self.orders: dict[int, dict] = {}
        self.fills: dict[str, list[dict]] = {}
        self.funding: dict[str, list[dict]] = {}
        self.requests: list[dict] = []            # every /exchange body received
        self.applied_orders: list[dict] = []      # every order wire placed (not rejected)
        self.on_order: Callable[[dict], None] | None = None
        self.delay_s = self.drop_s = 0.0
        self._oid, self._tid = 1000, 5000
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeExchange:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test levers ------------------------------------------------------------------------------------------
    def deposit(self, user: str, usdc: Decimal) -> None:
        self.usdc[user.lower()] = self.usdc.get(user.lower(), Decimal(0)) + usdc

    def revoke_agent(self, agent: str) -> None:
        self.agents.pop(agent.lower(), None)

    def add_funding(self, user: str, coin: str, usdc: Decimal, time_ms: int) -> None:
        position = self.positions[user.lower()][coin]
        self.usdc[user.lower()] += usdc
        delta = {"type": "funding", "coin": coin, "usdc": str(usdc), "szi": str(position.size),
                 "fundingRate": "0.0000125"}
        self.funding.setdefault(user.lower(), []).append({"time": time_ms, "hash": "0x" + "0" * 64, "delta": delta})

    def external_fill(self, user: str, coin: str, side: str, size: Decimal) -> None:
        """The owner trading the same account by hand (what reconciliation must notice)."""
        with self._lock:
            self._fill(user.lower(), coin, side, size, self.mid(coin), self._next_oid(), None)

    # -- matching ---------------------------------------------------------------------------------------------
    def mid(self, coin: str) -> Decimal:
        bids, asks = self.books[coin]
        return (bids[0][0] + asks[0][0]) / 2

    def _next_oid(self) -> int:
        self._oid += 1
        return self._oid

    def _fill(self, user: str, coin: str, side: str, size: Decimal, px: Decimal, oid: int, cloid: str | None) -> None:
        positions = self.positions.setdefault(user, {})
        current = positions.get(coin, Position(coin, leverage=Decimal(20)))
        moved, realized = apply_fill(current, side, size, px)
        positions[coin] = moved
        fee = (size * px * TAKER_FEE).quantize(Decimal("0.000001"))  # the exchange states fees in micro-USDC
        self.usdc[user] = self.usdc.get(user, Decimal(0)) + realized - fee
        self._tid += 1
        fill = {"coin": coin, "px": str(px), "sz": str(size), "side": "B" if side == "buy" else "A",
                "time": self.clock(), "startPosition": str(current.size), "dir": "Open Long" if side == "buy" else
                "Open Short", "closedPnl": str(realized), "hash": "0x" + f"{self._tid:064x}", "oid": oid,
                "crossed": True, "fee": str(fee), "tid": self._tid, "feeToken": "USDC"}
        if cloid:
            fill["cloid"] = cloid
        self.fills.setdefault(user, []).append(fill)

    def _place(self, user: str, wire: dict) -> dict:
        coin = self.by_asset.get(wire["a"])
        if coin is None:
            return {"error": f"Invalid asset {wire['a']}"}
        sz_decimals = self.assets[coin][1]
        px, sz = Decimal(wire["p"]), Decimal(wire["s"])
        if "trigger" in wire["t"]:
            px = Decimal(wire["t"]["trigger"]["triggerPx"])
        if not valid_price(px, "perp", sz_decimals):
            return {"error": "Order has invalid price."}
        if sz <= 0 or -sz.normalize().as_tuple().exponent > sz_decimals:
            return {"error": "Order has invalid size."}
        if "trigger" in wire["t"]:
            oid = self._next_oid()
            self.orders[oid] = {"user": user, "coin": coin, "side": "B" if wire["b"] else "A", "limitPx": wire["p"],
                                "sz": wire["s"], "origSz": wire["s"], "oid": oid, "cloid": wire.get("c"),
                                "status": "triggerPending", "timestamp": self.clock()}
            return "waitingForTrigger"
        if sz * px < 10:
            return {"error": f"Order must have minimum value of $10. asset={wire['a']}"}
        equity, used = self._equity(user)
        if sz * px / 20 > equity - used:
            return {"error": f"Insufficient margin to place order. asset={wire['a']}"}
        buying = wire["b"]
        levels = self.books[coin][1 if buying else 0]
        oid, remaining, filled, cost = self._next_oid(), sz, Decimal(0), Decimal(0)
        for level in levels:
            if remaining <= 0 or (level[0] > px if buying else level[0] < px):
                break
            take = min(level[1], remaining)
            self._fill(user, coin, "buy" if buying else "sell", take, level[0], oid, wire.get("c"))
            level[1] -= take
            remaining, filled, cost = remaining - take, filled + take, cost + take * level[0]
        levels[:] = [level for level in levels if level[1] > 0]
        tif = wire["t"]["limit"]["tif"]
        status = "filled" if remaining == 0 else "open" if tif == "Gtc" else "canceled"
        self.orders[oid] = {"user": user, "coin": coin, "side": "B" if buying else "A", "limitPx": wire["p"],
                            "sz": str(remaining), "origSz": wire["s"], "oid": oid, "cloid": wire.get("c"),
                            "status": status, "timestamp": self.clock()}
        self.applied_orders.append(wire)
        if filled == 0 and tif == "Ioc":
            return {"error": f"Order could not immediately match against any resting orders. asset={wire['a']}"}
        if filled:
            return {"filled": {"totalSz": str(filled), "avgPx": str(cost / filled), "oid": oid}}
        return {"resting": {"oid": oid}}

    def _equity(self, user: str) -> tuple[Decimal, Decimal]:
        positions = self.positions.get(user, {})
        unrealized = sum((p.unrealized(self.mid(c)) for c, p in positions.items()), Decimal(0))
        used = sum((p.notional(self.mid(c)) / p.leverage for c, p in positions.items()), Decimal(0))
        return self.usdc.get(user, Decimal(0)) + unrealized, used

    # -- the two doors ----------------------------------------------------------------------------------------
    def _nonce_ok(self, signer: str, nonce: int) -> str | None:
        seen = self.nonces.setdefault(signer, [])
        if nonce in seen:
            return f"Invalid nonce: duplicate nonce {nonce}"
        if len(seen) >= 100 and nonce < min(seen):
            return f"Invalid nonce: nonce {nonce} too low"
        seen.append(nonce)
        seen.sort()
        del seen[:-100]
        return None

    def exchange(self, body: dict) -> dict:
        self.requests.append(body)
        action, nonce, signature = body["action"], body["nonce"], body["signature"]
        if action["type"] == "approveAgent":
            if action["hyperliquidChain"] != ("Mainnet" if self.mainnet else "Testnet"):
                return {"status": "err", "response": "Invalid hyperliquidChain"}
            user = recover_approve_agent(action, signature).lower()
            if (problem := self._nonce_ok(user, nonce)) is not None:
                return {"status": "err", "response": problem}
            until = re.search(r"valid_until (\d+)", action["agentName"])
            self.agents[action["agentAddress"].lower()] = (user, int(until.group(1)) if until else None)
            return {"status": "ok", "response": {"type": "default"}}
        if action["type"] != "order":
            return {"status": "err", "response": f"Unknown action {action['type']}"}
        signer = recover_l1(action, nonce, signature, self.mainnet).lower()
        user, until = self.agents.get(signer, (None, None))
        if user is None or (until is not None and until <= self.clock()):
            return {"status": "err", "response": f"User or API Wallet {signer} does not exist."}
        if (problem := self._nonce_ok(signer, nonce)) is not None:
            return {"status": "err", "response": problem}
        if self.on_order:
            self.on_order(body)
        statuses = [self._place(user, wire) for wire in action["orders"]]
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}

    def info(self, body: dict) -> object:
        kind, user = body["type"], str(body.get("user", "")).lower()
        if kind == "allMids":
            return {coin: str(self.mid(coin)) for coin in self.books}
        if kind == "clearinghouseState":
            equity, used = self._equity(user)
            positions = [{"type": "oneWay", "position": {
                "coin": coin, "szi": str(p.size), "entryPx": str(p.entry),
                "positionValue": str(p.notional(self.mid(coin))),
                "unrealizedPnl": str(p.unrealized(self.mid(coin))), "leverage": {"type": "cross", "value": 20},
                "marginUsed": str(p.notional(self.mid(coin)) / p.leverage)}}
                for coin, p in self.positions.get(user, {}).items() if p.size != 0]
            summary = {"accountValue": str(equity), "totalNtlPos": str(sum(
                (p.notional(self.mid(c)) for c, p in self.positions.get(user, {}).items()), Decimal(0))),
                "totalRawUsd": str(self.usdc.get(user, Decimal(0))), "totalMarginUsed": str(used)}
            return {"marginSummary": summary, "crossMarginSummary": summary, "withdrawable": str(equity - used),
                    "assetPositions": positions, "time": self.clock()}
        if kind == "orderStatus":
            oid = body["oid"]
            found = next((o for o in self.orders.values() if o["user"] == user and
                          (o["oid"] == oid or o["cloid"] == oid)), None)
            if found is None:
                return {"status": "unknownOid"}
            order = {k: v for k, v in found.items() if k not in ("user", "status")}
            return {"status": "order", "order": {"order": order, "status": found["status"],
                                                 "statusTimestamp": found["timestamp"]}}
        if kind == "userFillsByTime":
            end = body.get("endTime") or 2**63
            return [f for f in self.fills.get(user, []) if body["startTime"] <= f["time"] <= end]
        if kind == "userFunding":
            end = body.get("endTime") or 2**63
            return [f for f in self.funding.get(user, []) if body["startTime"] <= f["time"] <= end]
        return {"error": f"unknown info type {kind}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/exchange" and fake.drop_s:
                    delay, fake.drop_s = fake.drop_s, 0.0
                    time.sleep(delay)  # never applied; the caller has given up by now
                    return self._send({"status": "err", "response": "dropped"})
                with fake._lock:
                    answer = fake.exchange(body) if self.path == "/exchange" else fake.info(body)
                    delay = fake.delay_s if self.path == "/exchange" else 0.0
                    if delay:
                        fake.delay_s = 0.0
                if delay:
                    time.sleep(delay)  # applied, answered too late
                self._send(answer)

            def _send(self, answer: object) -> None:
                data = json.dumps(answer).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
