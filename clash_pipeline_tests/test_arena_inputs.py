"""Product-loop inputs trusted at the door: ticket holders and payout addresses (EIP-55), payment references as
idempotency keys, creator payouts, bounded auditions and stranded ones, clone identities; one-line CLI errors."""

from __future__ import annotations

import json
import sqlite3

import pytest
from eth_utils import to_checksum_address

from clash_pipeline.arena import lifecycle
from clash_pipeline.arena.addresses import InvalidAddress, checksum_address
from clash_pipeline.arena.audition import AuditionCriteria, AuditionError, abandon, pay_fee, promote, queue, resume, \
    run_audition
from clash_pipeline.arena.payments import PaymentConflict
from clash_pipeline.arena.payouts import set_payout_address
from clash_pipeline.arena.races import Arena
from clash_pipeline.strategy import modes, store
from clash_pipeline.strategy.identity import IdentityInvalid, normalize
from clash_pipeline.timeutil import HOUR_MS
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS
from clash_pipeline_tests.helpers import trading_runtime

ALICE = to_checksum_address("0x" + "a1" * 20)
BOB = to_checksum_address("0x" + "b0" * 20)
CREATOR = to_checksum_address("0x" + "c3" * 20)
LENIENT = AuditionCriteria(profit_target_pct=-50.0, max_drawdown_pct=50.0, min_trades=1, hours=6)
T0 = NOW_MS - NOW_MS % HOUR_MS - 20 * HOUR_MS
TABLES = ("tickets", "audition_fees", "auditions", "lifecycle_events", "promotion_queue")


def counts(conn: sqlite3.Connection) -> dict:
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def bad_address_with_checksum_typo() -> str:
    good = to_checksum_address("0x" + "ab" * 20)
    flipped = next(i for i, c in enumerate(good) if c.isalpha() and i > 1)
    return good[:flipped] + good[flipped].swapcase() + good[flipped + 1:]


@pytest.fixture
def sales(memory):
    """Clone 1 in the arena, clone 2 not; an accumulating race."""
    for name in ("one", "two"):
        memory.execute("INSERT INTO clones (name, control_mode, active_version, created_ms) VALUES (?, 'basic', 1, 0)",
                       (name,))
    memory.execute("INSERT INTO clone_lifecycle VALUES (1, 'in_arena', 0)")
    arena = Arena(memory, None)
    return memory, arena, arena.accumulating(NOW_MS)


@pytest.fixture
def cli(trading_home, monkeypatch, capsys):
    """`clash` on the trading home: clone 1 in the arena with a payout address; run(argv) -> (code, out, err)."""
    from clash_pipeline.cli import main

    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    conn = sqlite3.connect(trading_home / "market_memory.sqlite")

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse refusals
            code = exit_.code if isinstance(exit_.code, int) else 1
            if isinstance(exit_.code, str):
                print(exit_.code, file=__import__("sys").stderr)
        out, err = capsys.readouterr()
        return code, out, err

    return run, conn


# -- 1. ticket holders are EIP-55 addresses ----------------------------------------------------------------------
@pytest.mark.parametrize("holder", ["0xZZZ", "", "x" * 50_000, "0x" + "g" * 40, "ab" * 20, "0X" + "ab" * 20,
                                    "0x" + "ab" * 21, " 0x" + "ab" * 20, "0x" + "0" * 40, None])
def test_a_holder_that_is_not_an_address_is_refused_and_nothing_is_written(sales, holder):
    conn, arena, race = sales
    before = counts(conn)
    with pytest.raises(InvalidAddress) as refused:
        arena.buy_ticket(race, 1, holder, "sale-1", NOW_MS)
    message = str(refused.value)
    assert message.startswith("holder: ") and "\n" not in message and len(message) < 200
    assert counts(conn) == before


def test_a_mixed_case_address_with_a_bad_checksum_is_refused(sales):
    conn, arena, race = sales
    typo = bad_address_with_checksum_typo()
    with pytest.raises(InvalidAddress, match="bad EIP-55 checksum"):
        arena.buy_ticket(race, 1, typo, "sale-1", NOW_MS)
    assert counts(conn)["tickets"] == 0


