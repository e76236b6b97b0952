"""A clone's agent: connect (generate the key, issue the approveAgent action), approve (verify the owner's
signature, forward it), revoke (destroy the key), expiry (`validUntil`), and the agent's increasing nonces.

States: pending -> approved -> revoked | expired; pending -> revoked (replaced by a new connect). Only an approved,
unexpired agent signs orders; a revoked or expired agent's key is destroyed (the row keeps its address).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from clash_pipeline.live.client import ExchangeClient
from clash_pipeline.live.config import LIVE_CONTEXT, LiveConfig
from clash_pipeline.live.keystore import AgentKey, Keystore
from clash_pipeline.live.signing import (
    SignatureInvalid,
    approve_agent_action,
    approve_agent_signer,
    approve_agent_typed_data,
    parse_signature,
)
from clash_pipeline.market.exchange_rules import dec
from clash_pipeline.memory.db import transaction
from clash_pipeline.paper.broker import Broker
from clash_pipeline.timeutil import DAY_MS, iso


class AgentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REVOKED = "revoked"
    EXPIRED = "expired"


class LiveRefused(RuntimeError):
    """A live-trading request refused, with the reason (one line, no secret)."""


@dataclass(frozen=True)
class Agent:
    agent_id: int
    clone_id: int
    network: str
    owner: str
    address: str
    status: AgentStatus
    valid_until_ms: int | None
    approve_action: dict
    sealed: bytes | None

    def key(self, keystore: Keystore) -> AgentKey:
        if self.sealed is None:
            raise LiveRefused(f"agent {self.address} of clone {self.clone_id} has no key (it was {self.status})")
        return keystore.open(self.clone_id, self.address, self.sealed)


_COLUMNS = ("agent_id, clone_id, network, owner_address, agent_address, status, valid_until_ms, approve_action, "
            "key_ciphertext")


def _agent(row: tuple) -> Agent:
    *head, status, until, action, sealed = row
    return Agent(*head, AgentStatus(status), until, json.loads(action), sealed)


def current_agent(conn: sqlite3.Connection, clone_id: int) -> Agent | None:
    """The clone's newest agent, whatever its state."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM live_agents WHERE clone_id = ? ORDER BY agent_id DESC LIMIT 1",
                       (clone_id,)).fetchone()
    return _agent(row) if row else None


def clone_owner(conn: sqlite3.Connection, clone_id: int) -> str:
    row = conn.execute("SELECT creator FROM clones WHERE clone_id = ?", (clone_id,)).fetchone()
    if row is None:
        raise LookupError(f"no clone {clone_id}")
    if not row[0]:
        raise LiveRefused(f"clone {clone_id} has no creator address: live trading trades its creator's own account")
    return row[0]


def connect(conn: sqlite3.Connection, clone_id: int, config: LiveConfig, keystore: Keystore, now_ms: int) -> dict:
    """Generate the clone's agent (its key sealed at once) and the approveAgent action for the owner to sign."""
    owner = clone_owner(conn, clone_id)
    current = current_agent(conn, clone_id)
    if current and current.status is AgentStatus.APPROVED:
        raise LiveRefused(f"clone {clone_id} already has the approved agent {current.address}: "
                          "run `clash live revoke` first to replace it")
    key = AgentKey.generate()
    valid_until = now_ms + config.approval_days * DAY_MS
    name = f"clash{clone_id} valid_until {valid_until}"
    action = approve_agent_action(key.address, name, now_ms, config.mainnet)
    with transaction(conn):
        if current and current.status is AgentStatus.PENDING:
            _end(conn, current.agent_id, AgentStatus.REVOKED, "replaced by a new connect", now_ms)
        conn.execute("INSERT INTO live_agents (clone_id, network, owner_address, agent_address, agent_name, "
                     "key_ciphertext, status, approve_action, valid_until_ms, created_ms) VALUES "
                     "(?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                     (clone_id, config.network.value, owner, key.address, name, keystore.seal(clone_id, key),
                      json.dumps(action), valid_until, now_ms))
    return {"clone_id": clone_id, "network": config.network.value, "owner_address": owner,
            "agent_address": key.address, "valid_until": iso(valid_until), "action": action,
            "typed_data": approve_agent_typed_data(action),
            "next_step": "sign typed_data with the owner's wallet (eth_signTypedData_v4), save "
                         '{"signature": "0x..."} to a file, then run: clash live approve --clone-id '
                         f"{clone_id} --signed FILE"}


