"""The strategy graph: blocks, edges and canvas layout, and its validation.

Edges run only Data Stream -> Asset -> Trading Prompt -> Trading Clone; the graph has exactly one Trading Clone
Block. Validation lists every problem, each naming the block id and field; nothing is stored for a rejected graph.
Layout metadata rides along with a version and is ignored by compilation.

Every number is finite and bounded, and a graph's size is limited (blocks, edges, prompt blocks, layout bytes,
nesting depth): an oversized graph is refused before it is parsed, with one problem naming the limit, and
validation is linear in the graph's size (no recursion).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from clash_pipeline.strategy.catalog import CADENCES, CHANNELS, PROFILES, defaults

KIND_ORDER = ("data_stream", "asset", "trading_prompt", "trading_clone")
NEXT_KIND = {"data_stream": "asset", "asset": "trading_prompt", "trading_prompt": "trading_clone"}

MAX_BLOCKS = 500                 # blocks in one graph
MAX_EDGES = 2_000                # edges in one graph
MAX_PROMPT_BLOCKS = 20           # trading prompt blocks (each is a model call per asset per tick)
MAX_LAYOUT_BYTES = 64 * 1024     # the canvas layout, as compact JSON
MAX_NESTING = 12                 # depth of nested objects/lists anywhere in the graph document
MAX_LIST = 500                   # entries of an asset block's select/include/exclude
MAX_ACCOUNT_USD = 10_000_000.0   # a clone's paper account
MAX_NOTIONAL_USD = 10_000_000.0  # position and order notional controls


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    id: str = Field(min_length=1, max_length=64)


class DataStreamBlock(_Block):
    kind: Literal["data_stream"] = "data_stream"
    source: str = Field(max_length=64)
    profile: str | None = Field(None, max_length=64)
    channels: dict[str, dict] = {}

    def effective_channels(self) -> dict[str, dict]:
        """The profile's channels with defaults, overridden channel by channel by explicit options."""
        merged: dict[str, dict] = {}
        if self.profile and self.source in PROFILES and self.profile in PROFILES[self.source]:
            merged = {name: defaults(self.source, name) for name in PROFILES[self.source][self.profile]}
        for name, options in self.channels.items():
            base = defaults(self.source, name) if self.source in CHANNELS and name in CHANNELS[self.source] else {}
            merged[name] = {**base, **merged.get(name, {}), **options}
        return merged


class CategorySelection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    category: str = Field(max_length=64)
    subcategory: str | None = Field(None, max_length=64)


class AssetBlock(_Block):
    kind: Literal["asset"] = "asset"
    select: list[CategorySelection] = Field([], max_length=MAX_LIST)
    include: list[Annotated[str, Field(max_length=64)]] = Field([], max_length=MAX_LIST)
    exclude: list[Annotated[str, Field(max_length=64)]] = Field([], max_length=MAX_LIST)


