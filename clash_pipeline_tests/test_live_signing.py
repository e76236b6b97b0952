"""Signing and the key store: the SDK's published test vectors through our wrappers, approveAgent round trips,
signatures in both wallet forms, agent keys that never show and only open under their master key and row, and the
exchange's order statuses in the order lifecycle's terms."""

from __future__ import annotations

import base64
import os
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from clash_pipeline.live import signing
from clash_pipeline.live.config import LiveDisabled, load_live_config
from clash_pipeline.live.keystore import AgentKey, Keystore, KeystoreError
from clash_pipeline.live.orders import REPORTED, reported_status
from clash_pipeline.orders import lifecycle
from clash_pipeline.orders.enums import OrderStatus

# hyperliquid-python-sdk, tests/signing_test.py (the SDK's published vectors)
VECTOR_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
ORDER_VECTORS = [  # (cloid, mainnet (r, s, v), testnet (r, s, v)): ETH (asset 1) buy 100 @ 100 Gtc, nonce 0
    (None, ("0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
            "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e", 28),
     ("0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
      "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5", 27)),
    ("0x00000000000000000000000000000001",
     ("0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3",
      "0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da", 27),
     ("0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
      "0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988", 28)),
]


def _vector_agent() -> AgentKey:
    return AgentKey(Account.from_key(VECTOR_KEY))


@pytest.mark.parametrize("cloid, mainnet, testnet", ORDER_VECTORS)
def test_orders_sign_as_the_sdks_published_vectors(cloid, mainnet, testnet):
    wire = signing.order_wire(1, True, Decimal(100), Decimal(100), False, cloid, "Gtc")
    action = signing.order_action([wire])
    for expected, is_mainnet in ((mainnet, True), (testnet, False)):
        body = signing.signed_request(_vector_agent(), action, 0, is_mainnet)
        assert (body["signature"]["r"], body["signature"]["s"], body["signature"]["v"]) == expected
        assert signing.l1_signer(body, is_mainnet) == _vector_agent().address


def test_the_wire_is_the_exact_decimal_the_gates_produced():
    wire = signing.order_wire(0, False, Decimal("0.00643"), Decimal("88570"), True, "0x" + "ab" * 16)
    assert (wire["p"], wire["s"], wire["r"], wire["t"]) == ("88570", "0.00643", True, {"limit": {"tif": "Ioc"}})
    bracket = signing.order_wire(3, False, Decimal("18.17"), Decimal("36.304"), True, None, trigger=(Decimal("36.304"),
                                                                                                     "tp"))
    assert bracket["t"] == {"trigger": {"isMarket": True, "triggerPx": "36.304", "tpsl": "tp"}} and "c" not in bracket
    with pytest.raises(ValueError, match="rounding"):
        signing.order_wire(0, True, Decimal("0.123456789"), Decimal("1"), False, None)  # beyond 8 decimals


def test_approve_agent_round_trips_through_the_owners_wallet_in_both_signature_forms():
    owner, agent = Account.create(), AgentKey.generate()
    action = signing.approve_agent_action(agent.address, "clash1 valid_until 1795000000000", 1_795_000_000_000, False)
    assert action["hyperliquidChain"] == "Testnet" and action["signatureChainId"] == "0x66eee"
    typed = signing.approve_agent_typed_data(action)
    assert typed["primaryType"] == "HyperliquidTransaction:ApproveAgent" and set(typed["message"]) == {
        "hyperliquidChain", "agentAddress", "agentName", "nonce"}
    signed = owner.sign_message(encode_typed_data(full_message=typed))
    hex_form = "0x" + bytes(signed.signature).hex()
    rsv = {"r": hex(signed.r), "s": hex(signed.s), "v": signed.v}
    assert signing.parse_signature(hex_form) == signing.parse_signature(rsv)
    assert signing.approve_agent_signer(action, signing.parse_signature(hex_form)) == owner.address
    # the same signature over another agent, or on mainnet, recovers someone else
    other = dict(action, agentAddress=AgentKey.generate().address)
    assert signing.approve_agent_signer(other, signing.parse_signature(hex_form)) != owner.address
    assert signing.approve_agent_signer(dict(action, hyperliquidChain="Mainnet"), rsv) != owner.address
    for bad in ("0x1234", {"r": "zz", "s": "0x1", "v": 27}, {"r": "0x1", "s": "0x1", "v": 5}, None):
        with pytest.raises(signing.SignatureInvalid):
            signing.parse_signature(bad)


def test_agent_keys_seal_under_the_master_key_and_never_show():
    master = base64.urlsafe_b64encode(os.urandom(32)).decode()
    store, key = Keystore.from_env({"CLASH_MASTER_KEY": master}), AgentKey.generate()
    secret = bytes(key.wallet.key).hex()
    sealed = store.seal(7, key)
    assert secret not in sealed.hex() and secret not in repr(key) + str(key) + repr(store)
    assert master not in repr(store)
    assert store.open(7, key.address, sealed).address == key.address
    with pytest.raises(KeystoreError, match="does not decrypt") as wrong_row:
        store.open(8, key.address, sealed)  # bound to its clone: a row copied to another clone does not open
    other = Keystore.from_env({"CLASH_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode()})
    with pytest.raises(KeystoreError, match="a different master key") as wrong_master:
        other.open(7, key.address, sealed)
    assert secret not in str(wrong_row.value) + str(wrong_master.value)
    for env in ({}, {"CLASH_MASTER_KEY": "short"}):
        with pytest.raises(KeystoreError, match="CLASH_MASTER_KEY"):
            Keystore.from_env(env)
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(key)


def test_live_trading_is_off_unless_the_deployment_enables_it():
    for env, setting in (({}, "CLASH_LIVE_TRADING=testnet"), ({"CLASH_LIVE_TRADING": "yes"}, "testnet or mainnet"),
                         ({"CLASH_LIVE_TRADING": "mainnet"}, "CLASH_LIVE_MAINNET_CONFIRM=yes"),
                         ({"CLASH_LIVE_TRADING": "testnet", "CLASH_LIVE_MAX_DAY_USD": "-1"}, "must be positive")):
        with pytest.raises(LiveDisabled, match=setting):
            load_live_config(env)
    config = load_live_config({"CLASH_LIVE_TRADING": "mainnet", "CLASH_LIVE_MAINNET_CONFIRM": "yes"})
    assert config.mainnet and config.api_url == "https://api.hyperliquid.xyz"
    assert load_live_config({"CLASH_LIVE_TRADING": "testnet"}).api_url == "https://api.hyperliquid-testnet.xyz"


def test_the_exchanges_order_statuses_are_the_lifecycles():
    S = OrderStatus
    assert reported_status("open", "1.0", "1.0") is S.RESTING and reported_status("open", "1.0", "0.4") is \
        S.PARTIALLY_FILLED
    assert reported_status("marginCanceled", "1", "1") is S.CANCELLED and reported_status("rejected", None, None) is \
        S.REJECTED
    assert reported_status("filled", "1", "0") is S.FILLED and reported_status("canceled", "1", "0.5") is \
        S.PARTIALLY_FILLED
    for status, event in REPORTED.items():  # each reported status is reached by its event from sent and unknown
        assert lifecycle.TRANSITIONS[S.SENT, event] == lifecycle.TRANSITIONS[S.UNKNOWN, event] == status
