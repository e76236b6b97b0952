"""The product loop on replay history with a clock: auditions, the promotion queue, a race with tickets,
settlement, retirement, the Hall of Fame, and lifecycle rules."""

from __future__ import annotations

import json

import pytest

from eth_utils import to_checksum_address

from clash_pipeline.arena import lifecycle
from clash_pipeline.arena.audition import AuditionCriteria, pay_fee, promote, run_audition
from clash_pipeline.arena.careers import hall_of_fame, leaderboard, race_results, retire
from clash_pipeline.arena.races import Arena, ArenaConfig
from clash_pipeline.arena.settlement import TICKET_WEI
from clash_pipeline.strategy import modes, store
from clash_pipeline.timeutil import HOUR_MS
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS
from clash_pipeline_tests.helpers import trading_runtime

ALICE, BOB, CAROL, DAVE = (to_checksum_address("0x" + c * 40) for c in "abcd")
LENIENT = AuditionCriteria(profit_target_pct=-50.0, max_drawdown_pct=50.0, min_trades=1, hours=6)


@pytest.fixture
def loop(trading_home):
    runtime = trading_runtime(trading_home)
    conn = runtime.conn
    hold = store.create_clone(conn, "Hank", modes.custom_graph(TRADING_COINS, {"hyperliquid": "price_action"}, "15m",
                                                               engine="hold"), "custom", bio="never trades")
    conn.execute("UPDATE clones SET creator = printf('0x%040x', clone_id)")  # valid payout addresses
    return conn, runtime.outbox, hold.identity.clone_id


def test_illegal_transitions_are_refused_and_change_nothing(loop):
    conn, _, hank = loop
    with pytest.raises(lifecycle.IllegalTransition, match="cannot go from created to in_arena"):
        lifecycle.transition(conn, hank, "in_arena", "skip the line", NOW_MS)
    assert lifecycle.state(conn, hank) == "created" and lifecycle.history(conn, hank) == []
    pay_fee(conn, hank, "pay-1", NOW_MS)
    for illegal in ("passed", "queued", "in_arena", "created"):
        with pytest.raises(lifecycle.IllegalTransition):
            lifecycle.transition(conn, hank, illegal, "no", NOW_MS)
    assert [e["to"] for e in lifecycle.history(conn, hank)] == ["audition_fee_paid"]
    retire(conn, loop[1], hank, "owner request", NOW_MS)
    with pytest.raises(lifecycle.IllegalTransition, match="nothing \\(final\\)"):
        lifecycle.transition(conn, hank, "audition_fee_paid", "again", NOW_MS)


def test_the_loop_end_to_end(loop):
    conn, outbox, hank = loop
    t0 = NOW_MS - NOW_MS % HOUR_MS - 20 * HOUR_MS
    for clone_id in (1, 2, hank):
        pay_fee(conn, clone_id, f"fee-{clone_id}", t0)
    auditions = {c: run_audition(conn, outbox, c, t0, LENIENT, slots=1) for c in (1, 2, hank)}
    assert auditions[1]["passed"] and auditions[2]["passed"] and not auditions[hank]["passed"]
    assert [r["criterion"] for r in auditions[hank]["criteria"] if not r["passed"]] == ["min_trades"]
    audition_end = t0 + 6 * HOUR_MS
    # One slot: the first passed is promoted, the second waits in the queue (tie on time: clone id first).
    states = {c: lifecycle.state(conn, c) for c in (1, 2, hank)}
    assert states == {1: "in_arena", 2: "queued", hank: "failed"}

    arena = Arena(conn, outbox, ArenaConfig(slots=1, race_hours=3))
    race = arena.accumulating(audition_end)
    ticket = arena.buy_ticket(race, 1, ALICE, "sale-1", audition_end)
    assert arena.buy_ticket(race, 1, ALICE, "sale-1", audition_end) == ticket  # recorded once
    arena.buy_ticket(race, 1, BOB, "sale-2", audition_end)
    with pytest.raises(ValueError, match="not in the arena"):
        arena.buy_ticket(race, 2, CAROL, "sale-3", audition_end)
    start, end = conn.execute("SELECT start_ms, end_ms FROM races WHERE race_id = ?", (race,)).fetchone()
    assert end <= NOW_MS
    log = arena.advance(end + 60_000)
    assert any("settled" in line for line in log)
    with pytest.raises(ValueError, match="sales closed"):
        arena.buy_ticket(race, 1, DAVE, "sale-4", end)

    # Fairness: every entrant's run at a tick cites that tick's one snapshot id.
    cited = conn.execute("SELECT tick_ms, COUNT(DISTINCT snapshot_id) FROM race_runs WHERE race_id = ? "
                         "GROUP BY tick_ms", (race,)).fetchall()
    assert cited and all(n == 1 for _, n in cited)
    assert conn.execute("SELECT COUNT(*) FROM race_ticks WHERE race_id = ?", (race,)).fetchone()[0] == len(cited)

    receipt = arena.settle(race, end + 120_000)
    lines = receipt["lines"]
    assert sum(int(amount) for _, _, amount, _ in lines) == int(receipt["pool_wei"]) == 2 * TICKET_WEI
    holders = {recipient for kind, recipient, _, _ in lines if kind == "holder_payout"}
    assert holders == {ALICE, BOB}
    assert arena.settle(race, end + 999) == receipt  # settling again changes nothing

    results = race_results(conn, race)
    assert results[0]["rank"] == 1 and results[0]["name"] and results[0]["tickets"] == 2
    public = json.dumps([results, leaderboard(conn)])
    assert "prompt" not in public and "Trade" not in public and "blocks" not in public

    retire(conn, outbox, 1, "owner request", end + 180_000)
    assert promote(conn, end + 180_000, 1) == [2]  # the retirement opened the slot
    fame = hall_of_fame(conn)
    assert fame[0]["clone_id"] == 1 and fame[0]["races"] == 1 and fame[0]["tickets_drawn"] == 2
    assert int(fame[0]["creator_earnings_wei"]) > 0 and "prompt" not in json.dumps(fame)


