"""The three control granularities. All produce the same graph model; Basic and Custom graphs are ordinary
graphs, so they open as Power User graphs unchanged.

- Basic: a risk level, a category and a cadence.
- Custom: individual assets plus source/profile presets.
- Power User: any valid graph (parsed as given).
"""

from __future__ import annotations

from clash_pipeline.strategy.graph import StrategyGraph, parse_graph

RISK = {  # max leverage, max position notional, max order, stop loss %, take profit %
    "low": (2.0, 1_000.0, 250.0, 3.0, 6.0),
    "medium": (5.0, 3_000.0, 1_000.0, 5.0, 10.0),
    "high": (10.0, 8_000.0, 2_500.0, 8.0, 20.0),
}
DEFAULT_PROMPT = ("Trade {what} on a {cadence} cadence. Follow the trend of the candles, respect funding and book "
                  "imbalance, and hold when the signals disagree.")


def _graph(streams: list[dict], asset_block: dict, prompt: dict, account_usd: float) -> dict:
    blocks = [*streams, asset_block, prompt, {"id": "clone", "kind": "trading_clone", "account_size_usd": account_usd}]
    edges = [{"source": s["id"], "target": asset_block["id"]} for s in streams]
    edges += [{"source": asset_block["id"], "target": prompt["id"]}, {"source": prompt["id"], "target": "clone"}]
    layout = {"nodes": {b["id"]: {"x": 260.0 * i, "y": 0.0, "w": 220.0, "h": 120.0} for i, b in enumerate(blocks)},
              "viewport": {"x": 0.0, "y": 0.0, "zoom": 1.0}}
    return {"blocks": blocks, "edges": edges, "layout": layout}


def _prompt(what: str, cadence: str, risk: str, engine: str) -> dict:
    leverage, position, order, stop, take = RISK[risk]
    return {"id": "strategy", "kind": "trading_prompt", "prompt": DEFAULT_PROMPT.format(what=what, cadence=cadence),
            "engine": engine, "cadence": cadence,
            "controls": {"max_leverage": leverage, "max_position_notional_usd": position, "max_order_usd": order,
                         "stop_loss_pct": stop, "take_profit_pct": take}}


def basic_graph(risk: str = "medium", category: str = "Crypto", subcategory: str | None = "Layer 1",
                cadence: str = "15m", engine: str = "rules") -> StrategyGraph:
    if risk not in RISK:
        raise ValueError(f"risk must be one of {list(RISK)}, not {risk!r}")
    select = [{"category": category, **({"subcategory": subcategory} if subcategory else {})}]
    streams = [{"id": "market", "kind": "data_stream", "source": "hyperliquid", "profile": "full"},
               {"id": "macro", "kind": "data_stream", "source": "defillama", "profile": "macro"}]
    label = f"{category}/{subcategory}" if subcategory else category
    return parse_graph(_graph(streams, {"id": "assets", "kind": "asset", "select": select},
                              _prompt(label, cadence, risk, engine), 10_000.0))


def custom_graph(assets: list[str], presets: dict[str, str], cadence: str = "15m", risk: str = "medium",
                 engine: str = "rules") -> StrategyGraph:
    """`presets` maps a source to one of its profiles, e.g. {"hyperliquid": "price_action"}."""
    streams = [{"id": f"{source}-{profile}", "kind": "data_stream", "source": source, "profile": profile}
               for source, profile in sorted(presets.items())]
    return parse_graph(_graph(streams, {"id": "assets", "kind": "asset", "include": list(assets)},
                              _prompt(", ".join(assets), cadence, risk, engine), 10_000.0))