class ExecutionControls(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    max_leverage: float = Field(3.0, gt=0, le=50)
    max_position_notional_usd: float = Field(1000.0, gt=0, le=MAX_NOTIONAL_USD)
    order_types: list[Literal["market", "limit"]] = Field(["market", "limit"], min_length=1, max_length=2)
    min_order_usd: float = Field(10.0, ge=10, le=MAX_NOTIONAL_USD)
    max_order_usd: float = Field(500.0, gt=0, le=MAX_NOTIONAL_USD)
    cooldown_s: int = Field(300, ge=0, le=7 * 86_400)
    max_orders_per_hour: int = Field(6, ge=1, le=120)
    stop_loss_pct: float | None = Field(5.0, gt=0, le=100)
    take_profit_pct: float | None = Field(10.0, gt=0, le=1000)


class TradingPromptBlock(_Block):
    kind: Literal["trading_prompt"] = "trading_prompt"
    prompt: str = Field(min_length=1, max_length=20_000)
    engine: str = Field("rules", min_length=1, max_length=40)  # a registered engine (decisions.engines)
    model: str | None = Field(None, max_length=200)
    cadence: str = Field("15m", max_length=8)
    controls: ExecutionControls = ExecutionControls()


class TradingCloneBlock(_Block):
    kind: Literal["trading_clone"] = "trading_clone"
    account_size_usd: float = Field(10_000.0, gt=0, le=MAX_ACCOUNT_USD)
    run_state: Literal["running", "paused", "stopped"] = "running"


Block = Annotated[DataStreamBlock | AssetBlock | TradingPromptBlock | TradingCloneBlock, Field(discriminator="kind")]
BLOCK_TYPES = {cls.model_fields["kind"].default: cls
               for cls in (DataStreamBlock, AssetBlock, TradingPromptBlock, TradingCloneBlock)}


class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(max_length=64)
    target: str = Field(max_length=64)


class Layout(BaseModel):
    """Canvas metadata: node positions and sizes by block id, and the viewport. Never compiled."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    nodes: dict[str, dict[str, float]] = {}
    viewport: dict[str, float] = {}


class StrategyGraph(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    blocks: list[Block]
    edges: list[Edge]
    layout: Layout = Layout()

    def by_kind(self, kind: str) -> list:
        return [b for b in self.blocks if b.kind == kind]

    def feeding(self, block_id: str) -> list[str]:
        """Ids of the blocks with an edge into `block_id`, sorted."""
        return sorted(edge.source for edge in self.edges if edge.target == block_id)

    def canonical_json(self) -> str:
        """The strategy without layout, keys and blocks in a stable order: what compilation sees."""
        body = self.model_dump(mode="json", exclude={"layout"})
        body["blocks"] = sorted(body["blocks"], key=lambda b: b["id"])
        body["edges"] = sorted(body["edges"], key=lambda e: (e["source"], e["target"]))
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    def strategy_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    block_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"block {self.block_id!r} field {self.field!r}: {self.message}"


class GraphInvalid(ValueError):
    """Every problem of a rejected graph."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("invalid strategy graph:\n" + "\n".join(f"  - {p}" for p in problems))


def parse_graph(data: object) -> StrategyGraph:
    """Parse and validate the structure of a graph; raise GraphInvalid with every problem found.

    Asset resolution against the universe is checked separately (`strategy.selection`)."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise GraphInvalid([Problem("-", "graph", "must be an object with blocks and edges")])
    if size := size_problems(data):
        raise GraphInvalid(size)
    unknown = set(data) - {"blocks", "edges", "layout"}
    problems += [Problem("-", key, "unknown top-level field") for key in sorted(unknown)]
    blocks = []
    for index, raw in enumerate(data.get("blocks") or []):
        block_id = str(raw.get("id", f"#{index}"))[:64] if isinstance(raw, dict) else f"#{index}"
        kind = raw.get("kind") if isinstance(raw, dict) else None
        if kind not in BLOCK_TYPES:
            problems.append(Problem(block_id, "kind", f"must be one of {list(BLOCK_TYPES)}, got {kind!r:.40}"))
            continue
        try:
            blocks.append(BLOCK_TYPES[kind].model_validate(raw))
        except pydantic.ValidationError as error:
            problems += [Problem(block_id, ".".join(map(str, e["loc"])) or "-", e["msg"])
                         for e in error.errors(include_url=False)]
    if not data.get("blocks"):
        problems.append(Problem("-", "blocks", "a graph needs blocks"))
    edges = []
    for index, raw in enumerate(data.get("edges") or []):
        try:
            edges.append(Edge.model_validate(raw))
        except pydantic.ValidationError as error:
            problems.append(Problem(f"edge #{index}", "edges", error.errors(include_url=False)[0]["msg"]))
    try:
        layout = Layout.model_validate(data.get("layout") or {})
    except pydantic.ValidationError as error:
        problems.append(Problem("-", "layout", error.errors(include_url=False)[0]["msg"]))
        layout = Layout()
    problems += _structure_problems(blocks, edges)
    if problems:
        raise GraphInvalid(problems)
    return StrategyGraph(blocks=blocks, edges=edges, layout=layout)


def size_problems(data: dict) -> list[Problem]:
    """The graph document against the size limits, before any parsing: counts first, then nesting (iteratively),
    then the layout's JSON size. Cheap on an oversized document: each check stops at its limit."""
    blocks, edges = data.get("blocks"), data.get("edges")
    problems = []
    for name, items, limit in (("blocks", blocks, MAX_BLOCKS), ("edges", edges, MAX_EDGES)):
        if items is not None and not isinstance(items, list):
            problems.append(Problem("-", name, "must be a list"))
        elif items and len(items) > limit:
            problems.append(Problem("-", name, f"{len(items)} {name}: over the limit of {limit}"))
    if problems:
        return problems
    prompts = sum(1 for b in blocks or [] if isinstance(b, dict) and b.get("kind") == "trading_prompt")
    if prompts > MAX_PROMPT_BLOCKS:
        problems.append(Problem("-", "blocks", f"{prompts} trading_prompt blocks: over the limit of "
                                               f"{MAX_PROMPT_BLOCKS}"))
    for name in ("blocks", "edges", "layout"):
        if _deeper_than(data.get(name), MAX_NESTING - 1):
            problems.append(Problem("-", name, f"nested deeper than the limit of {MAX_NESTING} levels"))
    if not problems and data.get("layout") is not None:
        size = len(json.dumps(data["layout"], separators=(",", ":"), default=str).encode())
        if size > MAX_LAYOUT_BYTES:
            problems.append(Problem("-", "layout", f"{size:,} bytes: over the limit of {MAX_LAYOUT_BYTES:,}"))
    return problems


def _deeper_than(value: object, limit: int) -> bool:
    """Whether lists/objects nest more than `limit` levels below `value` (iterative, stops early)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack += [(child, depth + 1) for child in children if isinstance(child, dict | list)]
    return False


def _structure_problems(blocks: list, edges: list[Edge]) -> list[Problem]:
    """Ids, per-block rules, edge kinds, cycles and dangling blocks: linear in blocks + edges."""
    problems = []
    ids: dict[str, object] = {}
    for block in blocks:
        if block.id in ids:
            problems.append(Problem(block.id, "id", "two blocks share this id"))
        ids[block.id] = block
        if isinstance(block, DataStreamBlock):
            problems += _stream_problems(block)
        if isinstance(block, TradingPromptBlock):
            if block.cadence not in CADENCES:
                problems.append(Problem(block.id, "cadence", f"must be one of {list(CADENCES)}, got {block.cadence!r}"))
            controls = block.controls
            if controls.min_order_usd > controls.max_order_usd:
                problems.append(Problem(block.id, "controls.min_order_usd", "is above controls.max_order_usd"))
            if controls.max_order_usd > controls.max_position_notional_usd:
                problems.append(Problem(block.id, "controls.max_order_usd", "is above max_position_notional_usd"))
            from clash_pipeline.decisions.engines import engine_names, needs_model  # the registry, not a list here

            if block.engine not in engine_names():
                problems.append(Problem(block.id, "engine", f"unknown engine {block.engine!r}; registered: "
                                        f"{engine_names()}"))
            elif needs_model(block.engine) and not block.model:
                problems.append(Problem(block.id, "model", f"the {block.engine} engine needs a model"))
        if isinstance(block, AssetBlock) and not (block.select or block.include):
            problems.append(Problem(block.id, "select", "selects nothing: give categories or include symbols"))
    clones = [b for b in blocks if isinstance(b, TradingCloneBlock)]
    if len(clones) != 1:
        problems.append(Problem(",".join(b.id for b in clones) or "-", "kind",
                                f"a graph has exactly one trading_clone block, not {len(clones)}"))
    for edge in edges:
        source, target = ids.get(edge.source), ids.get(edge.target)
        if source is None or target is None:
            missing = edge.source if source is None else edge.target
            problems.append(Problem(missing, "edges", f"edge {edge.source} -> {edge.target} names an unknown block"))
        elif NEXT_KIND.get(source.kind) != target.kind:
            problems.append(Problem(edge.source, "edges", f"a {source.kind} block cannot feed a {target.kind} block "
                                                          f"({edge.source} -> {edge.target})"))
    problems += _cycle_problems(ids, edges)
    sources, targets = {e.source for e in edges}, {e.target for e in edges}
    for block in blocks:
        if block.kind != "trading_clone" and block.id not in sources:
            problems.append(Problem(block.id, "edges", f"dangling {block.kind} block: it feeds nothing"))
        if block.kind != "data_stream" and block.id not in targets:
            problems.append(Problem(block.id, "edges", f"dangling {block.kind} block: nothing feeds it"))
    return problems


def _stream_problems(block: DataStreamBlock) -> list[Problem]:
    if block.source not in CHANNELS:
        return [Problem(block.id, "source", f"unknown source {block.source!r}; known: {list(CHANNELS)}")]
    problems = []
    if block.profile is not None and block.profile not in PROFILES[block.source]:
        problems.append(Problem(block.id, "profile", f"unknown profile {block.profile!r} for {block.source}; "
                                                     f"known: {list(PROFILES[block.source])}"))
    for channel, options in block.channels.items():
        specs = CHANNELS[block.source].get(channel)
        if specs is None:
            problems.append(Problem(block.id, f"channels.{channel}",
                                    f"unknown channel for {block.source}; known: {list(CHANNELS[block.source])}"))
            continue
        for name, value in options.items():
            if name not in specs:
                problems.append(Problem(block.id, f"channels.{channel}.{name}", f"unknown option; known: {list(specs)}"))
            elif problem := specs[name].check(value):
                problems.append(Problem(block.id, f"channels.{channel}.{name}", problem))
    if not block.channels and not block.profile:
        problems.append(Problem(block.id, "channels", "a data stream needs channels or a profile"))
    return problems


def _cycle_problems(ids: dict, edges: list[Edge]) -> list[Problem]:
    """The first cycle found (from the smallest id), by an iterative depth-first search."""
    graph: dict[str, list[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge.target)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for root in sorted(ids):
        if root in state:
            continue
        path, stack = [root], [iter(graph.get(root, ()))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                return [Problem(nxt, "edges", "the graph is not a DAG: " + " -> ".join(cycle))]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(graph.get(nxt, ())))
    return []