def test_lowercase_addresses_are_accepted_and_stored_checksummed(sales):
    conn, arena, race = sales
    ticket = arena.buy_ticket(race, 1, ALICE.lower(), "sale-1", NOW_MS)
    assert arena.ticket(ticket)["holder"] == ALICE
    assert arena.buy_ticket(race, 1, ALICE, "sale-1", NOW_MS) == ticket  # the same sale, either spelling
    assert checksum_address(ALICE.upper().replace("0X", "0x"), "holder") == ALICE


# -- 2. payment references are idempotency keys ------------------------------------------------------------------
def test_a_reused_ref_with_the_same_details_returns_the_ticket_even_after_sales_close(sales):
    conn, arena, race = sales
    ticket = arena.buy_ticket(race, 1, ALICE, "sale-1", NOW_MS)
    start = conn.execute("SELECT start_ms FROM races WHERE race_id = ?", (race,)).fetchone()[0]
    assert arena.buy_ticket(race, 1, ALICE, "sale-1", start + 1) == ticket  # a retry after the close
    assert counts(conn)["tickets"] == 1


@pytest.mark.parametrize(("clone", "holder", "differs"), [(1, BOB, "holder"), (2, ALICE, "clone")])
def test_a_reused_ref_with_other_details_is_a_conflict_and_writes_nothing(sales, clone, holder, differs):
    conn, arena, race = sales
    ticket = arena.buy_ticket(race, 1, ALICE, "sale-1", NOW_MS)
    with pytest.raises(PaymentConflict, match=f"already recorded ticket {ticket} .*differs in {differs}"):
        arena.buy_ticket(race, clone, holder, "sale-1", NOW_MS)
    assert conn.execute("SELECT clone_id, holder FROM tickets").fetchall() == [(1, ALICE)]


def test_a_ref_names_one_payment_across_fees_and_tickets(sales):
    conn, arena, race = sales
    pay_fee(conn, 2, "pay-7", NOW_MS)
    assert pay_fee(conn, 2, "pay-7", NOW_MS) is False  # a retried fee records nothing new
    assert [e["to"] for e in lifecycle.history(conn, 2)] == ["audition_fee_paid"]
    with pytest.raises(PaymentConflict, match="audition fee of clone 2"):
        arena.buy_ticket(race, 1, ALICE, "pay-7", NOW_MS)
    ticket = arena.buy_ticket(race, 1, ALICE, "sale-1", NOW_MS)
    conn.execute("INSERT INTO clones (name, control_mode, active_version, created_ms) VALUES ('three', 'basic', 1, 0)")
    with pytest.raises(PaymentConflict, match=f"ticket {ticket}"):
        pay_fee(conn, 3, "sale-1", NOW_MS)
    with pytest.raises(PaymentConflict, match="not the audition fee of clone 3"):
        pay_fee(conn, 3, "pay-7", NOW_MS)
    assert lifecycle.state(conn, 3) == "created" and counts(conn)["audition_fees"] == 1


@pytest.mark.parametrize("ref", ["", " ", "a b", "x" * 129, "ref\x1b[31m", "-leading"])
def test_a_malformed_ref_is_refused(sales, ref):
    conn, arena, race = sales
    with pytest.raises(ValueError, match="^ref: must be 1-128 characters"):
        arena.buy_ticket(race, 1, ALICE, ref, NOW_MS)
    assert counts(conn)["tickets"] == 0


def test_tickets_cli_requires_a_ref_and_prints_the_stored_ticket(cli):
    run, conn = cli
    conn.execute("UPDATE clones SET creator = ? WHERE clone_id = 1", (CREATOR,))
    conn.execute("INSERT INTO clone_lifecycle VALUES (1, 'in_arena', 0)")
    conn.commit()
    code, out, err = run("arena", "status", "--json")
    race = json.loads(out)["accumulating_race"]
    code, out, err = run("tickets", "buy", "--race", race, "--clone", "1", "--holder", ALICE)
    assert code == 2 and "--ref" in err and out == ""  # a retried call without a key cannot sell twice
    code, out, _ = run("tickets", "buy", "--race", race, "--clone", "1", "--holder", ALICE.lower(), "--ref", "p1",
                       "--json")
    first = json.loads(out)
    assert code == 0 and first["holder"] == ALICE and first["ref"] == "p1"
    code, out, err = run("tickets", "buy", "--race", race, "--clone", "1", "--holder", BOB, "--ref", "p1")
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "differs in holder" in err
    code, out, _ = run("tickets", "buy", "--race", race, "--clone", "1", "--holder", ALICE, "--ref", "p1", "--json")
    assert code == 0 and json.loads(out) == first  # the stored ticket, not the request
    for holder in ("0xZZZ", "", "y" * 50_000, bad_address_with_checksum_typo()):
        code, out, err = run("tickets", "buy", "--race", race, "--clone", "1", "--holder", holder, "--ref", "p2")
        assert code == 2 and out == "" and "address" in err.splitlines()[-1] and len(err) < 2000
    code, _, err = run("tickets", "buy", "--race", "tomorrow", "--clone", "1", "--holder", ALICE, "--ref", "p3")
    assert code == 2 and "not a race id" in err
    assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone() == (1,)


