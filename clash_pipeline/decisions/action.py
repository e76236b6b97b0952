"""The action schema an engine proposes (a pydantic model: the structured-output schema of the openai engine)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ACTIONS = ("hold", "open_long", "open_short", "reduce", "close")


class Action(BaseModel):
    """One proposal for one asset. Size as notional USD or as a fraction of equity (one of them to trade)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["hold", "open_long", "open_short", "reduce", "close"]
    size_usd: float | None = Field(None, gt=0, allow_inf_nan=False)
    size_fraction: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    leverage: float | None = Field(None, gt=0, le=100, allow_inf_nan=False)
    order_type: Literal["market", "limit"] = "market"
    limit_price: float | None = Field(None, gt=0, allow_inf_nan=False)
    take_profit: float | None = Field(None, gt=0, allow_inf_nan=False)
    stop_loss: float | None = Field(None, gt=0, allow_inf_nan=False)
    confidence: float = Field(0.5, ge=0, le=1)
    reason: str = Field("", max_length=2000)

    @property
    def trades(self) -> bool:
        return self.action != "hold"

    @property
    def side(self) -> str | None:
        return {"open_long": "buy", "open_short": "sell"}.get(self.action)


HOLD = Action(action="hold", confidence=1.0, reason="hold")
