"""Engines propose an action for one (strategy, asset) from its prompt and context packet.

An engine is a small interface; a new one is one file in this package that registers itself with
`@register("name")`: every module here is imported when an engine is first asked for, so the worker, and the
graph validation (the engines a prompt block may name), find it by its name with no other change. An engine that
calls a model says `needs_model = True` (a prompt block must then name one) and `concurrent = True` (the runtime
calls it from a pool of threads; it must read no database). An engine that is a cheap, deterministic function of
its request (no model, no network) says `pure = True`: the runtime decides its runs before it claims them, and the
run's one INSERT is the claim (deciding a run twice, when two workers race for it, costs nothing and records once).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from clash_pipeline.decisions.action import Action
from clash_pipeline.decisions.prompting import assemble
from clash_pipeline.strategy.graph import ExecutionControls

REPLY_STATUSES = ("ok", "refused", "malformed", "empty", "error")


@dataclass(slots=True)  # a value: never changed once made (not frozen: a frozen init costs 4x, once per run)
class EngineRequest:
    clone_id: int
    prompt_id: str
    coin: str
    model: str | None
    strategy_prompt: str
    packet: dict
    equity_usd: float
    controls: ExecutionControls

    def messages(self) -> tuple[dict, ...]:
        """The assembled prompt (system, user): built only by engines that send it to a model."""
        return assemble(self.strategy_prompt, self.coin, self.controls, self.equity_usd, self.packet)


@dataclass
class Proposal:
    """What an engine said: an action (None unless the reply was usable), how the reply went, and its cost."""

    action: Action | None
    reply_status: str
    raw_reply: str = ""
    error: str | None = None
    latency_ms: float = 0.0
    tokens_in: int | None = None
    tokens_out: int | None = None
    usage: dict = field(default_factory=dict)
    cost_micro: int | None = None  # priced by the runtime (decisions/costs.py) for engines that call a model


class Engine(Protocol):
    name: str

    def propose(self, request: EngineRequest) -> Proposal: ...


_REGISTRY: dict[str, Callable[..., Engine]] = {}


def register(name: str) -> Callable[[Callable[..., Engine]], Callable[..., Engine]]:
    def add(factory: Callable[..., Engine]) -> Callable[..., Engine]:
        _REGISTRY[name] = factory
        return factory
    return add


def _load_all() -> None:
    """Import every engine module of this package (each registers its engines)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def engine_names() -> list[str]:
    """The registered engines: the names a prompt block may use."""
    _load_all()
    return sorted(_REGISTRY)


def needs_model(name: str) -> bool:
    _load_all()
    return bool(getattr(_REGISTRY.get(name), "needs_model", False))


def make_engine(name: str, **settings: object) -> Engine:
    if name not in _REGISTRY:
        _load_all()
    try:
        return _REGISTRY[name](**settings)
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; registered: {sorted(_REGISTRY)}") from None


def proposal_from_reply(raw_reply: str) -> Proposal:
    """Re-read an archived reply the way an engine reads a model's: valid action, malformed or empty."""
    if not raw_reply.strip():
        return Proposal(None, "empty", raw_reply, "empty reply")
    try:
        return Proposal(Action.model_validate_json(raw_reply), "ok", raw_reply)
    except ValueError as error:
        return Proposal(None, "malformed", raw_reply, str(error).splitlines()[0])