# -- 3. creator payouts ------------------------------------------------------------------------------------------
def test_a_clone_without_a_payout_address_waits_in_the_queue_and_does_not_hold_others_back(sales):
    conn, _, _ = sales
    conn.execute("DELETE FROM clone_lifecycle")
    conn.execute("UPDATE clones SET creator = 'creator:1' WHERE clone_id = 1")  # the old placeholder
    conn.execute("UPDATE clones SET creator = ? WHERE clone_id = 2", (CREATOR,))
    for clone_id in (1, 2):
        conn.execute("INSERT INTO clone_lifecycle VALUES (?, 'queued', 0)", (clone_id,))
        conn.execute("INSERT INTO promotion_queue VALUES (?, ?)", (clone_id, clone_id))
    assert promote(conn, 10, slots=2) == [2]
    assert lifecycle.state(conn, 1) == "queued"
    waiting = queue(conn)
    assert [q["clone_id"] for q in waiting] == [1] and "payout address" in waiting[0]["waiting_for"]
    with pytest.raises(InvalidAddress):
        set_payout_address(conn, 1, "creator:1")
    assert set_payout_address(conn, 1, CREATOR.lower()) == CREATOR
    assert promote(conn, 20, slots=2) == [1]


def test_settlement_pays_the_creator_payout_address_and_never_a_placeholder(sales):
    conn, arena, race = sales
    conn.execute("UPDATE clones SET creator = ? WHERE clone_id = 1", (CREATOR,))
    conn.execute("UPDATE clones SET creator = 'creator:2' WHERE clone_id = 2")  # promoted before the rule
    arena.buy_ticket(race, 1, ALICE, "sale-1", NOW_MS)
    conn.execute("INSERT INTO clone_lifecycle VALUES (2, 'in_arena', 0) ON CONFLICT DO UPDATE SET state = 'in_arena'")
    arena.buy_ticket(race, 2, BOB, "sale-2", NOW_MS)
    conn.execute("UPDATE races SET status = 'ended' WHERE race_id = ?", (race,))
    for clone_id, equity, rank in ((1, 11_000_000_000, 1), (2, 9_000_000_000, 2)):
        conn.execute("INSERT INTO race_entrants (race_id, clone_id, end_equity_micro, rank) VALUES (?, ?, ?, ?)",
                     (race, clone_id, equity, rank))
    receipt = arena.settle(race, NOW_MS)
    creators = [(recipient, note) for kind, recipient, _, note in receipt["lines"] if kind == "creator_payout"]
    assert creators == [(CREATOR, "clone 1")]
    assert "creator:" not in json.dumps(receipt)
    assert sum(int(line[2]) for line in receipt["lines"]) == int(receipt["pool_wei"])


def test_set_payout_cli_and_the_waiting_reason_in_arena_status(cli):
    run, conn = cli
    conn.execute("INSERT INTO clone_lifecycle VALUES (1, 'queued', 0)")
    conn.execute("INSERT INTO promotion_queue VALUES (1, 0)")
    conn.commit()
    code, out, _ = run("arena", "status", "--json")
    assert code == 0 and "payout address" in json.loads(out)["queue"][0]["waiting_for"]
    code, out, _ = run("arena", "status")
    assert "clone 1 one, waiting for no valid creator payout address" in out
    code, out, err = run("lifecycle", "set-payout", "1", "--address", "0xZZZ")
    assert code == 2 and out == "" and "not an Ethereum address" in err
    code, out, _ = run("lifecycle", "set-payout", "1", "--address", CREATOR.lower(), "--json")
    assert code == 0 and json.loads(out) == {"clone_id": 1, "payout_address": CREATOR, "promoted": [1]}
    assert conn.execute("SELECT creator FROM clones WHERE clone_id = 1").fetchone() == (CREATOR,)


