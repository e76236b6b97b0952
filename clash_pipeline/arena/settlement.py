"""Race settlement in integer wei: a pure function, and a ledger whose lines always sum to the pool.

Rules (each tested):
- The pool is the race's ticket sales plus the holder-pool carry from earlier races. Sales split 5% protocol
  rake, 5% creator pool, 90% holder pool (basis points, floored); the carry joins the holder pool.
- The holder pool pays the tickets that backed the top-ranked clones by the payout curve (default 50/30/20% for
  ranks 1-3); the creator pool pays the ranked clones' creators by the same curve.
- Ties share their combined ranks equally: clones with equal results split the shares of the positions they
  occupy together.
- A clone's holder share is split across the tickets that backed it, equally per wei of ticket.
- A paying rank that no ticket backed carries its holder share to the next race's holder pool (a creator share
  for a position no clone took goes to the protocol).
- A cancelled race refunds every ticket in full (the carry passes on untouched).
- A race with no tickets settles to zero (the carry passes on untouched).
- Every indivisible remainder goes to the protocol account, and so does the creator share of a clone without a
  payout address (a clone enters the arena only with one; this covers clones promoted before that rule).
The receipt is the lines and a sha256 of them: settling again returns the same receipt.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

TICKET_WEI = 10**16  # 0.01 ETH
PROTOCOL = "protocol"
BPS = 10_000


@dataclass(frozen=True)
class SettlementConfig:
    rake_bps: int = 500
    creator_bps: int = 500
    holder_bps: int = 9_000
    payout_curve_bps: tuple[int, ...] = (5_000, 3_000, 2_000)

    def __post_init__(self) -> None:
        if self.rake_bps + self.creator_bps + self.holder_bps != BPS or sum(self.payout_curve_bps) != BPS:
            raise ValueError("the pool split and the payout curve must each sum to 10,000 bps")


@dataclass(frozen=True)
class Ticket:
    ticket_id: int
    clone_id: int
    holder: str
    amount_wei: int


@dataclass(frozen=True)
class Line:
    kind: str        # rake | creator_payout | holder_payout | carry | remainder | refund
    recipient: str
    amount_wei: int
    note: str = ""


@dataclass
class Settlement:
    race_id: str
    pool_wei: int
    sales_wei: int
    carry_in_wei: int
    lines: list[Line] = field(default_factory=list)

    @property
    def carry_out_wei(self) -> int:
        return sum(line.amount_wei for line in self.lines if line.kind == "carry")

    def total(self, kind: str | None = None) -> int:
        return sum(line.amount_wei for line in self.lines if kind is None or line.kind == kind)

    def receipt(self) -> dict:
        lines = [[line.kind, line.recipient, str(line.amount_wei), line.note] for line in self.lines]
        body = {"race_id": self.race_id, "pool_wei": str(self.pool_wei), "sales_wei": str(self.sales_wei),
                "carry_in_wei": str(self.carry_in_wei), "lines": lines}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        return {**body, "sha256": digest}


def _groups(standings: list[tuple[int, int]]) -> list[list[int]]:
    """Clones grouped by equal result, best first; `standings` is (clone_id, result) in final order."""
    groups: list[list[int]] = []
    last = object()
    for clone_id, result in standings:
        if result == last:
            groups[-1].append(clone_id)
        else:
            groups.append([clone_id])
        last = result
    return groups


def _position_shares(pool: int, curve: tuple[int, ...]) -> list[int]:
    return [pool * bps // BPS for bps in curve]


def _by_clone(standings: list[tuple[int, int]], shares: list[int]) -> tuple[dict[int, int], int]:
    """Each clone's share after ties (a tie splits its positions' shares equally, floored), and the shares of
    positions no clone took."""
    paid: dict[int, int] = {}
    position = 0
    for group in _groups(standings):
        each = sum(shares[position : position + len(group)]) // len(group)
        position += len(group)
        paid.update({clone_id: each for clone_id in group})
    return paid, sum(shares[position:])


def settle(race_id: str, tickets: list[Ticket], standings: list[tuple[int, int]], creators: dict[int, str],
           carry_in_wei: int = 0, cancelled: bool = False, config: SettlementConfig = SettlementConfig()) -> Settlement:
    """`standings`: (clone_id, result) in final order (best first, tie-break applied); equal results tie.
    `creators`: each clone's payout address (a clone missing from it has its creator share go to the protocol)."""
    sales = sum(t.amount_wei for t in tickets)
    out = Settlement(race_id, sales + carry_in_wei, sales, carry_in_wei)
    if cancelled or not tickets:  # refunds (a race without tickets has none); the carry passes on
        out.lines += [Line("refund", t.holder, t.amount_wei, f"ticket {t.ticket_id}") for t in tickets]
        if carry_in_wei:
            out.lines.append(Line("carry", "next_race", carry_in_wei, "carry passes on"))
        _check(out)
        return out
    rake = sales * config.rake_bps // BPS
    creator_pool = sales * config.creator_bps // BPS
    holder_pool = sales * config.holder_bps // BPS + carry_in_wei
    split_remainder = sales - rake - creator_pool - (holder_pool - carry_in_wei)
    out.lines.append(Line("rake", PROTOCOL, rake, f"{config.rake_bps} bps"))

    creator_by_clone, _ = _by_clone(standings, _position_shares(creator_pool, config.payout_curve_bps))
    creator_paid = 0
    for clone_id, amount in creator_by_clone.items():
        if amount and clone_id in creators:
            out.lines.append(Line("creator_payout", creators[clone_id], amount, f"clone {clone_id}"))
            creator_paid += amount

    holder_by_clone, unclaimed = _by_clone(standings, _position_shares(holder_pool, config.payout_curve_bps))
    backing: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        backing[ticket.clone_id].append(ticket)
    carry, holder_paid = unclaimed, 0
    for clone_id, amount in holder_by_clone.items():
        backers = sorted(backing.get(clone_id, []), key=lambda t: t.ticket_id)
        if not backers:
            carry += amount  # a paying rank no ticket backed
            continue
        staked = sum(t.amount_wei for t in backers)
        for ticket in backers:
            payout = amount * ticket.amount_wei // staked
            if payout:
                out.lines.append(Line("holder_payout", ticket.holder, payout,
                                      f"ticket {ticket.ticket_id} on clone {clone_id}"))
                holder_paid += payout
    if carry:
        out.lines.append(Line("carry", "next_race", carry, "paying ranks no ticket backed"))
    # What the pools do not pay out or carry: floors of the split, of position shares, of ties and of tickets,
    # and creator shares of positions no clone took.
    remainder = split_remainder + (creator_pool - creator_paid) + (holder_pool - holder_paid - carry)
    if remainder:
        out.lines.append(Line("remainder", PROTOCOL, remainder, "indivisible remainders and unclaimed creator shares"))
    _check(out)
    return out


def _check(settlement: Settlement) -> None:
    """rake + creator payouts + holder payouts + carry + remainder (+ refunds) == pool, to the wei."""
    if any(line.amount_wei < 0 for line in settlement.lines):
        raise AssertionError(f"race {settlement.race_id}: a negative settlement line")
    if settlement.total() != settlement.pool_wei:
        raise AssertionError(f"race {settlement.race_id}: lines sum to {settlement.total()} wei, pool is "
                             f"{settlement.pool_wei}")
