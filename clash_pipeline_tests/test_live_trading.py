"""Live trading on the loopback exchange: a clone with an approved agent places, fills and reconciles orders
through the decision tick; every refusal (kill switch, revoked agent, limits, exchange errors) is recorded; a
timeout after sending never makes a second order."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from clash_pipeline.archive.archive import Archive
from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.archive.store import LocalStore
from clash_pipeline.live import agents, signing
from clash_pipeline.live.config import LIVE_CONTEXT
from clash_pipeline.live.execute import execute_live
from clash_pipeline.live.keystore import AgentKey
from clash_pipeline.live.reconcile import ReconciliationMismatch, reconcile
from clash_pipeline.live.runtime import LiveRuntime
from clash_pipeline.memory.db import open_memory
from clash_pipeline.paper import metrics
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.live_helpers import connect_and_approve, fake_exchange, live_env, master_key, owner_of, venue


@pytest.fixture
def live(trading_home):
    conn = open_memory(trading_home / "market_memory.sqlite")
    with fake_exchange(conn) as fake:
        env = live_env(fake.url, master_key())
        v = venue(env)
        owner = owner_of(conn, 1, fake)
        connect_and_approve(conn, 1, owner, v)
        outbox = Outbox(trading_home / "outbox", conn, Archive(LocalStore(trading_home / "archive")))
        runtime = LiveRuntime(conn, outbox, v)
        yield runtime, fake, owner
    conn.close()


def _states(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT o.coin, l.state FROM live_orders l JOIN orders o USING (order_id)"))


def test_an_approved_clone_places_fills_and_reconciles_through_the_tick(live):
    runtime, fake, owner = live
    conn = runtime.conn
    report = runtime.tick()
    assert report.claimed == 4 and {o.due.clone_id for o in report.outcomes} == {1}  # clone 2 never opted in
    assert report.counts()["ordered"] == 4
    assert _states(conn) == {"BTC": "filled", "ETH": "filled", "HYPE": "filled", "SOL": "filled"}
    assert len(fake.applied_orders) == 4 and all(w["c"].startswith("0x") for w in fake.applied_orders)
    cloids = {c for (c,) in conn.execute("SELECT client_order_id FROM orders")}
    assert {w["c"] for w in fake.applied_orders} == cloids  # the runtime's deterministic client order ids
    nonces = [r["nonce"] for r in fake.requests if r["action"]["type"] == "order"]
    assert nonces == sorted(set(nonces)) and len(nonces) == 4  # one clock ms, yet unique and increasing
    assert all(len(r["action"]["orders"]) == 3 and r["action"]["grouping"] == "normalTpsl"  # with TP and SL
               for r in fake.requests if r["action"]["type"] == "order")
    assert conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'filled'").fetchone() == (4,)
    account_id = conn.execute("SELECT account_id FROM paper_accounts WHERE clone_id = 1 AND context_label = ?",
                              (LIVE_CONTEXT,)).fetchone()[0]
    fills = conn.execute("SELECT source, notes FROM paper_fills WHERE account_id = ?", (account_id,)).fetchall()
    assert len(fills) == 4 and all(s == "exchange" and "exchange oid" in n for s, n in fills)
    tids = {t for (t,) in conn.execute("SELECT tid FROM live_fills")}
    assert tids == {f["tid"] for f in fake.fills[owner.address.lower()]}
    fees = conn.execute("SELECT SUM(amount_micro) FROM ledger_events WHERE account_id = ? AND kind = 'fee'",
                        (account_id,)).fetchone()[0]
    exchange_fees = sum(Decimal(f["fee"]) for f in fake.fills[owner.address.lower()])
    assert fees == -round(exchange_fees * 1_000_000)
    assert runtime.reconciliations == {1: "ok"}
    assert conn.execute("SELECT ok, detail FROM live_reconciliations").fetchall() == [(1, "positions match")]
    gates = dict(conn.execute("SELECT gate, passed FROM decision_gates WHERE run_id = 1"))
    assert gates["kill_switch_at_send"] == gates["live_account"] == gates["live_day_notional"] == 1
    kinds = [k for (k,) in conn.execute("SELECT kind FROM execution_events WHERE run_id = 1 ORDER BY event_id")]
    assert kinds == ["order_created", "live_sent", "order_filled", "live_fill"]  # the answer, then the booked fill
    assert runtime.broker.mark(NOW_MS) == []  # the paper broker never marks a live account
    check = metrics.reconcile(conn, account_id)  # the paper ledger check holds for the exchange's account too
    assert check["balanced"] and check["equity_reconciles"]

    # funding from the exchange lands once in the same ledger
    coin = next(iter(fake.positions[owner.address.lower()]))
    fake.add_funding(owner.address, coin, Decimal("-0.125"), NOW_MS + 3_600_000)
    later = dataclasses.replace(runtime.venue, clock=lambda: NOW_MS + 3_600_000)
    assert reconcile(conn, 1, later).funding == 1
    assert reconcile(conn, 1, later).funding == 0
    assert conn.execute("SELECT amount_micro FROM ledger_events WHERE kind = 'funding' AND ref LIKE 'exchange:%'"
                        ).fetchall() == [(-125_000,)]

    # the owner trades the same account by hand: reconciliation fails loudly, naming the coin
    ours = runtime.broker.positions(account_id)["BTC"].size
    fake.external_fill(owner.address, "BTC", "buy", Decimal("0.001"))
    with pytest.raises(ReconciliationMismatch, match=f"BTC: ours {ours}, exchange {ours + Decimal('0.001')}$"):
        reconcile(conn, 1, runtime.venue)
    assert conn.execute("SELECT ok FROM live_reconciliations ORDER BY recon_id DESC LIMIT 1").fetchone() == (0,)


def test_a_kill_switch_pulled_mid_tick_stops_the_next_send(live, trading_home):
    runtime, fake, _ = live

    def pull(body: dict) -> None:
        other = open_memory(trading_home / "market_memory.sqlite")
        other.execute("INSERT OR REPLACE INTO kill_switches VALUES ('clone:1', 1, 'operator pulled it', 0)")
        other.close()

    fake.on_order = pull
    report = runtime.tick()
    assert report.counts()["ordered"] == 4
    assert len(fake.applied_orders) == 1
    states = sorted(_states(runtime.conn).values())
    assert states == ["filled", "refused", "refused", "refused"]
    refused = runtime.conn.execute("SELECT detail FROM decision_gates WHERE gate = 'kill_switch_at_send' AND "
                                   "passed = 0").fetchall()
    assert len(refused) == 3 and all("clone:1: operator pulled it" in d for (d,) in refused)
    assert runtime.conn.execute("SELECT COUNT(*) FROM execution_events WHERE kind = 'live_refused'").fetchone() == (3,)
    assert runtime.conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'rejected'").fetchone() == (3,)


@pytest.mark.parametrize("where", ["here", "on the exchange"])
def test_a_revoked_agents_orders_are_refused_and_reported(live, trading_home, where):
    runtime, fake, _ = live
    agent = agents.current_agent(runtime.conn, 1)

    def revoke(body: dict) -> None:
        if where == "here":
            other = open_memory(trading_home / "market_memory.sqlite")
            agents.revoke(other, 1, NOW_MS)
            other.close()
        else:
            fake.revoke_agent(agent.address)

    if where == "here":
        fake.on_order = revoke  # the first order goes; the owner revokes; the rest are refused before sending
    else:
        revoke({})  # the owner removed the agent on the exchange: the exchange refuses, and we stop using it
    runtime.tick()
    states = sorted(_states(runtime.conn).values())
    conn = runtime.conn
    if where == "here":
        assert states == ["filled", "refused", "refused", "refused"] and len(fake.applied_orders) == 1
        assert conn.execute("SELECT key_ciphertext, status FROM live_agents").fetchone() == (None, "revoked")
    else:
        assert states == ["refused", "refused", "refused", "rejected"] and fake.applied_orders == []
        (detail,) = conn.execute("SELECT detail FROM execution_events WHERE kind = 'order_rejected'").fetchone()
        assert detail == f"exchange: User or API Wallet {agent.address.lower()} does not exist."
        assert conn.execute("SELECT status FROM live_agents").fetchone() == ("revoked",)
    refusals = conn.execute("SELECT detail FROM decision_gates WHERE gate = 'live_agent' AND passed = 0").fetchall()
    assert len(refusals) == 3 and all(f"agent {agent.address} is revoked" in d for (d,) in refusals)
    assert runtime.due() == []  # a revoked clone is no longer live


def test_a_timeout_after_sending_does_not_make_a_second_order(live):
    runtime, fake, _ = live
    fake.delay_s = 0.6  # applied, then answered after the client's 0.3 s timeout
    runtime.tick([1], "BTC")
    conn = runtime.conn
    assert len(fake.applied_orders) == 1 and _states(conn) == {"BTC": "filled"}
    (order_id,) = conn.execute("SELECT order_id FROM orders").fetchone()
    assert conn.execute("SELECT detail FROM live_orders").fetchone()[0] == "orderStatus: filled"
    assert execute_live(conn, order_id, runtime.venue) == "filled"  # a retry sends nothing
    assert len(fake.requests) == 2 and len(fake.applied_orders) == 1  # approveAgent + the one order


def test_an_order_the_exchange_never_got_is_resent_as_the_same_signed_request(live):
    runtime, fake, _ = live
    fake.drop_s = 0.6  # not applied, and no answer in time
    runtime.tick([1], "ETH")
    conn = runtime.conn
    assert _states(conn) == {"ETH": "unknown"} and fake.applied_orders == []
    (order_id,) = conn.execute("SELECT order_id FROM orders").fetchone()
    conn.execute("INSERT INTO kill_switches VALUES ('global', 1, 'drill', 0)")
    assert execute_live(conn, order_id, runtime.venue) == "unknown"  # never resent under a kill switch
    assert [r["action"]["type"] for r in fake.requests] == ["approveAgent"]  # the dropped send never landed
    conn.execute("UPDATE kill_switches SET engaged = 0")
    assert execute_live(conn, order_id, runtime.venue) == "filled"  # asks orderStatus, then resends once
    assert execute_live(conn, order_id, runtime.venue) == "filled"
    assert len(fake.applied_orders) == 1
    sent = [r for r in fake.requests if r["action"]["type"] == "order"]
    assert len(sent) == 1 and sent[0]["nonce"] == json.loads(
        conn.execute("SELECT request_json FROM live_orders").fetchone()[0])["nonce"]
    # and the very same request again is a duplicate nonce for the exchange
    assert fake.exchange(sent[0]) == {"status": "err", "response": f"Invalid nonce: duplicate nonce {sent[0]['nonce']}"}


def test_live_limits_refuse_before_sending(trading_home):
    conn = open_memory(trading_home / "market_memory.sqlite")
    with fake_exchange(conn) as fake:
        v = venue(live_env(fake.url, master_key(), CLASH_LIVE_MAX_ORDER_USD="100"))
        connect_and_approve(conn, 1, owner_of(conn, 1, fake, Decimal(5000)), v)
        runtime = LiveRuntime(conn, Outbox(trading_home / "outbox", conn, Archive(LocalStore(trading_home / "a"))), v)
        runtime.tick([1], "BTC")
    assert _states(conn) == {"BTC": "refused"} and fake.applied_orders == []
    (detail,) = conn.execute("SELECT detail FROM execution_events WHERE kind = 'live_refused'").fetchone()
    assert detail.startswith("live_order_notional: live order ") and "(limit 100 USD)" in detail


def test_the_exchange_refuses_bad_ticks_bad_nonces_and_unknown_agents_in_its_own_words(live):
    runtime, fake, owner = live
    agent = agents.current_agent(runtime.conn, 1)
    key = agent.key(runtime.venue.keystore)
    wire = signing.order_wire(0, True, Decimal("0.001"), Decimal("93000"), False, "0x" + "01" * 16)
    bad_tick = dict(wire, p="93231.5")  # six significant figures
    answer = fake.exchange(signing.signed_request(key, signing.order_action([bad_tick]), NOW_MS + 1, False))
    assert answer["response"]["data"]["statuses"] == [{"error": "Order has invalid price."}]
    body = signing.signed_request(key, signing.order_action([dict(wire, s="0.0001234")]), NOW_MS + 2, False)
    assert fake.exchange(body)["response"]["data"]["statuses"] == [{"error": "Order has invalid size."}]
    assert fake.exchange(body) == {"status": "err", "response": f"Invalid nonce: duplicate nonce {NOW_MS + 2}"}
    stranger = AgentKey.generate()
    answer = fake.exchange(signing.signed_request(stranger, signing.order_action([wire]), NOW_MS + 3, False))
    assert answer == {"status": "err", "response": f"User or API Wallet {stranger.address.lower()} does not exist."}
    assert fake.applied_orders == []


def test_an_approval_not_signed_by_the_owner_is_refused_and_not_forwarded(trading_home):
    from eth_account import Account

    from clash_pipeline.live.signing import SignatureInvalid
    from clash_pipeline_tests.live_helpers import owner_signature

    conn = open_memory(trading_home / "market_memory.sqlite")
    with fake_exchange(conn) as fake:
        v = venue(live_env(fake.url, master_key()))
        owner_of(conn, 2, fake)
        payload = agents.connect(conn, 2, v.config, v.keystore, NOW_MS)
        with pytest.raises(SignatureInvalid, match="not by the clone's owner"):
            agents.approve(conn, 2, {"signature": owner_signature(Account.create(), payload)}, v.client, v.config,
                           NOW_MS)
        tampered = dict(payload["action"], agentAddress=AgentKey.generate().address)
        with pytest.raises(SignatureInvalid, match="not the approveAgent action this server issued"):
            agents.approve(conn, 2, {"action": tampered, "signature": "0x" + "11" * 65}, v.client, v.config, NOW_MS)
        assert fake.requests == [] and agents.current_agent(conn, 2).status == "pending"
        # an approval past its validUntil expires: the agent stops trading
        owner = owner_of(conn, 1, fake)
        connect_and_approve(conn, 1, owner, v)
        until = agents.current_agent(conn, 1).valid_until_ms
        agent, why = agents.trading_agent(conn, 1, until)
        assert agent is None and "expired" in why
        assert conn.execute("SELECT status, key_ciphertext FROM live_agents WHERE clone_id = 1").fetchone() == \
            ("expired", None)


def test_an_exchange_that_is_down_fails_the_runs_and_sends_nothing(live):
    runtime, fake, _ = live
    from clash_pipeline.live.client import ExchangeClient

    runtime.venue = dataclasses.replace(runtime.venue, client=ExchangeClient("http://127.0.0.1:9", 0.3))
    report = runtime.tick()
    assert report.counts()["failed"] == 4 and fake.applied_orders == []
    assert all("ExchangeError" in o.error for o in report.outcomes)
    assert runtime.conn.execute("SELECT COUNT(*) FROM live_orders").fetchone() == (0,)