# -- 4. auditions: bounded arguments, stranded auditions ---------------------------------------------------------
@pytest.mark.parametrize("field", [{"hours": 100_000}, {"hours": -5}, {"hours": 0}, {"hours": 169}, {"hours": 1.5},
                                   {"profit_target_pct": float("nan")}, {"profit_target_pct": float("inf")},
                                   {"max_drawdown_pct": 150.0}, {"max_drawdown_pct": -1.0},
                                   {"min_reliability": 2.0}, {"min_trades": -1}, {"cadence": "7m"}])
def test_audition_criteria_are_bounded(field):
    with pytest.raises(AuditionError, match="^audition "):
        AuditionCriteria(**field)


@pytest.mark.parametrize("argv", [["--hours", "-5"], ["--hours", "100000"], ["--hours", "0"],
                                  ["--profit-target", "nan"], ["--profit-target", "inf"], ["--max-drawdown", "500"],
                                  ["--min-reliability", "1.5"], ["--start", "1900-01-01T00:00:00"],
                                  ["--start", "99999999999999999999"], ["--start", "2026-01-01T00:00:00"],
                                  ["--start", "2099-01-01T00:00:00"], ["--payment-ref", "bad ref"],
                                  ["--slots", "-3"], ["--hours", "1.5"]])
def test_audition_start_refuses_bad_arguments_before_any_work(cli, argv):
    run, conn = cli
    before = counts(conn)
    code, out, err = run("audition", "start", "1", "--payment-ref", "fee-1", *argv)
    assert code in (1, 2) and out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith("clash: audition start: ")
    assert counts(conn) == before


def test_audition_start_needs_a_payment_ref_when_a_fee_is_due(cli):
    run, conn = cli
    code, out, err = run("audition", "start", "1", "--start", str(T0), "--hours", "6")
    assert code == 1 and "--payment-ref" in err and len(err.splitlines()) == 1
    assert counts(conn)["lifecycle_events"] == 0


def _killed_after(real_simulate, hours: int):
    def simulate(conn, outbox, clone_ids, label, start_ms, end_ms, cadence, *rest, **options):
        real_simulate(conn, outbox, clone_ids, label, start_ms, start_ms + hours * HOUR_MS, cadence, *rest, **options)
        raise KeyboardInterrupt("the process was killed mid-audition")
    return simulate


def test_a_stranded_audition_resumes_to_the_same_result_as_an_uninterrupted_one(trading_home, monkeypatch):
    from clash_pipeline.arena import audition

    runtime = trading_runtime(trading_home)
    conn, outbox = runtime.conn, runtime.outbox
    conn.execute("UPDATE clones SET creator = ?", (CREATOR,))
    for clone_id in (1, 2):  # identical graphs
        pay_fee(conn, clone_id, f"fee-{clone_id}", T0)
    whole = run_audition(conn, outbox, 2, T0, LENIENT, slots=0)
    monkeypatch.setattr(audition, "simulate", _killed_after(audition.simulate, 3))
    with pytest.raises(KeyboardInterrupt):
        run_audition(conn, outbox, 1, T0, LENIENT, slots=0)
    monkeypatch.undo()
    assert lifecycle.state(conn, 1) == "auditioning"  # stranded: no way out without a command
    with pytest.raises(lifecycle.IllegalTransition):
        run_audition(conn, outbox, 1, T0, LENIENT)
    resumed = resume(conn, outbox, 1, NOW_MS, slots=0)
    def same(metrics: dict) -> dict:
        return {k: v for k, v in metrics.items() if k != "account_id"}

    assert resumed["passed"] == whole["passed"] and same(resumed["metrics"]) == same(whole["metrics"])
    assert whole["metrics"]["trades"] > 0
    assert [e["to"] for e in lifecycle.history(conn, 1)][-4:] == ["auditioning", "auditioning", "passed", "queued"]
    with pytest.raises(AuditionError, match="no audition to resume or abandon"):
        resume(conn, outbox, 1, NOW_MS)


