"""Assemble the messages an engine receives: fixed rules and the action schema, then the strategy's prompt, the
asset, its execution controls and the context packet. Deterministic: the same inputs give the same bytes (every
dict is built in a stable order, so no key sorting is needed)."""

from __future__ import annotations

import json

from clash_pipeline.decisions.action import Action
from clash_pipeline.strategy.graph import ExecutionControls

_SYSTEM = (
    "You are a trading engine for one asset. Reply with one JSON object matching this schema and nothing else: "
    "{schema}. Use only the context given; if it is not enough, hold. Sizes are notional USD (size_usd) or a "
    "fraction of equity (size_fraction). Orders are paper orders; the runtime's safety gates will reject any "
    "action outside the execution controls."
)


SYSTEM = _SYSTEM.format(schema=json.dumps(Action.model_json_schema(), sort_keys=True, separators=(",", ":")))


def assemble(strategy_prompt: str, coin: str, controls: ExecutionControls, equity_usd: float,
             packet: dict) -> tuple[dict, ...]:
    user = {
        "strategy": strategy_prompt,
        "asset": packet.get("name") or coin,  # the readable name (HYPE/USDC), the wire id is in the packet
        "equity_usd": equity_usd,
        "execution_controls": controls.model_dump(mode="json"),
        "context": packet,
    }
    return ({"role": "system", "content": SYSTEM},
            {"role": "user", "content": json.dumps(user, separators=(",", ":"))})  # built in a stable order
