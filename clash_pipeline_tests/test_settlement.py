"""Settlement: the invariant on random ticket books, ranks and ties (hypothesis), and a table of the rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clash_pipeline.arena.settlement import PROTOCOL, TICKET_WEI, SettlementConfig, Ticket, settle

CREATORS = {c: f"creator-{c}" for c in range(1, 9)}


@st.composite
def races(draw):
    clones = draw(st.lists(st.integers(1, 8), min_size=0, max_size=8, unique=True))
    results = draw(st.lists(st.integers(-3, 3), min_size=len(clones), max_size=len(clones)))
    standings = sorted(zip(clones, results), key=lambda cr: (-cr[1], cr[0]))
    tickets = [Ticket(i, draw(st.sampled_from(clones)), f"holder-{draw(st.integers(0, 5))}",
                      TICKET_WEI * draw(st.integers(1, 3)))
               for i in range(draw(st.integers(0, 40)))] if clones else []
    curve = draw(st.sampled_from([(5_000, 3_000, 2_000), (10_000,), (3_334, 3_333, 3_333), (4_000, 3_000, 2_000, 1_000)]))
    return tickets, standings, draw(st.integers(0, 10**17 + 7)), draw(st.booleans()), curve


@settings(max_examples=400, deadline=None)
@given(races())
def test_no_wei_is_created_or_lost(race):
    tickets, standings, carry_in, cancelled, curve = race
    result = settle("r", tickets, standings, CREATORS, carry_in, cancelled, SettlementConfig(payout_curve_bps=curve))
    assert result.total() == result.pool_wei == sum(t.amount_wei for t in tickets) + carry_in
    assert all(line.amount_wei > 0 for line in result.lines)
    assert settle("r", tickets, standings, CREATORS, carry_in, cancelled,
                  SettlementConfig(payout_curve_bps=curve)).receipt() == result.receipt()


def _t(*specs) -> list[Ticket]:
    return [Ticket(i, clone, holder, TICKET_WEI) for i, (clone, holder) in enumerate(specs)]


def test_the_split_and_the_curve():
    tickets = _t(*[(1, "a")] * 10, *[(2, "b")] * 6, *[(3, "c")] * 4)  # 20 tickets: 0.2 ETH
    result = settle("r", tickets, [(1, 30), (2, 20), (3, 10)], CREATORS)
    pool = 20 * TICKET_WEI
    assert result.total("rake") == pool * 5 // 100
    creators = {line.recipient: line.amount_wei for line in result.lines if line.kind == "creator_payout"}
    assert creators == {"creator-1": pool * 5 // 100 // 2, "creator-2": pool * 5 // 100 * 3 // 10,
                        "creator-3": pool * 5 // 100 // 5}
    holders = result.total("holder_payout")
    assert holders == pool * 90 // 100 and result.total("carry") == 0
    a_lines = [line.amount_wei for line in result.lines if line.recipient == "a"]
    assert len(a_lines) == 10 and set(a_lines) == {pool * 90 // 100 // 2 // 10}


def test_ties_share_their_combined_ranks_equally():
    tickets = _t((1, "a"), (2, "b"), (3, "c"))
    result = settle("r", tickets, [(1, 5), (2, 5), (3, 1)], CREATORS)
    holder_pool = 3 * TICKET_WEI * 90 // 100
    paid = {line.recipient: line.amount_wei for line in result.lines if line.kind == "holder_payout"}
    assert paid["a"] == paid["b"] == (holder_pool * 5_000 // 10_000 + holder_pool * 3_000 // 10_000) // 2
    assert paid["c"] == holder_pool * 2_000 // 10_000


def test_an_unbacked_paying_rank_carries_to_the_next_race_and_is_paid_there():
    first = settle("r1", _t((2, "b")), [(1, 9), (2, 5), (3, 1)], CREATORS)
    holder_pool = TICKET_WEI * 90 // 100
    assert first.carry_out_wei == holder_pool * 5_000 // 10_000 + holder_pool * 2_000 // 10_000
    second = settle("r2", _t((1, "a")), [(1, 9)], CREATORS, carry_in_wei=first.carry_out_wei,
                    config=SettlementConfig(payout_curve_bps=(10_000,)))
    assert second.total("holder_payout") == TICKET_WEI * 90 // 100 + first.carry_out_wei


def test_a_cancelled_race_refunds_every_ticket_in_full():
    tickets = _t((1, "a"), (1, "a"), (2, "b"))
    result = settle("r", tickets, [(1, 1), (2, 0)], CREATORS, carry_in_wei=123, cancelled=True)
    assert [(l.kind, l.recipient, l.amount_wei) for l in result.lines] == [
        ("refund", "a", TICKET_WEI), ("refund", "a", TICKET_WEI), ("refund", "b", TICKET_WEI),
        ("carry", "next_race", 123)]


def test_a_race_with_no_tickets_settles_to_zero():
    result = settle("r", [], [(1, 3), (2, 1)], CREATORS)
    assert result.lines == [] and result.pool_wei == 0


def test_indivisible_remainders_go_to_the_protocol():
    tickets = [Ticket(i, 1, f"h{i}", TICKET_WEI + 1) for i in range(3)]  # odd amounts
    result = settle("r", tickets, [(1, 1), (2, 0), (3, -1)], CREATORS,
                    config=SettlementConfig(payout_curve_bps=(3_334, 3_333, 3_333)))
    remainder = [l for l in result.lines if l.kind == "remainder"]
    assert remainder and remainder[0].recipient == PROTOCOL and result.total() == result.pool_wei


def test_a_bad_config_is_refused():
    with pytest.raises(ValueError, match="10,000 bps"):
        SettlementConfig(payout_curve_bps=(6_000, 3_000))