def approve(conn: sqlite3.Connection, clone_id: int, signed: dict, client: ExchangeClient, config: LiveConfig,
            now_ms: int) -> Agent:
    """Verify the owner's signature on the issued approveAgent action, forward it, and open the live account."""
    agent = current_agent(conn, clone_id)
    if agent is None or agent.status is not AgentStatus.PENDING:
        raise LiveRefused(f"clone {clone_id} has no agent waiting for approval: run `clash live connect` first")
    if not isinstance(signed, dict):
        raise SignatureInvalid("the signed file must hold a JSON object with a signature")
    if "action" in signed and signed["action"] != agent.approve_action:
        raise SignatureInvalid("action: not the approveAgent action this server issued for the clone (not forwarded)")
    if agent.network != config.network.value:
        raise LiveRefused(f"the agent was issued for {agent.network}, the deployment trades {config.network.value}")
    if agent.valid_until_ms is not None and agent.valid_until_ms <= now_ms:
        raise LiveRefused(f"the approveAgent action of clone {clone_id} expired at {iso(agent.valid_until_ms)}: "
                          "run `clash live connect` again")
    signature = parse_signature(signed.get("signature"))
    signer = approve_agent_signer(agent.approve_action, signature)
    if signer.lower() != agent.owner.lower():
        raise SignatureInvalid(f"signature: signed by {signer}, not by the clone's owner {agent.owner} "
                               "(not forwarded)")
    value = dec(client.clearinghouse_state(agent.owner)["marginSummary"]["accountValue"])  # before: nothing half-done
    answer = client.exchange({"action": agent.approve_action, "nonce": agent.approve_action["nonce"],
                              "signature": signature, "vaultAddress": None, "expiresAfter": None})
    if answer.get("status") != "ok":
        raise LiveRefused(f"the exchange refused approveAgent for clone {clone_id}: {answer.get('response')}")
    with transaction(conn):
        conn.execute("UPDATE live_agents SET status = 'approved', approved_ms = ? WHERE agent_id = ? AND "
                     "status = 'pending'", (now_ms, agent.agent_id))
        Broker(conn).account(clone_id, LIVE_CONTEXT, now_ms, value)  # the ledger starts at the account's value
    return current_agent(conn, clone_id)


def revoke(conn: sqlite3.Connection, clone_id: int, now_ms: int, reason: str = "revoked by the owner") -> Agent:
    """End the clone's agent here and destroy its key: nothing can sign for the clone any more."""
    agent = current_agent(conn, clone_id)
    if agent is None or agent.status not in (AgentStatus.PENDING, AgentStatus.APPROVED):
        raise LiveRefused(f"clone {clone_id} has no active agent to revoke")
    with transaction(conn):
        _end(conn, agent.agent_id, AgentStatus.REVOKED, reason, now_ms)
    return current_agent(conn, clone_id)


def _end(conn: sqlite3.Connection, agent_id: int, status: AgentStatus, reason: str, now_ms: int) -> None:
    conn.execute("UPDATE live_agents SET status = ?, status_reason = ?, revoked_ms = ?, key_ciphertext = NULL "
                 "WHERE agent_id = ?", (status.value, reason, now_ms, agent_id))


def agent_by_id(conn: sqlite3.Connection, agent_id: int) -> Agent:
    return _agent(conn.execute(f"SELECT {_COLUMNS} FROM live_agents WHERE agent_id = ?", (agent_id,)).fetchone())


def trading_agent(conn: sqlite3.Connection, clone_id: int, now_ms: int, network: str | None = None
                  ) -> tuple[Agent | None, str]:
    """The clone's agent if it may sign now (on `network`), else None and why (an approval past `validUntil`
    expires here)."""
    agent = current_agent(conn, clone_id)
    if agent is None:
        return None, f"clone {clone_id} has no agent (clash live connect)"
    if network is not None and agent.network != network:
        return None, f"agent {agent.address} was approved on {agent.network}, the deployment trades {network}"
    if agent.status is AgentStatus.APPROVED and agent.valid_until_ms is not None and agent.valid_until_ms <= now_ms:
        with transaction(conn):
            _end(conn, agent.agent_id, AgentStatus.EXPIRED, f"validUntil {iso(agent.valid_until_ms)} passed", now_ms)
        return None, f"agent {agent.address} expired at {iso(agent.valid_until_ms)}"
    if agent.status is not AgentStatus.APPROVED:
        return None, f"agent {agent.address} is {agent.status.value}"
    return agent, "approved"


def next_nonce(conn: sqlite3.Connection, agent_id: int, now_ms: int) -> int:
    """A nonce above every earlier one of this agent (the time in ms, or one more than the last)."""
    return conn.execute("UPDATE live_agents SET last_nonce = MAX(last_nonce + 1, ?) WHERE agent_id = ? "
                        "RETURNING last_nonce", (now_ms, agent_id)).fetchone()[0]


def live_clones(conn: sqlite3.Connection, network: str) -> list[int]:
    """Clones whose owner approved an agent on `network` (opted in): the ones the live tick runs."""
    return [c for (c,) in conn.execute("SELECT clone_id FROM live_agents WHERE status = 'approved' AND network = ? "
                                       "ORDER BY 1", (network,))]
