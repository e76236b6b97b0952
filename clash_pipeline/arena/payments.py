"""Payment references: the idempotency key every payment (an audition fee, a ticket sale) carries.

A reference names one payment: recorded again with the same details it returns what was recorded; with other
details (or for another kind of payment) it is a conflict, refused, and nothing is written.
"""

from __future__ import annotations

import re
import sqlite3

from clash_pipeline.arena.addresses import shown

REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@#-]{0,127}")


class PaymentConflict(ValueError):
    """A payment reference already recorded with other details."""


def payment_ref(value: object, field: str = "payment ref") -> str:
    """A reference: 1-128 characters of letters, digits and `._:/@#-`, starting with a letter or digit."""
    if not isinstance(value, str) or not REF.fullmatch(value):
        raise ValueError(f"{field}: must be 1-128 characters of letters, digits and ._:/@#- (starting with a "
                         f"letter or digit), not {shown(value)}")
    return value


def recorded_as(conn: sqlite3.Connection, ref: str) -> tuple[str, tuple] | None:
    """What `ref` was recorded as: ('fee', (clone_id,)) or ('ticket', (ticket_id, race, clone, holder, amount))."""
    fee = conn.execute("SELECT clone_id FROM audition_fees WHERE payment_ref = ?", (ref,)).fetchone()
    if fee:
        return "fee", tuple(fee)
    ticket = conn.execute("SELECT ticket_id, race_id, clone_id, holder, amount_wei FROM tickets WHERE sale_ref = ?",
                          (ref,)).fetchone()
    return ("ticket", tuple(ticket)) if ticket else None


def describe(kind: str, details: tuple) -> str:
    if kind == "fee":
        return f"the audition fee of clone {details[0]}"
    ticket_id, race, clone_id, holder, _ = details
    return f"ticket {ticket_id} (race {race}, clone {clone_id}, holder {holder})"
