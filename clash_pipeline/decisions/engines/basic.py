"""Engines without a model: `hold` (always holds) and `rules` (a deterministic baseline).

`rules` reads three signals from the context packet:
- momentum: the return of the last closed candle's close over the close 12 candles earlier;
- book imbalance: (bid - ask) / (bid + ask) depth within 100 bps, from the liquidity channel;
- funding: the current hourly funding rate (positive = longs pay, a crowded long).
score = 0.6 * clip(momentum / 1%) + 0.25 * imbalance - 0.15 * clip(funding / 0.01%), each clip to [-1, 1].
Above +0.3 it opens a long, below -0.3 a short, else it holds; size is 10% of equity x |score| within the block's
order bounds, leverage min(2, the block's max), a market order, with the block's stop-loss and take-profit
around the last close.
"""

from __future__ import annotations

import time

from clash_pipeline.decisions.action import HOLD, Action
from clash_pipeline.decisions.engines import EngineRequest, Proposal, register

MOMENTUM_LOOKBACK = 12
THRESHOLD = 0.3
HOLD_REPLY = HOLD.model_dump_json()  # the reply every hold proposal carries


@register("hold")
class HoldEngine:
    name = "hold"
    pure = True

    def __init__(self, **_: object) -> None:
        pass

    def propose(self, request: EngineRequest) -> Proposal:
        return Proposal(HOLD, "ok", HOLD_REPLY)


def _clip(value: float) -> float:
    return max(-1.0, min(1.0, value))


def _rows(packet: dict, channel: str, read: str) -> tuple[list[str], list[list]]:
    body = packet["channels"].get(channel, {}).get("reads", {}).get(read)
    return (body["columns"], body["rows"]) if body else ([], [])


def signals(packet: dict) -> dict[str, float] | None:
    columns, candles = _rows(packet, "hyperliquid.candles", "candles")
    if len(candles) < 2:
        return None
    close = columns.index("close")
    back = candles[max(0, len(candles) - 1 - MOMENTUM_LOOKBACK)][close]
    momentum = candles[-1][close] / back - 1
    columns, liquidity = _rows(packet, "hyperliquid.liquidity", "liquidity")
    imbalance = liquidity[-1][columns.index("imbalance")] if liquidity else 0.0
    columns, pressure = _rows(packet, "hyperliquid.funding", "pressure")
    funding = pressure[-1][columns.index("funding")] if pressure else 0.0
    score = 0.6 * _clip(momentum / 0.01) + 0.25 * imbalance - 0.15 * _clip(funding / 0.0001)
    return {"momentum": momentum, "imbalance": imbalance, "funding": funding, "score": score,
            "last_close": candles[-1][close]}


@register("rules")
class RulesEngine:
    name = "rules"
    pure = True

    def __init__(self, **_: object) -> None:
        pass

    def propose(self, request: EngineRequest) -> Proposal:
        started = time.perf_counter()
        found = signals(request.packet)
        if found is None:
            action = Action(action="hold", confidence=1.0, reason="no closed candles in the context")
        elif abs(found["score"]) < THRESHOLD:
            action = Action(action="hold", confidence=round(1 - abs(found["score"]), 4),
                            reason=f"signals disagree or are weak: score {found['score']:+.3f}")
        else:
            long, last, controls = found["score"] > 0, found["last_close"], request.controls
            stop = controls.stop_loss_pct / 100 if controls.stop_loss_pct else None
            take = controls.take_profit_pct / 100 if controls.take_profit_pct else None
            size = min(max(request.equity_usd * 0.1 * abs(found["score"]), controls.min_order_usd),
                       controls.max_order_usd)
            action = Action(
                action="open_long" if long else "open_short", size_usd=round(size, 2),
                leverage=min(2.0, controls.max_leverage), order_type="market",
                stop_loss=None if stop is None else last * (1 - stop if long else 1 + stop),
                take_profit=None if take is None else last * (1 + take if long else 1 - take),
                confidence=round(min(abs(found["score"]), 1.0), 4),
                reason=(f"score {found['score']:+.3f}: momentum {found['momentum']:+.4%}, "
                        f"imbalance {found['imbalance']:+.3f}, funding {found['funding']:+.6f}/h"),
            )
        return Proposal(action, "ok", action.model_dump_json(), latency_ms=(time.perf_counter() - started) * 1000)
