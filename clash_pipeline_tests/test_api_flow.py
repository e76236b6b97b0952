"""The HTTP API against a real uvicorn server on loopback: sign-in (challenge, sign, verify, refresh), a clone
created, edited, previewed and run, an audition fee paid, a ticket bought and the standings read; owners only
see their own clones; replayed nonces and reused refresh tokens are refused; no public route leaks a strategy."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from fastapi.routing import APIRoute
from eth_account import Account
from eth_account.messages import encode_defunct

from clash_pipeline.api import create_app
from clash_pipeline.api.routers import arena, auth, clones, market, operator, results
from clash_pipeline.api.settings import ApiSettings
from clash_pipeline.arena.audition import AuditionCriteria
from clash_pipeline.arena.races import ArenaConfig
from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import load_settings
from clash_pipeline.strategy import modes
from clash_pipeline_tests.api_helpers import CHAIN, DOMAIN, bearer, serve, sign_in
from clash_pipeline_tests.conftest import NOW_MS, TRADING_COINS
from clash_pipeline_tests.helpers import seed_hyperliquid

MARKER = "zqmarker7731"  # planted in the strategy: prompt text, a block id, the layout
OWNER = Account.from_key("0x" + "11" * 32)
OTHER = Account.from_key("0x" + "22" * 32)
OPERATOR = Account.from_key("0x" + "33" * 32)
FEES = {"basic": 5 * 10**15, "custom": 10**16, "power": 2 * 10**16}


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """One server for the module, on a trading memory (a day of candles and a snapshot), a settable clock."""
    home = tmp_path_factory.mktemp("api")
    conn = open_memory(home / "market_memory.sqlite")
    seed_hyperliquid(conn, NOW_MS, TRADING_COINS, ["15m", "1m"], days=1)
    conn.close()
    clock = [NOW_MS]
    cfg = ApiSettings(siwe_domains=(DOMAIN,), operator_addresses=frozenset({OPERATOR.address}),
                      rate_per_minute=60_000, rate_burst=10_000, audition_fees_wei=FEES,
                      audition=AuditionCriteria(profit_target_pct=-50.0, max_drawdown_pct=50.0, min_trades=1,
                                                hours=6),
                      arena=ArenaConfig(slots=4))
    app = create_app(load_settings({"CLASH_HOME": str(home)}), cfg, clock=lambda: clock[0])
    captured = Captured()
    logging.getLogger().addHandler(captured)
    logging.getLogger("clash_pipeline.api").setLevel(logging.INFO)
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield {"home": home, "client": client, "clock": clock, "logs": captured, "state": {}}
    logging.getLogger().removeHandler(captured)


def marked_graph() -> dict:
    graph = modes.custom_graph(TRADING_COINS, {"hyperliquid": "price_action"}, "15m").model_dump(mode="json")
    for block in graph["blocks"]:
        if block["kind"] == "trading_prompt":
            block["id"] = f"{MARKER}-prompt"
            block["prompt"] += f" Secret edge: {MARKER}."
    graph["edges"] = [{k: (f"{MARKER}-prompt" if v == "strategy" else v) for k, v in e.items()}
                      for e in graph["edges"]]
    graph["layout"]["nodes"] = {(f"{MARKER}-prompt" if k == "strategy" else k): v
                                for k, v in graph["layout"]["nodes"].items()}
    graph["layout"]["note"] = f"layout {MARKER}"
    return graph


def problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def test_every_route_is_under_api_v1_and_in_the_openapi_document(api):
    document = api["client"].get("/openapi.json").json()
    paths = set(document["paths"])
    assert all(path.startswith("/api/v1/") for path in paths)
    for path in ("/api/v1/auth/siwe/challenge", "/api/v1/auth/siwe/verify", "/api/v1/auth/session/refresh",
                 "/api/v1/internal/health/workers", "/api/v1/assets", "/api/v1/clones",
                 "/api/v1/clones/{clone_id}/graph", "/api/v1/clones/{clone_id}/draft",
                 "/api/v1/clones/{clone_id}/draft/validate", "/api/v1/clones/{clone_id}/draft/publish",
                 "/api/v1/clones/{clone_id}/preview", "/api/v1/clones/{clone_id}/runs",
                 "/api/v1/clones/{clone_id}/runs/{run_id}", "/api/v1/clones/{clone_id}/audition/payments",
                 "/api/v1/tickets", "/api/v1/arena/races/{race_id}/standings", "/api/v1/leaderboard",
                 "/api/v1/hall-of-fame", "/api/v1/internal/kill-switches/global"):
        assert path in paths, path
    served = {re.sub(r":path}", "}", route.path) for module in (auth, clones, market, results, arena, operator)
              for route in module.router.routes if isinstance(route, APIRoute)}
    assert len(served) >= 40 and served == paths
    verify = document["paths"]["/api/v1/auth/siwe/verify"]["post"]
    schema = document["components"]["schemas"][verify["responses"]["200"]["content"]["application/json"]["schema"]
                                                ["$ref"].rsplit("/", 1)[1]]
    assert set(schema["properties"]) == {"accessToken", "accessExpiresAt", "refreshToken", "refreshExpiresAt",
                                         "sessionId", "user", "isNewUser"}


def test_sign_in_refresh_and_the_refusals(api):
    client = api["client"]
    assert client.get("/api/v1/assets").status_code == 401
    tokens = sign_in(client, OWNER)
    assert tokens["isNewUser"] and tokens["user"]["address"] == OWNER.address
    assert tokens["user"]["roles"] == ["owner"]
    assert client.get("/api/v1/assets", headers=bearer(tokens)).status_code == 200
    assert sign_in(client, OWNER)["isNewUser"] is False

    # A replayed nonce: the same signed message twice.
    challenge = client.post("/api/v1/auth/siwe/challenge", json={"address": OWNER.address, "chainId": CHAIN}).json()
    assert challenge["domain"] == DOMAIN and challenge["uri"] == f"https://{DOMAIN}" and challenge["chainId"] == CHAIN
    signature = Account.sign_message(encode_defunct(text=challenge["message"]), OWNER.key).signature.to_0x_hex()
    first = client.post("/api/v1/auth/siwe/verify", json={"message": challenge["message"], "signature": signature})
    assert first.status_code == 200
    assert problem(client.post("/api/v1/auth/siwe/verify", json={"message": challenge["message"],
                                                                 "signature": signature}), 401)["field"] == \
        "message.nonce"

    def signed(message: str, key=OWNER.key) -> dict:
        return {"message": message, "signature": Account.sign_message(encode_defunct(text=message), key)
                .signature.to_0x_hex()}

    fresh = client.post("/api/v1/auth/siwe/challenge", json={"address": OWNER.address, "chainId": CHAIN}).json()
    refusals = {
        "message.domain": signed(fresh["message"].replace(DOMAIN, "evil.test", 1)),
        "message.chainId": signed(fresh["message"].replace(f"Chain ID: {CHAIN}", "Chain ID: 1")),
        "signature": signed(fresh["message"], OTHER.key),  # forged: another key signed it
        "message": signed(fresh["message"].replace("Version: 1", "Version: 1\nRequest ID: x")),
    }
    for field, body in refusals.items():
        assert problem(client.post("/api/v1/auth/siwe/verify", json=body), 401)["field"] == field
    api["clock"][0] += 301_000  # past the nonce's five minutes
    try:
        assert problem(client.post("/api/v1/auth/siwe/verify", json=signed(fresh["message"])), 401)["field"] == \
            "message.expirationTime"
    finally:
        api["clock"][0] = NOW_MS
    wrong_chain = client.post("/api/v1/auth/siwe/challenge", json={"address": OWNER.address, "chainId": 1})
    assert problem(wrong_chain, 422)["field"] == "chainId"
    missing = client.post("/api/v1/auth/siwe/challenge", json={"address": OWNER.address})
    assert problem(missing, 422)["field"] == "body.chainId"

    # Refresh rotates; presenting the replaced token again revokes the whole session.
    rotated = client.post("/api/v1/auth/session/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refreshToken"] != tokens["refreshToken"] and new["sessionId"] == tokens["sessionId"]
    assert client.get("/api/v1/auth/me", headers=bearer(tokens)).status_code == 401  # the old access token
    assert client.get("/api/v1/auth/me", headers=bearer(new)).json()["address"] == OWNER.address
    reuse = client.post("/api/v1/auth/session/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert "revoked" in problem(reuse, 401)["detail"]
    assert client.post("/api/v1/auth/session/refresh", json={"refreshToken": new["refreshToken"]}).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(new)).status_code == 401

    short = sign_in(client, OWNER)
    api["clock"][0] += 901_000  # past the access token's 15 minutes
    try:
        assert "expired" in problem(client.get("/api/v1/auth/me", headers=bearer(short)), 401)["detail"]
    finally:
        api["clock"][0] = NOW_MS
    assert client.post("/api/v1/auth/session/logout", headers=bearer(short)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(short)).status_code == 401

    api["state"]["owner"] = bearer(sign_in(client, OWNER))
    api["state"]["other"] = bearer(sign_in(client, OTHER))


def test_the_product_flow(api):
    client, owner = api["client"], api["state"]["owner"]
    created = client.post("/api/v1/clones", headers=owner, json={"name": "Marker", "mode": "power",
                                                                 "description": "a public bio",
                                                                 "graph": marked_graph()})
    assert created.status_code == 201, created.text
    clone = created.json()
    clone_id = api["state"]["clone"] = clone["cloneId"]
    assert clone["activeVersion"] == 1 and clone["creatorAddress"] == OWNER.address
    assert client.get("/api/v1/clones", headers=owner).json()["items"][0]["cloneId"] == clone_id
    basic = client.post("/api/v1/clones", headers=owner, json={"name": "Basic one", "mode": "basic"})
    assert basic.status_code == 201 and basic.json()["controlMode"] == "basic"
    duplicate = client.post("/api/v1/clones", headers=owner, json={"name": "Marker", "mode": "basic"})
    assert problem(duplicate, 409)["field"] == "body.name"
    lookalike = client.post("/api/v1/clones", headers=owner, json={"name": "MARKER", "mode": "basic"})
    assert "looks like" in problem(lookalike, 409)["detail"]
    too_long = client.post("/api/v1/clones", headers=owner, json={"name": "x" * 33, "mode": "basic"})
    assert problem(too_long, 422)["field"] == "body.name"

    # Read the graph with its layout; ETag and If-None-Match.
    graph = client.get(f"/api/v1/clones/{clone_id}/graph", headers=owner)
    assert graph.status_code == 200 and graph.json()["graph"]["layout"]["note"] == f"layout {MARKER}"
    etag = graph.headers["ETag"]
    assert client.get(f"/api/v1/clones/{clone_id}/graph", headers={**owner, "If-None-Match": etag}).status_code == 304

    # Edit: an invalid draft lists its problems; a valid one is published as version 2.
    draft = graph.json()["graph"]
    broken = json.loads(json.dumps(draft))
    broken["blocks"][0]["profile"] = "no_such_profile"
    assert client.put(f"/api/v1/clones/{clone_id}/draft", headers=owner, json=broken).status_code == 200
    checked = client.post(f"/api/v1/clones/{clone_id}/draft/validate", headers=owner).json()
    assert not checked["valid"] and checked["problems"][0]["blockId"] == broken["blocks"][0]["id"]
    assert checked["problems"][0]["field"] == "profile"
    refused = client.post(f"/api/v1/clones/{clone_id}/draft/publish", headers=owner)
    assert problem(refused, 422)["problems"][0]["field"] == "profile"
    prompt = next(b for b in draft["blocks"] if b["kind"] == "trading_prompt")
    prompt["controls"]["max_order_usd"] = 900.0
    assert client.put(f"/api/v1/clones/{clone_id}/draft", headers=owner, json=draft).status_code == 200
    assert client.post(f"/api/v1/clones/{clone_id}/draft/validate", headers=owner).json()["valid"]
    published = client.post(f"/api/v1/clones/{clone_id}/draft/publish", headers=owner)
    assert published.status_code == 201 and published.json()["activeVersion"] == 2
    assert client.get(f"/api/v1/clones/{clone_id}/graph", headers={**owner, "If-None-Match": etag}).status_code == 200
    assert client.get(f"/api/v1/clones/{clone_id}/graph?version=1", headers={**owner, "If-None-Match": etag}) \
        .status_code == 304  # version 1 is immutable

    # Preview the draft and a stored version as of a time: read plans and packets, nothing after as-of.
    preview = client.post(f"/api/v1/clones/{clone_id}/preview", headers=owner, json={"asOf": str(NOW_MS - 3_600_000)})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["assets"] == len(TRADING_COINS) and body["plan"]["prompts"]
    candles = body["packets"][0]["channels"]["hyperliquid.candles"]["reads"]["candles"]["rows"]
    assert candles and all(row[0] <= NOW_MS - 3_600_000 for row in candles)
    stored = client.post(f"/api/v1/clones/{clone_id}/preview", headers=owner, json={"source": "version", "version": 1})
    assert stored.status_code == 200 and len(stored.json()["packets"]) == len(TRADING_COINS)
    latest = client.get(f"/api/v1/clones/{clone_id}/assets/BTC/latest", headers=owner)
    assert latest.status_code == 200 and latest.json()["packets"][0]["asset"] == "BTC"
    assert client.get("/api/v1/assets/ETH/latest", headers=owner).json()["asset"] == "ETH"

    # Run a decision now, then read the runs and one run's story.
    ran = client.post(f"/api/v1/clones/{clone_id}/decisions/run", headers=owner, json={"force": True})
    assert ran.status_code == 200, ran.text
    assert len(ran.json()["runs"]) == len(TRADING_COINS) and ran.json()["counts"]["failed"] == 0
    runs = client.get(f"/api/v1/clones/{clone_id}/runs", headers=owner, params={"limit": 3}).json()
    assert len(runs["items"]) == 3 and runs["nextCursor"]
    rest = client.get(f"/api/v1/clones/{clone_id}/runs", headers=owner, params={"cursor": runs["nextCursor"]}).json()
    assert len(rest["items"]) == 1 and rest["nextCursor"] is None
    btc = client.get(f"/api/v1/clones/{clone_id}/runs", headers=owner, params={"asset": "BTC"}).json()["items"]
    assert [r["asset"] for r in btc] == ["BTC"]
    story = client.get(f"/api/v1/clones/{clone_id}/runs/{btc[0]['runId']}", headers=owner).json()
    assert story["run"]["coin"] == "BTC" and story["gates"] and "packet" in story
    assert client.get(f"/api/v1/clones/{clone_id}/accounts", headers=owner).json()["items"]

    # Pause and resume are new versions; the runtime runs nothing for a paused clone.
    assert client.post(f"/api/v1/clones/{clone_id}/pause", headers=owner).json()["runState"] == "paused"
    paused_run = client.post(f"/api/v1/clones/{clone_id}/decisions/run", headers=owner, json={"force": True}).json()
    assert paused_run["runs"] == []
    resumed = client.post(f"/api/v1/clones/{clone_id}/resume", headers=owner).json()
    assert resumed["runState"] == "running" and resumed["activeVersion"] == 4

    # Pay the audition fee (once per Idempotency-Key), audition, then buy a ticket and read the standings.
    fees = client.get("/api/v1/audition/fees").json()["feesWei"]
    payment = {"paymentRef": "0xfee1", "amountWei": fees["power"]}
    wrong = client.post(f"/api/v1/clones/{clone_id}/audition/payments", headers={**owner, "Idempotency-Key": "key-fee-0"},
                        json={**payment, "amountWei": "1"})
    assert problem(wrong, 422)["field"] == "body.amountWei"
    paid = client.post(f"/api/v1/clones/{clone_id}/audition/payments", headers={**owner, "Idempotency-Key": "key-fee-1"},
                       json=payment)
    assert paid.status_code == 201 and paid.json()["lifecycle"] == "audition_fee_paid"
    again = client.post(f"/api/v1/clones/{clone_id}/audition/payments", headers={**owner, "Idempotency-Key": "key-fee-1"},
                        json=payment)
    assert again.json() == paid.json() and again.headers["Idempotent-Replayed"] == "true"
    other_body = client.post(f"/api/v1/clones/{clone_id}/audition/payments",
                             headers={**owner, "Idempotency-Key": "key-fee-1"}, json={**payment, "paymentRef": "0xfee2"})
    assert problem(other_body, 422)["field"] == "header.Idempotency-Key"
    audition = client.post(f"/api/v1/clones/{clone_id}/audition", headers=owner)
    assert audition.status_code == 201, audition.text
    assert audition.json()["passed"], audition.json()["criteria"]
    status = client.get(f"/api/v1/clones/{clone_id}/audition", headers=owner).json()
    assert status["lifecycle"] == "in_arena" and status["auditions"][0]["status"] == "passed"

    buyer = api["state"]["other"]
    ticket = client.post("/api/v1/tickets", headers={**buyer, "Idempotency-Key": "k-ticket-1"},
                         json={"cloneId": clone_id, "paymentRef": "0xtix1"})
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["holder"] == OTHER.address and ticket.json()["amountWei"] == str(10**16)
    assert client.post("/api/v1/tickets", headers={**buyer, "Idempotency-Key": "k-ticket-1"},
                       json={"cloneId": clone_id, "paymentRef": "0xtix1"}).json() == ticket.json()
    fee_ref = client.post("/api/v1/tickets", headers={**buyer, "Idempotency-Key": "k-ticket-2"},
                          json={"cloneId": clone_id, "paymentRef": "0xfee1"})  # that reference paid the fee
    assert "audition fee" in problem(fee_ref, 409)["detail"]
    bad_ref = client.post("/api/v1/tickets", headers={**buyer, "Idempotency-Key": "k-ticket-3"},
                          json={"cloneId": clone_id, "paymentRef": "not a ref!"})
    assert problem(bad_ref, 422)["field"] == "body.paymentRef"
    mine = client.get("/api/v1/tickets/mine", headers=buyer).json()["items"]
    assert [t["ticketId"] for t in mine] == [ticket.json()["ticketId"]]
    race = client.get("/api/v1/arena").json()["accumulatingRace"]
    standings = client.get(f"/api/v1/arena/races/{race}/standings").json()
    mine_row = next(r for r in standings["items"] if r["cloneId"] == clone_id)
    assert standings["status"] == "accumulating" and mine_row["tickets"] == 1 and mine_row["name"] == "Marker"
    board = client.get("/api/v1/leaderboard").json()["items"]
    assert [b["cloneId"] for b in board] == [clone_id]
    api["state"]["race"] = race


def test_another_address_cannot_read_or_change_the_clone(api):
    client, other, clone_id = api["client"], api["state"]["other"], api["state"]["clone"]
    for method, path, body in (
            ("GET", f"/api/v1/clones/{clone_id}", None), ("GET", f"/api/v1/clones/{clone_id}/graph", None),
            ("GET", f"/api/v1/clones/{clone_id}/draft", None), ("PUT", f"/api/v1/clones/{clone_id}/draft", {}),
            ("POST", f"/api/v1/clones/{clone_id}/draft/publish", None),
            ("POST", f"/api/v1/clones/{clone_id}/preview", {}), ("GET", f"/api/v1/clones/{clone_id}/runs", None),
            ("POST", f"/api/v1/clones/{clone_id}/decisions/run", {}),
            ("GET", f"/api/v1/clones/{clone_id}/assets/BTC/latest", None),
            ("POST", f"/api/v1/clones/{clone_id}/pause", None), ("POST", f"/api/v1/clones/{clone_id}/retire", None),
            ("PATCH", f"/api/v1/clones/{clone_id}/profile", {"name": "Stolen"})):
        response = client.request(method, path, headers=other, json=body)
        assert problem(response, 403)["field"] == "path.clone_id", (method, path)
    assert client.get("/api/v1/clones", headers=other).json()["items"] == []
    assert problem(client.get("/api/v1/clones/999999", headers=other), 404)
    assert problem(client.get("/api/v1/internal/health/workers", headers=other), 403)


def test_operator_health_and_kill_switches(api):
    client, clone_id = api["client"], api["state"]["clone"]
    operator = bearer(sign_in(client, OPERATOR))
    health = client.get("/api/v1/internal/health/workers", headers=operator)
    assert health.status_code == 200
    sources = {s["source"]: s for s in health.json()["sources"]}
    assert sources["hyperliquid"]["lastSuccessfulPullAt"] and health.json()["decisions"]["lastTickAt"]
    assert isinstance(health.json()["decisions"]["dueNow"], int) and health.json()["archiveOutbox"]["pending"] >= 1
    switch = client.put(f"/api/v1/internal/kill-switches/clones/{clone_id}", headers=operator,
                        json={"engaged": True, "reason": "test"})
    assert switch.json() == {**switch.json(), "scope": f"clone:{clone_id}", "engaged": True}
    ran = client.post(f"/api/v1/clones/{clone_id}/decisions/run", headers=api["state"]["owner"],
                      json={"force": True}).json()
    assert ran["counts"]["ordered"] == 0
    client.put(f"/api/v1/internal/kill-switches/clones/{clone_id}", headers=operator, json={"engaged": False})
    assert client.put("/api/v1/internal/kill-switches/global", headers=api["state"]["owner"],
                      json={"engaged": True}).status_code == 403


def test_profile_backtest_results_and_retire(api):
    client, owner, clone_id = api["client"], api["state"]["owner"], api["state"]["clone"]
    profile = client.patch(f"/api/v1/clones/{clone_id}/profile", headers=owner,
                           json={"description": "trend follower", "creatorAddress": OTHER.address.lower()})
    assert profile.status_code == 200 and profile.json()["creatorAddress"] == OTHER.address  # EIP-55
    assert problem(client.patch(f"/api/v1/clones/{clone_id}/profile", headers=owner,
                                json={"creatorAddress": "0x123"}), 422)["field"] == "body.creatorAddress"
    assert problem(client.patch(f"/api/v1/clones/{clone_id}/profile", headers=owner,
                                json={"description": "x" * 281}), 422)["field"] == "body.description"
    taken = client.patch(f"/api/v1/clones/{clone_id}/profile", headers=owner, json={"name": "Basic one"})
    assert problem(taken, 409)["field"] == "body.name"
    public = client.get(f"/api/v1/profiles/{clone_id}").json()
    assert public["description"] == "trend follower" and public["career"]["races"] == 0

    launched = client.post(f"/api/v1/clones/{clone_id}/backtests", headers=owner,
                           json={"start": str(NOW_MS - 2 * 3_600_000), "end": str(NOW_MS), "cadence": "15m"})
    assert launched.status_code == 201, launched.text
    backtest = launched.json()
    assert backtest["metrics"] is not None and len(backtest["resultSha256"]) == 64
    assert client.get(f"/api/v1/clones/{clone_id}/backtests/{backtest['backtestId']}", headers=owner).json() == backtest
    too_long = client.post(f"/api/v1/clones/{clone_id}/backtests", headers=owner,
                           json={"start": "2026-11-01", "end": "2026-11-18"})
    assert problem(too_long, 422)["field"] == "body.end"
    accounts = client.get(f"/api/v1/clones/{clone_id}/accounts", headers=owner).json()["items"]
    live = next(a for a in accounts if a["context"] == "live")
    curve = client.get(f"/api/v1/clones/{clone_id}/accounts/{live['accountId']}/equity", headers=owner).json()
    assert "items" in curve
    costs = client.get(f"/api/v1/clones/{clone_id}/costs", headers=owner).json()["items"]
    assert costs and costs[0]["engine"] == "rules" and costs[0]["runs"] >= len(TRADING_COINS)
    catalog = client.get("/api/v1/categories").json()
    assert catalog["assets"] >= len(TRADING_COINS) and any(c["assets"] >= 1 for c in catalog["categories"])

    basic = client.get("/api/v1/clones", headers=owner).json()["items"][1]
    retired = client.post(f"/api/v1/clones/{basic['cloneId']}/retire", headers=owner)
    assert retired.json()["status"] == "retired" and retired.json()["lifecycle"] == "retired"
    assert problem(client.post(f"/api/v1/clones/{basic['cloneId']}/retire", headers=owner), 409)
    assert [r["cloneId"] for r in client.get("/api/v1/hall-of-fame").json()["items"]] == [basic["cloneId"]]


def test_standings_while_running_then_results_and_receipt(api):
    """The arena's clock is a worker's (Dagster); here the core advances it, the API reads each stage."""
    from clash_pipeline.archive.archive import Archive
    from clash_pipeline.archive.outbox import Outbox
    from clash_pipeline.archive.store import LocalStore
    from clash_pipeline.arena import lifecycle
    from clash_pipeline.arena.races import Arena
    from clash_pipeline.strategy import store

    client, race, clone_id = api["client"], api["state"]["race"], api["state"]["clone"]
    home = api["home"]
    conn = open_memory(home / "market_memory.sqlite")
    arena = Arena(conn, Outbox(home / "outbox", conn, Archive(LocalStore(home / "archive"))), ArenaConfig(slots=4))
    assert arena.start(race) == [clone_id]
    running = client.get(f"/api/v1/arena/races/{race}/standings").json()
    assert running["status"] == "running" and running["items"][0]["rank"] == 1
    assert running["items"][0]["returnPct"] == 0.0 and running["items"][0]["tickets"] == 1
    arena.end(race)
    arena.settle(race, NOW_MS)
    waiting = store.create_clone(conn, "Waiting", modes.basic_graph(), "basic").identity.clone_id  # no payout address
    for state in ("audition_fee_paid", "auditioning", "passed", "queued"):
        lifecycle.transition(conn, waiting, state, "test", NOW_MS)
    conn.execute("INSERT INTO promotion_queue VALUES (?, ?)", (waiting, NOW_MS))
    conn.close()
    queued = client.get("/api/v1/arena/queue").json()["items"]
    assert [(q["position"], q["cloneId"]) for q in queued] == [(1, waiting)] and "payout" in queued[0]["waitingFor"]
    detail = client.get(f"/api/v1/arena/races/{race}").json()
    assert detail["status"] == "settled" and detail["standings"][0]["rank"] == 1
    receipt = client.get(f"/api/v1/arena/races/{race}/settlement").json()
    assert receipt == detail["settlement"] and receipt["sales_wei"] == str(10**16)


def test_no_public_route_returns_a_strategy_and_no_log_line_a_secret(api):
    client, clone_id, race = api["client"], api["state"]["clone"], api["state"]["race"]
    document = client.get("/openapi.json").json()
    public = [path for path, ops in document["paths"].items() if "get" in ops and not ops["get"].get("security")]
    assert len(public) >= 10
    scanned = 0
    for path in public:
        url = path.replace("{clone_id}", str(clone_id)).replace("{race_id}", race)
        response = client.get(url)
        assert response.status_code == 200, (url, response.text)
        assert MARKER not in response.text.lower(), url
        scanned += 1
    assert scanned == len(public)
    owner_view = client.get(f"/api/v1/clones/{clone_id}/graph", headers=api["state"]["owner"]).text
    assert MARKER in owner_view  # the marker is really there for the owner
    logs = "\n".join(api["logs"].lines)
    assert "/api/v1/clones" in logs
    for secret in (MARKER, "Bearer", "cat_", "crt_", "signature"):
        assert secret not in logs, secret
