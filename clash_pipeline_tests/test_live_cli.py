"""`clash live`: refused without the deployment setting; connect, approve, the live tick, status, reconcile and
revoke on the loopback exchange; and neither the agent key nor the master key is anywhere: not in the data folder,
the archive, the output or the logs."""

from __future__ import annotations

import json
import logging

from clash_pipeline import timeutil
from clash_pipeline.archive.archive import Archive
from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.archive.store import LocalStore
from clash_pipeline.cli import main
from clash_pipeline.live.agents import current_agent
from clash_pipeline.live.keystore import Keystore
from clash_pipeline.memory.db import open_memory
from clash_pipeline_tests.conftest import NOW_MS
from clash_pipeline_tests.live_helpers import fake_exchange, live_env, master_key, owner_of, owner_signature


def test_connect_without_live_trading_refuses_and_names_the_setting(trading_home, monkeypatch, capsys):
    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    monkeypatch.delenv("CLASH_LIVE_TRADING", raising=False)
    monkeypatch.setenv("CLASH_MASTER_KEY", master_key())
    assert main(["live", "connect", "--clone-id", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("clash live connect: live trading is off") and "CLASH_LIVE_TRADING=testnet" in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("CLASH_LIVE_TRADING", "mainnet")
    assert main(["live", "connect", "--clone-id", "1"]) == 1
    assert "CLASH_LIVE_MAINNET_CONFIRM=yes" in capsys.readouterr().err
    conn = open_memory(trading_home / "market_memory.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM live_agents").fetchone() == (0,)  # nothing was created


def test_the_live_commands_end_to_end_and_no_secret_anywhere(trading_home, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CLASH_HOME", str(trading_home))
    monkeypatch.setattr(timeutil, "now_ms", lambda: NOW_MS)  # the market memory's "now"
    conn = open_memory(trading_home / "market_memory.sqlite")
    outputs, stdout = [], []

    def run(*argv: str) -> int:
        code = main(list(argv))
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
        stdout.append(captured.out)
        return code

    with fake_exchange(conn) as fake:
        env = live_env(fake.url, master_key())
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        owner = owner_of(conn, 1, fake)
        assert run("live", "connect", "--clone-id", "1") == 0
        payload = json.loads(stdout[-1])
        assert payload["owner_address"] == owner.address and payload["action"]["type"] == "approveAgent"
        signed = trading_home / "signed.json"
        signed.write_text(json.dumps({"signature": owner_signature(owner, payload)}))
        assert run("live", "approve", "--clone-id", "1", "--signed", str(signed)) == 0
        assert "approved by " + owner.address in outputs[-1]
        agent = current_agent(conn, 1)
        secret = bytes(agent.key(Keystore.from_env(env)).wallet.key).hex()
        assert run("live", "run-once", "--clone-id", "1", "--json") == 0
        result = json.loads(outputs[-1])
        assert result["counts"]["ordered"] == 4 and set(result["live_orders"].values()) == {"filled"}
        assert result["reconciliations"] == {"1": "ok"}
        assert run("live", "status", "--json") == 0
        status = json.loads(outputs[-1])["clones"][0]
        assert status["status"] == "approved" and status["orders"] == {"filled": 4} and status["account"]["positions"]
        assert run("live", "status", "--clone-id", "1") == 0 and "last reconciliation: ok" in outputs[-1]
        assert run("live", "reconcile", "--clone-id", "1") == 0 and "positions match" in outputs[-1]
        bad = trading_home / "bad.json"
        bad.write_text(json.dumps({"signature": "0x" + "11" * 65}))
        assert run("live", "approve", "--clone-id", "1", "--signed", str(bad)) == 1
        assert "no agent waiting for approval" in outputs[-1]
        assert run("live", "revoke", "--clone-id", "1") == 0 and "its key is destroyed" in outputs[-1]
        assert run("live", "revoke", "--clone-id", "1") == 1
        assert run("live", "connect", "--clone-id", "1") == 0  # after a revocation, a new agent
        assert json.loads(stdout[-1])["agent_address"] != agent.address
        assert fake.requests[0]["action"]["agentAddress"] == agent.address
    Outbox(trading_home / "outbox", conn, Archive(LocalStore(trading_home / "archive"))).drain()
    conn.close()

    master = env["CLASH_MASTER_KEY"]
    import base64
    needles = [secret, "0x" + secret, master, base64.urlsafe_b64decode(master).hex()]
    files = [p for p in trading_home.rglob("*") if p.is_file()]
    assert any("archive" in p.parts for p in files)  # the archive was written, and is searched too
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data and needle.encode() not in data.lower(), f"a secret is in {path}"
    text = "\n".join(outputs) + caplog.text + json.dumps(fake.requests)
    for needle in needles:
        assert needle not in text.lower() and needle not in text
