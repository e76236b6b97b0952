"""The demo's clones, one per control mode (created once; a re-run finds them)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from clash_pipeline.strategy import modes, store

POWER_USER_EXAMPLE = Path(__file__).with_name("examples") / "power_user.json"


def demo_clones(conn: sqlite3.Connection) -> list[store.Clone]:
    existing = {c.name: c.clone_id for c in store.list_public(conn)}
    wanted = [
        ("Basic Betty", "basic", lambda: modes.basic_graph("medium", "Crypto", "Layer 1", "15m"),
         "Rides Layer 1 trends at medium risk."),
        ("Custom Carl", "custom", lambda: modes.custom_graph(
            ["BTC", "ETH", "HYPE/USDC", "xyz:TSLA"], {"hyperliquid": "price_action", "polymarket": "prediction_markets",
                                          "defillama": "macro"}, "1h", "low"), "Majors, HYPE spot and Tesla with macro context."),
        ("Power Pam", "power", lambda: json.loads(POWER_USER_EXAMPLE.read_text()),
         "Two strategies, five channels, hand-tuned."),
    ]
    clones = []
    for name, mode, graph, bio in wanted:
        if name in existing:
            clones.append(store.get_clone(conn, existing[name]))
        else:
            clones.append(store.create_clone(conn, name, graph(), mode, f"https://avatars.invalid/{mode}.png", bio))
    return clones