def test_a_race_with_no_entrants_is_cancelled_and_refunds(loop):
    conn, outbox, _ = loop
    t = NOW_MS - NOW_MS % HOUR_MS - 10 * HOUR_MS
    arena = Arena(conn, outbox, ArenaConfig(race_hours=3))
    race = arena.accumulating(t)
    end = conn.execute("SELECT end_ms FROM races WHERE race_id = ?", (race,)).fetchone()[0]
    arena.advance(end + 1)
    receipt = arena.settle(race, end + 2)
    assert receipt["lines"] == [] and receipt["pool_wei"] == "0"
    assert conn.execute("SELECT status FROM races WHERE race_id = ?", (race,)).fetchone() == ("cancelled",)


ILLEGAL = [(src, dst) for src in lifecycle.STATES for dst in lifecycle.STATES if dst not in lifecycle.TRANSITIONS[src]]


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{s}->{t}" for s, t in ILLEGAL])
def test_every_illegal_transition_is_refused(memory, source, target):
    memory.execute("INSERT INTO clones (name, control_mode, active_version, created_ms) VALUES ('x', 'basic', 1, 0)")
    if source != "created":
        memory.execute("INSERT INTO clone_lifecycle VALUES (1, ?, 0)", (source,))
    with pytest.raises(lifecycle.IllegalTransition, match=f"cannot go from {source} to {target}"):
        lifecycle.transition(memory, 1, target, "test", 1)
    assert lifecycle.state(memory, 1) == source
    assert memory.execute("SELECT COUNT(*) FROM lifecycle_events").fetchone() == (0,)


def test_arena_views_through_the_cli_and_dagster(loop, trading_home, monkeypatch, capsys):
    import dagster as dg

    from clash_pipeline.cli import main
    from clash_pipeline.defs.arena import arena_clock, arena_leaderboard, hall_of_fame_asset
    from clash_pipeline.defs.resources import default_resources
    from clash_pipeline.settings import load_settings

    conn, outbox, hank = loop
    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    t0 = NOW_MS - NOW_MS % HOUR_MS - 20 * HOUR_MS
    assert main(["audition", "start", "1", "--payment-ref", "fee-1", "--start", str(t0), "--hours", "6", "--profit-target", "-50",
                 "--max-drawdown", "50", "--min-trades", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True
    assert main(["lifecycle", "show", "1", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["to"] for e in events] == ["audition_fee_paid", "auditioning", "passed", "queued", "in_arena"]
    assert main(["arena", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [b["name"] for b in status["leaderboard"]] == ["one"] and "Trade" not in json.dumps(status)
    race = status["accumulating_race"]
    assert main(["tickets", "buy", "--race", race, "--clone", "1", "--holder", ALICE, "--ref", "p1"]) == 0
    assert main(["race", "settle", race]) == 1  # not ended yet
    assert "only an ended or cancelled race settles" in capsys.readouterr().err
    settings = load_settings({"CLASH_HOME": str(trading_home)})
    with dg.instance_for_test() as instance:
        result = dg.materialize([arena_clock, arena_leaderboard, hall_of_fame_asset], instance=instance,
                                resources=default_resources(settings))
    assert result.success
    board = result.asset_materializations_for_node("arena_leaderboard")[0].metadata
    assert board["clones"].value == 1 and "| one |" in board["leaderboard"].value
    assert main(["hall-of-fame", "--json"]) == 0 and json.loads(capsys.readouterr().out) == []
