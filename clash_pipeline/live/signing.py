"""Signatures and wire format, through hyperliquid-python-sdk's signing utilities (checked against its vectors).

- L1 actions (orders) are signed by the agent: an EIP-712 "Agent" message over the msgpack hash of the action and
  its nonce (`sign_l1_action`).
- `approveAgent` is a user-signed EIP-712 action (`HyperliquidTransaction:ApproveAgent`): the server builds it, the
  owner's wallet signs it, the server recovers the signer and forwards it only if that is the clone's owner.
- Prices and sizes go on the wire as the SDK writes them; each must equal the exact decimal the gates produced.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal

from hyperliquid.utils import signing as sdk
from hyperliquid.utils.types import Cloid

from clash_pipeline.live.keystore import AgentKey
from clash_pipeline.market.exchange_rules import plain

AGENT_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
AGENT_PRIMARY = "HyperliquidTransaction:ApproveAgent"
SIGNATURE_CHAIN_ID = "0x66eee"
HEX_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")


class SignatureInvalid(ValueError):
    pass


def wire_decimal(value: Decimal) -> str:
    """The exchange's text for an exact decimal (no exponent, no trailing zeros)."""
    return format(plain(value), "f")


def order_wire(asset: int, is_buy: bool, size: Decimal, price: Decimal, reduce_only: bool, cloid: str | None,
               tif: str | None = "Ioc", trigger: tuple[Decimal, str] | None = None) -> dict:
    """One order in wire form (SDK); a ValueError if the SDK's text is not exactly our decimal."""
    order_type = {"trigger": {"triggerPx": float(trigger[0]), "isMarket": True, "tpsl": trigger[1]}} if trigger \
        else {"limit": {"tif": tif}}
    wire = sdk.order_request_to_order_wire(
        {"coin": "", "is_buy": is_buy, "sz": float(size), "limit_px": float(price), "order_type": order_type,
         "reduce_only": reduce_only, "cloid": Cloid.from_str(cloid) if cloid else None}, asset)
    if wire["p"] != wire_decimal(price) or wire["s"] != wire_decimal(size) or \
            (trigger and wire["t"]["trigger"]["triggerPx"] != wire_decimal(trigger[0])):
        raise ValueError(f"wire format changed the order: {wire['s']} @ {wire['p']} for {size} @ {price}")
    return wire


def order_action(wires: list[dict], grouping: str = "na") -> dict:
    return sdk.order_wires_to_order_action(wires, None, grouping)


def signed_request(agent: AgentKey, action: dict, nonce: int, mainnet: bool) -> dict:
    """The /exchange body of an L1 action signed by the agent."""
    signature = sdk.sign_l1_action(agent.wallet, action, None, nonce, None, mainnet)
    return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None, "expiresAfter": None}


def l1_signer(body: dict, mainnet: bool) -> str:
    """The address that signed an L1 request (what the exchange checks against its approved agents)."""
    return sdk.recover_agent_or_user_from_l1_action(body["action"], body["signature"], body.get("vaultAddress"),
                                                    body["nonce"], body.get("expiresAfter"), mainnet)


def approve_agent_action(agent_address: str, agent_name: str, nonce: int, mainnet: bool) -> dict:
    """The approveAgent action as it is posted (the fields the owner signs, plus type and signatureChainId)."""
    return {"type": "approveAgent", "signatureChainId": SIGNATURE_CHAIN_ID,
            "hyperliquidChain": "Mainnet" if mainnet else "Testnet", "agentAddress": agent_address,
            "agentName": agent_name, "nonce": nonce}


def approve_agent_typed_data(action: dict) -> dict:
    """The EIP-712 typed data of an approveAgent action, for the owner's wallet (eth_signTypedData_v4)."""
    message = {field["name"]: action[field["name"]] for field in AGENT_TYPES}
    data = sdk.user_signed_payload(AGENT_PRIMARY, AGENT_TYPES, {**message, "signatureChainId": SIGNATURE_CHAIN_ID})
    data["message"] = message
    return data


def parse_signature(value: object) -> dict:
    """{r, s, v} from a wallet's 65-byte hex signature or an {r, s, v} object; SignatureInvalid otherwise."""
    if isinstance(value, str) and HEX_SIGNATURE.fullmatch(value):
        raw = bytes.fromhex(value[2:])
        v = raw[64] if raw[64] >= 27 else raw[64] + 27
        return {"r": hex(int.from_bytes(raw[:32], "big")), "s": hex(int.from_bytes(raw[32:64], "big")), "v": v}
    if isinstance(value, dict) and set(value) >= {"r", "s", "v"}:
        try:
            r, s, v = int(str(value["r"]), 16), int(str(value["s"]), 16), int(value["v"])
        except (TypeError, ValueError):
            raise SignatureInvalid("signature: r and s must be hex and v an integer") from None
        if v not in (27, 28) or not (0 < r < 2**256 and 0 < s < 2**256):
            raise SignatureInvalid("signature: v must be 27 or 28, r and s 32-byte integers")
        return {"r": hex(r), "s": hex(s), "v": v}
    raise SignatureInvalid("signature: expected a 65-byte hex string (0x + 130 hex digits) or {r, s, v}")


def approve_agent_signer(action: dict, signature: dict) -> str:
    """The address that signed an approveAgent action (its own hyperliquidChain, as the exchange recovers it)."""
    try:
        return sdk.recover_user_from_user_signed_action(copy.deepcopy(action), signature, AGENT_TYPES, AGENT_PRIMARY,
                                                        action["hyperliquidChain"] == "Mainnet")
    except Exception as error:  # a malformed signature: not recoverable
        raise SignatureInvalid(f"signature does not recover: {type(error).__name__}") from None
