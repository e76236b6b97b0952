"""API settings from the environment (CLASH_API_*), in one place, next to the process settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from clash_pipeline.arena.audition import AuditionCriteria
from clash_pipeline.arena.races import ArenaConfig

MEGAETH_CHAIN_IDS = (4326, 6343)
DEFAULT_AUDITION_FEES_WEI = {"basic": 5 * 10**15, "custom": 10**16, "power": 2 * 10**16}  # by control mode


@dataclass(frozen=True)
class ApiSettings:
    """Sign-in, tokens, limits and the product's price table."""

    siwe_domains: tuple[str, ...] = ("localhost:3000",)   # the first is the default challenge domain
    chain_ids: tuple[int, ...] = MEGAETH_CHAIN_IDS
    operator_addresses: frozenset[str] = frozenset()       # EIP-55
    nonce_ttl_s: int = 300
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 24 * 3600
    cors_origins: tuple[str, ...] = ()
    rate_per_minute: int = 600                             # per client address and, separately, per token
    rate_burst: int = 120
    max_body_bytes: int = 1_048_576
    audition_fees_wei: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_AUDITION_FEES_WEI))
    audition: AuditionCriteria = AuditionCriteria()
    arena: ArenaConfig = ArenaConfig()
    max_backtest_days: int = 7


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def load_api_settings(env: dict[str, str] | None = None) -> ApiSettings:
    """Read CLASH_API_* (and CLASH_OPERATOR_ADDRESSES, CLASH_AUDITION_FEES_WEI); a bad value is one clear error."""
    from eth_utils import is_address, to_checksum_address

    env = dict(os.environ if env is None else env)
    operators = _csv(env.get("CLASH_OPERATOR_ADDRESSES", ""))
    for address in operators:
        if not is_address(address):
            raise ValueError(f"CLASH_OPERATOR_ADDRESSES: not an address: {address!r}")
    fees = dict(DEFAULT_AUDITION_FEES_WEI)
    for item in _csv(env.get("CLASH_AUDITION_FEES_WEI", "")):
        mode, _, wei = item.partition("=")
        if mode not in fees or not wei.isdigit():
            raise ValueError(f"CLASH_AUDITION_FEES_WEI: expected mode=wei with mode in {list(fees)}, got {item!r}")
        fees[mode] = int(wei)
    try:
        numbers = {key: int(env[var]) for key, var in (
            ("nonce_ttl_s", "CLASH_API_NONCE_TTL_S"), ("access_ttl_s", "CLASH_API_ACCESS_TTL_S"),
            ("refresh_ttl_s", "CLASH_API_REFRESH_TTL_S"), ("rate_per_minute", "CLASH_API_RATE_PER_MINUTE"),
            ("rate_burst", "CLASH_API_RATE_BURST"), ("max_body_bytes", "CLASH_API_MAX_BODY_BYTES")) if var in env}
        chains = tuple(int(c) for c in _csv(env.get("CLASH_API_CHAIN_IDS", "")))
    except ValueError as error:
        raise ValueError(f"CLASH_API_*: not an integer: {error}") from None
    return ApiSettings(
        siwe_domains=_csv(env.get("CLASH_API_SIWE_DOMAINS", "")) or ApiSettings.siwe_domains,
        chain_ids=chains or MEGAETH_CHAIN_IDS,
        operator_addresses=frozenset(to_checksum_address(a) for a in operators),
        cors_origins=_csv(env.get("CLASH_API_CORS_ORIGINS", "")),
        audition_fees_wei=fees,
        **numbers,
    )
