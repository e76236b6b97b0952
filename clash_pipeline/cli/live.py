"""Live trading commands: connect a clone's agent, approve it with the owner's signature, status, revoke, the live
decision tick and reconciliation. Live trading is off unless CLASH_LIVE_TRADING is set (see README, Trading live)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clash_pipeline.settings import load_settings

EPILOG = ("Settings: CLASH_LIVE_TRADING=testnet|mainnet (default off; mainnet also needs CLASH_LIVE_MAINNET_CONFIRM="
          "yes), CLASH_MASTER_KEY (encrypts agent keys at rest), CLASH_LIVE_MAX_ORDER_USD, CLASH_LIVE_MAX_DAY_USD, "
          "CLASH_LIVE_API_URL.")


def _venue():
    from clash_pipeline.live.execute import venue_from_env

    return venue_from_env()  # refuses, naming the setting, before any work


def _memory():
    from clash_pipeline.memory.db import open_memory

    return open_memory(load_settings().memory_path)


def _read_signed(path: str) -> dict:
    try:
        text = Path(path).read_text().strip()
    except OSError as error:
        raise SystemExit(f"clash live approve: cannot read --signed {path}: {error.strerror}") from None
    if text.startswith("0x"):
        return {"signature": text}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SystemExit(f"clash live approve: --signed {path} is not JSON ({error.msg}) nor a 0x signature") from None
    return data if isinstance(data, dict) else {"signature": data}


def _agent_view(agent) -> dict:
    from clash_pipeline.timeutil import iso

    return {"clone_id": agent.clone_id, "network": agent.network, "owner_address": agent.owner,
            "agent_address": agent.address, "status": agent.status.value, "valid_until": iso(agent.valid_until_ms)}


def cmd_connect(args: argparse.Namespace) -> int:
    from clash_pipeline.live.agents import connect

    venue = _venue()
    payload = connect(_memory(), args.clone_id, venue.config, venue.keystore, venue.clock())
    print(json.dumps(payload, indent=2))
    print(f"agent {payload['agent_address']} created for clone {args.clone_id} ({payload['network']}); "
          f"{payload['next_step']}", file=sys.stderr)
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from clash_pipeline.live.agents import approve

    signed = _read_signed(args.signed)
    venue = _venue()
    agent = approve(_memory(), args.clone_id, signed, venue.client, venue.config, venue.clock())
    view = _agent_view(agent)
    print(json.dumps(view, indent=2) if args.json else
          f"clone {agent.clone_id}: agent {agent.address} approved by {agent.owner} on {agent.network} until "
          f"{view['valid_until']}; live trading is on for this clone")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from clash_pipeline.live.agents import current_agent
    from clash_pipeline.live.config import LiveDisabled, load_live_config

    conn = _memory()
    clones = [args.clone_id] if args.clone_id is not None else [c for (c,) in conn.execute(
        "SELECT DISTINCT clone_id FROM live_agents ORDER BY 1")]
    try:
        config = load_live_config()
        deployment = config.network.value
    except LiveDisabled as error:
        config, deployment = None, f"off ({error})"
    rows = []
    for clone_id in clones:
        agent = current_agent(conn, clone_id)
        if agent is None:
            if args.clone_id is not None:
                raise LookupError(f"clone {clone_id} has no live agent (clash live connect --clone-id {clone_id})")
            continue
        view = _agent_view(agent)
        view["orders"] = dict(conn.execute(
            "SELECT l.state, COUNT(*) FROM live_orders l JOIN orders o USING (order_id) WHERE o.clone_id = ? "
            "GROUP BY 1", (clone_id,)).fetchall())
        last = conn.execute("SELECT ts_ms, ok, detail FROM live_reconciliations WHERE clone_id = ? ORDER BY recon_id "
                            "DESC LIMIT 1", (clone_id,)).fetchone()
        view["last_reconciliation"] = None if last is None else {"ts_ms": last[0], "ok": bool(last[1]),
                                                                  "detail": last[2]}
        if config is not None and agent.status.value == "approved":
            from clash_pipeline.live.client import ExchangeClient, ExchangeError

            try:
                state = ExchangeClient(config.api_url, config.timeout_s).clearinghouse_state(agent.owner)
                view["account"] = {"account_value": state["marginSummary"]["accountValue"],
                                   "withdrawable": state.get("withdrawable"),
                                   "positions": {p["position"]["coin"]: p["position"]["szi"]
                                                 for p in state.get("assetPositions", [])}}
            except ExchangeError as error:
                view["account"] = {"error": str(error)}
        rows.append(view)
    if args.json:
        print(json.dumps({"live_trading": deployment, "clones": rows}, indent=2))
        return 0
    print(f"live trading: {deployment}")
    for view in rows:
        print(f"clone {view['clone_id']}: {view['status']} agent {view['agent_address']} for {view['owner_address']} "
              f"({view['network']}, valid until {view['valid_until']})")
        print(f"  orders: {', '.join(f'{k} {v}' for k, v in view['orders'].items()) or 'none'}")
        if view["last_reconciliation"]:
            rec = view["last_reconciliation"]
            print(f"  last reconciliation: {'ok' if rec['ok'] else 'FAILED'}: {rec['detail']}")
        if "account" in view:
            account = view["account"]
            print(f"  account: {account['error']}" if "error" in account else
                  f"  account: value {float(account['account_value']):,.2f} USD, withdrawable "
                  f"{float(account['withdrawable'] or 0):,.2f} USD, positions {account['positions'] or 'none'}")
    if not rows:
        print("no clone has a live agent")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from clash_pipeline.live.agents import revoke
    from clash_pipeline.timeutil import now_ms

    agent = revoke(_memory(), args.clone_id, now_ms())
    print(json.dumps(_agent_view(agent), indent=2) if args.json else
          f"clone {agent.clone_id}: agent {agent.address} revoked; its key is destroyed, nothing here can sign for "
          f"{agent.owner} any more. To remove it on the exchange too, delete the API wallet in the owner's "
          "Hyperliquid account.")
    return 0


def cmd_run_once(args: argparse.Namespace) -> int:
    from clash_pipeline.archive import open_archive
    from clash_pipeline.archive.outbox import Outbox
    from clash_pipeline.live.runtime import LiveRuntime

    venue = _venue()
    settings = load_settings()
    conn = _memory()
    runtime = LiveRuntime(conn, Outbox(settings.outbox_dir, conn, open_archive(settings)), venue)
    report = runtime.tick(None if args.clone_id is None else [args.clone_id], args.asset, args.force)
    result = {"counts": report.counts(), "live_orders": runtime.live_states, "reconciliations": runtime.reconciliations,
              "skipped": report.skipped}
    print(json.dumps(result, indent=2) if args.json else
          f"due {report.due}, claimed {report.claimed}: {report.counts()}; live orders "
          f"{runtime.live_states or 'none'}; reconciliation {runtime.reconciliations or 'nothing traded'}")
    failed = any(v != "ok" for v in runtime.reconciliations.values()) or report.counts()["failed"]
    return 1 if failed else 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from clash_pipeline.live.reconcile import reconcile

    venue = _venue()
    result = reconcile(_memory(), args.clone_id, venue, raise_on_mismatch=False)
    view = {"clone_id": result.clone_id, "ok": result.ok, "fills": result.fills, "funding": result.funding,
            "differences": result.differences}
    print(json.dumps(view, indent=2) if args.json else
          f"clone {result.clone_id}: {result.fills} new fill(s), {result.funding} funding payment(s); "
          + ("positions match the exchange" if result.ok else "POSITIONS DIFFER: " + "; ".join(result.differences)))
    return 0 if result.ok else 1


def _guarded(command):
    """One line on stderr for a refused live request (the setting, the signature, the exchange's words)."""
    def run(args: argparse.Namespace) -> int:
        from clash_pipeline.live.agents import LiveRefused
        from clash_pipeline.live.client import ExchangeError
        from clash_pipeline.live.config import LiveDisabled
        from clash_pipeline.live.keystore import KeystoreError
        from clash_pipeline.live.reconcile import ReconciliationMismatch
        from clash_pipeline.live.signing import SignatureInvalid

        try:
            return command(args)
        except (LiveDisabled, LiveRefused, KeystoreError, SignatureInvalid, ExchangeError, ReconciliationMismatch,
                LookupError) as error:
            print(f"clash live {args.action}: {error.args[0] if error.args else error}", file=sys.stderr)
            return 1
    return run


def register(commands) -> None:
    live = commands.add_parser("live", help="live trading on Hyperliquid with the owner's approved agent (off by "
                                            "default)", description=__doc__, epilog=EPILOG)
    actions = live.add_subparsers(dest="action", required=True, metavar="ACTION")
    connect = actions.add_parser("connect", help="create the clone's agent; print (JSON) the approveAgent action "
                                                 "for the owner to sign", epilog=EPILOG)
    connect.add_argument("--clone-id", type=int, required=True)
    connect.set_defaults(func=_guarded(cmd_connect))
    approve = actions.add_parser("approve", help="verify the owner's signature on the approveAgent action and submit "
                                                 "it", epilog=EPILOG)
    approve.add_argument("--clone-id", type=int, required=True)
    approve.add_argument("--signed", required=True, metavar="FILE",
                         help='JSON {"signature": "0x..."} (or {r, s, v}), or the bare 0x signature')
    approve.add_argument("--json", action="store_true")
    approve.set_defaults(func=_guarded(cmd_approve))
    status = actions.add_parser("status", help="agents, live orders, the last reconciliation and the live account")
    status.add_argument("--clone-id", type=int)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_guarded(cmd_status))
    revoke = actions.add_parser("revoke", help="revoke the clone's agent and destroy its key (works with live "
                                               "trading off)")
    revoke.add_argument("--clone-id", type=int, required=True)
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(func=_guarded(cmd_revoke))
    once = actions.add_parser("run-once", help="the decision tick for live clones: decide, send, reconcile")
    once.add_argument("--clone-id", type=int)
    once.add_argument("--asset", help="only this asset")
    once.add_argument("--force", action="store_true", help="run now even if this cadence tick already ran")
    once.add_argument("--json", action="store_true")
    once.set_defaults(func=_guarded(cmd_run_once))
    rec = actions.add_parser("reconcile", help="fills, funding and order states from the exchange; compare positions")
    rec.add_argument("--clone-id", type=int, required=True)
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(func=_guarded(cmd_reconcile))
