"""What a Data Stream Block can ask for: sources, their channels, each option's type, default and range, and
preset profiles (named bundles of channels with defaults)."""

from __future__ import annotations

from dataclasses import dataclass

CANDLE_INTERVALS = ("1m", "5m", "15m", "1h", "4h", "1d")
CADENCES = ("1m", "5m", "15m", "1h", "4h", "1d")


@dataclass(frozen=True)
class Option:
    """An integer option with a range, a choice among values, or a subset of values."""

    default: object
    low: int | None = None
    high: int | None = None
    choices: tuple | None = None
    subset: bool = False

    def check(self, value: object) -> str | None:
        """A problem with `value`, or None."""
        if self.subset:
            if not isinstance(value, list) or not value or any(v not in self.choices for v in value):
                return f"must be a non-empty list of {list(self.choices)}, got {value!r}"
            return None
        if self.choices is not None:
            return None if value in self.choices else f"must be one of {list(self.choices)}, got {value!r}"
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {value!r}"
        if not self.low <= value <= self.high:
            return f"must be between {self.low} and {self.high}, got {value}"
        return None


CHANNELS: dict[str, dict[str, dict[str, Option]]] = {
    "hyperliquid": {
        "candles": {"interval": Option("15m", choices=CANDLE_INTERVALS), "lookback": Option(96, 1, 1000)},
        "mids": {"lookback": Option(12, 1, 500)},
        "liquidity": {"bands_bps": Option([10, 50, 100], choices=(10, 50, 100), subset=True)},
        "book": {"levels": Option(10, 1, 20)},
        "funding": {"window_hours": Option(24, 1, 168)},
        "volatility": {"interval": Option("1h", choices=CANDLE_INTERVALS),
                       "windows": Option([14, 30, 90], choices=(14, 30, 90), subset=True)},
        "positioning": {"lookback": Option(12, 1, 288)},
    },
    "polymarket": {
        "markets": {"horizons": Option(["immediate", "later", "recently_closed"],
                                       choices=("immediate", "later", "recently_closed"), subset=True),
                    "max_closed": Option(3, 1, 5)},
    },
    "defillama": {
        "capital_base": {"days": Option(7, 1, 90)},
        "capital_flows": {"days": Option(7, 1, 90)},
        "throughput": {"days": Option(7, 1, 90)},
    },
}

PROFILES: dict[str, dict[str, tuple[str, ...]]] = {
    "hyperliquid": {"price_action": ("candles", "mids", "volatility"),
                    "microstructure": ("liquidity", "book", "positioning", "funding"),
                    "full": tuple(CHANNELS["hyperliquid"])},
    "polymarket": {"prediction_markets": ("markets",)},
    "defillama": {"macro": ("capital_base", "capital_flows", "throughput")},
}


def profile_channels(source: str, profile: str) -> dict[str, dict]:
    """The channels of a preset profile, each with its default options."""
    return {name: defaults(source, name) for name in PROFILES[source][profile]}


def defaults(source: str, channel: str) -> dict:
    return {name: option.default for name, option in CHANNELS[source][channel].items()}
