"""Creator payout addresses: where a clone's creator share of a race is paid (the public `creator` of a clone).

A clone enters the arena only with one (`audition.promote`); settlement pays it (`races.Arena.settle`).
"""

from __future__ import annotations

import sqlite3

from clash_pipeline.arena.addresses import checksum_address
from clash_pipeline.memory.db import transaction


def set_payout_address(conn: sqlite3.Connection, clone_id: int, address: str) -> str:
    """Validate (EIP-55) and store a clone's creator payout address; returns its checksummed form."""
    address = checksum_address(address, "payout address")
    with transaction(conn):
        if conn.execute("UPDATE clones SET creator = ? WHERE clone_id = ?", (address, clone_id)).rowcount == 0:
            raise KeyError(f"no clone {clone_id}")
    return address