def test_a_stranded_audition_can_be_abandoned_and_its_fee_stands(trading_home, monkeypatch, capsys):
    from clash_pipeline.arena import audition
    from clash_pipeline.cli import main

    runtime = trading_runtime(trading_home)
    conn, outbox = runtime.conn, runtime.outbox
    pay_fee(conn, 1, "fee-1", T0)
    monkeypatch.setattr(audition, "simulate", _killed_after(audition.simulate, 1))
    with pytest.raises(KeyboardInterrupt):
        run_audition(conn, outbox, 1, T0, LENIENT)
    monkeypatch.undo()
    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    assert main(["audition", "abandon", "1", "--reason", "\x1b[2Jgone"]) == 2  # a usage error, one line
    assert "control character" in capsys.readouterr().err and lifecycle.state(conn, 1) == "auditioning"
    assert main(["audition", "abandon", "1", "--reason", "worker killed", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "abandoned" and result["state"] == "audition_fee_paid"
    assert conn.execute("SELECT status FROM auditions").fetchall() == [("abandoned",)]
    assert "worker killed" in lifecycle.history(conn, 1)[-1]["cause"]
    assert main(["audition", "abandon", "1"]) == 1  # nothing stranded any more
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "no audition to resume or abandon" in err
    assert main(["audition", "resume", "2"]) == 1 and "it is created" in capsys.readouterr().err
    assert run_audition(conn, outbox, 1, T0, LENIENT)["audition_id"] == 2  # the fee paid for a new audition


def test_resume_and_abandon_are_the_only_ways_out_of_auditioning(memory):
    assert lifecycle.TRANSITIONS["auditioning"] == {"passed", "failed", "auditioning", "audition_fee_paid"}
    memory.execute("INSERT INTO clones (name, control_mode, active_version, created_ms) VALUES ('x', 'basic', 1, 0)")
    memory.execute("INSERT INTO clone_lifecycle VALUES (1, 'in_arena', 0)")
    with pytest.raises(AuditionError, match="it is in_arena"):
        abandon(memory, 1, "no", 1)
    assert lifecycle.state(memory, 1) == "in_arena" and memory.execute(
        "SELECT COUNT(*) FROM lifecycle_events").fetchone() == (0,)


LEGAL = [(src, dst) for src in lifecycle.STATES for dst in sorted(lifecycle.TRANSITIONS[src])]


@pytest.mark.parametrize(("source", "target"), LEGAL, ids=[f"{s}->{t}" for s, t in LEGAL])
def test_every_legal_transition_is_one_event(memory, source, target):
    memory.execute("INSERT INTO clones (name, control_mode, active_version, created_ms) VALUES ('x', 'basic', 1, 0)")
    if source != "created":
        memory.execute("INSERT INTO clone_lifecycle VALUES (1, ?, 0)", (source,))
    lifecycle.transition(memory, 1, target, "test", 5)
    assert lifecycle.state(memory, 1) == target
    assert lifecycle.history(memory, 1) == [{"from": source, "to": target, "cause": "test", "ts_ms": 5}]


def test_arena_advance_refuses_times_outside_history_and_prints_json(cli):
    run, conn = cli
    for to in ("1900-01-01T00:00:00", "2099-01-01T00:00:00", "2020-01-01T00:00:00", "soon"):
        code, out, err = run("arena", "advance", "--to", to)
        assert code in (1, 2) and out == "" and "Traceback" not in err
    assert conn.execute("SELECT COUNT(*) FROM races").fetchone() == (0,)
    code, out, _ = run("arena", "advance", "--json")
    assert code == 0 and isinstance(json.loads(out), list)


# -- 5. clone identity -------------------------------------------------------------------------------------------
def test_identity_is_normalized():
    identity = normalize("  Ｂａｓｉｃ   Betty ", "https://avatars.example/b.png", "  ﬁne bio ")
    assert (identity.name, identity.avatar_url, identity.bio) == ("Basic Betty", "https://avatars.example/b.png",
                                                                  "fine bio")
    assert normalize("x" * 32).name == "x" * 32 and normalize("Ada", bio="").bio is None


@pytest.mark.parametrize(("field", "kwargs", "says"), [
    ("name", {"name": "\x1b[31mRed Rover\x1b[0m"}, "control character (U+001B)"),
    ("name", {"name": "Evil\u202eypw"}, "format character (U+202E)"),
    ("name", {"name": "Zero\u200bWidth"}, "format character"),
    ("name", {"name": "two\nlines"}, "control character"),
    ("name", {"name": "   "}, "is empty"),
    ("name", {"name": "x" * 33}, "at most 32"),
    ("name", {"name": 42}, "must be text"),
    ("bio", {"name": "ok", "bio": "b" * 281}, "at most 280"),
    ("bio", {"name": "ok", "bio": "ring \x07 bell"}, "control character"),
    ("avatar_url", {"name": "ok", "avatar_url": "javascript:alert(1)"}, "https"),
    ("avatar_url", {"name": "ok", "avatar_url": "http://example.com/a.png"}, "https"),
    ("avatar_url", {"name": "ok", "avatar_url": "data:image/png;base64,AAAA"}, "https"),
    ("avatar_url", {"name": "ok", "avatar_url": "https://"}, "no host"),
    ("avatar_url", {"name": "ok", "avatar_url": "https://bank.example@evil.example/a.png"}, "credentials"),
    ("avatar_url", {"name": "ok", "avatar_url": "https://example.com/a b.png"}, "space"),
    ("avatar_url", {"name": "ok", "avatar_url": "https://example.com/" + "a" * 3000}, "at most 2048"),
])
def test_identity_fields_are_refused_with_one_line_naming_the_field(field, kwargs, says):
    with pytest.raises(IdentityInvalid) as refused:
        normalize(**kwargs)
    assert refused.value.field == field and str(refused.value).startswith(f"{field}: ") and says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_confusable_names_are_refused_and_nothing_is_stored(universe_memory_or_trading):
    conn = universe_memory_or_trading
    graph = modes.custom_graph(TRADING_COINS, {"hyperliquid": "price_action"}, "15m")
    betty = store.create_clone(conn, "Basic Betty", graph, "custom")
    (before,) = conn.execute("SELECT COUNT(*) FROM clones").fetchone()
    for lookalike in ("Basic Bett\u0443", "BASIC BETTY", "Basic  Betty", "Ｂasic Betty", "Basic Betty"):
        with pytest.raises(IdentityInvalid, match=f"^name: .*'Basic Betty' \\(clone {betty.identity.clone_id}\\)"):
            store.create_clone(conn, lookalike, graph, "custom")
    assert conn.execute("SELECT COUNT(*) FROM clones").fetchone() == (before,)
    store.create_clone(conn, "Basic Bettie", graph, "custom")  # a distinct name is fine


def test_names_stored_before_the_rule_are_compared_too(universe_memory_or_trading):
    conn = universe_memory_or_trading
    conn.execute("INSERT INTO clones (name, control_mode, active_version, created_ms) VALUES ('BiII', 'basic', 1, 0)")
    graph = modes.custom_graph(TRADING_COINS, {"hyperliquid": "price_action"}, "15m")
    with pytest.raises(IdentityInvalid, match="looks like the existing clone name 'BiII'"):
        store.create_clone(conn, "Bill", graph, "custom")


@pytest.fixture
def universe_memory_or_trading(trading_home):
    conn = trading_runtime(trading_home).conn
    yield conn
    conn.close()


def test_clones_create_cli_refuses_an_escape_in_one_line(cli):
    run, conn = cli
    code, out, err = run("clones", "create", "--name", "\x1b[2J\x1b[31mEvil", "--mode", "custom", "--assets", "BTC")
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "name: contains a control character" in err
    assert "\x1b" not in err
    assert conn.execute("SELECT COUNT(*) FROM clones").fetchone() == (2,)


# -- 6. --json on every product-loop command that prints a result ------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["lifecycle", "show", "1"], ["lifecycle", "set-payout", "1", "--address", ALICE],
    ["audition", "start", "1"], ["audition", "resume", "1"], ["audition", "abandon", "1"], ["audition", "status"],
    ["arena", "status"], ["arena", "advance"], ["race", "show", "2026-11-28-06:00"],
    ["race", "settle", "2026-11-28-06:00"],
    ["tickets", "buy", "--race", "2026-11-28-06:00", "--clone", "1", "--holder", ALICE, "--ref", "r"],
    ["hall-of-fame"],
])
def test_every_product_loop_command_takes_json(argv):
    from clash_pipeline.cli import build_parser

    assert build_parser().parse_args([*argv, "--json"]).json is True
