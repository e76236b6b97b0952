"""The deployment's live-trading switch and live-only limits, from the environment (default: off)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from clash_pipeline.settings import HYPERLIQUID_MAINNET_URL, HYPERLIQUID_TESTNET_URL

LIVE_CONTEXT = "live-exchange"
ENABLE_HINT = ("set CLASH_LIVE_TRADING=testnet to enable it (mainnet needs CLASH_LIVE_TRADING=mainnet and "
               "CLASH_LIVE_MAINNET_CONFIRM=yes)")


class Network(StrEnum):
    TESTNET = "testnet"
    MAINNET = "mainnet"


class LiveDisabled(RuntimeError):
    """Live trading is not enabled for this deployment (the message names the setting)."""


@dataclass(frozen=True)
class LiveConfig:
    network: Network
    api_url: str
    max_order_usd: Decimal           # the notional of one live order
    max_day_usd: Decimal             # the notional of a clone's live orders per UTC day
    slippage: Decimal = Decimal("0.05")  # a market order is an IOC limit this far from mid (the SDK's default)
    timeout_s: float = 10.0
    approval_days: int = 30          # the approveAgent action's validUntil

    @property
    def mainnet(self) -> bool:
        return self.network is Network.MAINNET


def load_live_config(env: dict[str, str] | None = None) -> LiveConfig:
    """The live configuration; LiveDisabled (naming the setting) when live trading is off or misconfigured."""
    env = dict(os.environ if env is None else env)
    raw = env.get("CLASH_LIVE_TRADING", "").strip().lower()
    if raw in ("", "off", "0", "no"):
        raise LiveDisabled(f"live trading is off for this deployment: {ENABLE_HINT}")
    if raw not in ("testnet", "mainnet"):
        raise LiveDisabled(f"CLASH_LIVE_TRADING must be testnet or mainnet, not {raw!r}")
    network = Network(raw)
    if network is Network.MAINNET and env.get("CLASH_LIVE_MAINNET_CONFIRM", "").strip().lower() != "yes":
        raise LiveDisabled("CLASH_LIVE_TRADING=mainnet also needs CLASH_LIVE_MAINNET_CONFIRM=yes (real funds)")
    default_url = HYPERLIQUID_MAINNET_URL if network is Network.MAINNET else HYPERLIQUID_TESTNET_URL
    try:
        limits = {name: Decimal(env.get(name, default)) for name, default in
                  (("CLASH_LIVE_MAX_ORDER_USD", "1000"), ("CLASH_LIVE_MAX_DAY_USD", "5000"))}
        timeout = float(env.get("CLASH_LIVE_TIMEOUT_S", "10"))
        days = int(env.get("CLASH_LIVE_APPROVAL_DAYS", "30"))
    except (ArithmeticError, ValueError) as error:
        raise LiveDisabled(f"a CLASH_LIVE_* limit is not a number: {error}") from None
    if min(*limits.values()) <= 0 or timeout <= 0 or days <= 0:
        raise LiveDisabled("CLASH_LIVE_MAX_ORDER_USD, CLASH_LIVE_MAX_DAY_USD, CLASH_LIVE_TIMEOUT_S and "
                           "CLASH_LIVE_APPROVAL_DAYS must be positive")
    return LiveConfig(network, env.get("CLASH_LIVE_API_URL", default_url).rstrip("/"),
                      limits["CLASH_LIVE_MAX_ORDER_USD"], limits["CLASH_LIVE_MAX_DAY_USD"], timeout_s=timeout,
                      approval_days=days)
