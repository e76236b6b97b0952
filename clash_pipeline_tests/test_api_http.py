"""HTTP behaviour of the API on a real server: rate limits (429 + Retry-After) per client and per token,
request size limit (413), CORS for the configured origin, problem details everywhere, settings and `clash serve`
arguments validated."""

from __future__ import annotations

import httpx
import pytest

from clash_pipeline.api import create_app
from clash_pipeline.api.middleware import TokenBucket
from clash_pipeline.api.settings import ApiSettings, load_api_settings
from clash_pipeline.settings import load_settings
from clash_pipeline_tests.api_helpers import DOMAIN, serve

ORIGIN = "https://app.clash.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("api-http")
    cfg = ApiSettings(siwe_domains=(DOMAIN,), rate_per_minute=60, rate_burst=5, max_body_bytes=1024,
                      cors_origins=(ORIGIN,))
    app = create_app(load_settings({"CLASH_HOME": str(home)}), cfg)
    with serve(app) as url:
        yield url, app.state.limiter


@pytest.fixture
def client(server):
    url, limiter = server
    limiter.buckets.clear()  # each test starts with a full budget
    with httpx.Client(base_url=url) as client:
        yield client


def test_a_burst_over_the_limit_gets_429_with_retry_after(client):
    answers = [client.get("/api/v1/leaderboard", headers={"Origin": ORIGIN}) for _ in range(8)]
    limited = [a for a in answers if a.status_code == 429]
    assert answers[0].status_code == 200 and limited
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].headers["content-type"] == "application/problem+json"
    assert limited[0].headers["access-control-allow-origin"] == ORIGIN  # the frontend can read the answer


def test_the_token_bucket_refills_and_counts_keys_apart():
    now = [0.0]
    bucket = TokenBucket(rate_per_s=1.0, burst=2, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(1.0)
    assert bucket.take("b") == 0.0  # another client or token has its own budget
    now[0] += 1.0
    assert bucket.take("a") == 0.0


def test_request_size_cors_and_problems(client):
    big = client.post("/api/v1/auth/siwe/verify", json={"message": "x" * 2000, "signature": "0x"})
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    preflight = client.options("/api/v1/clones", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                                          "Access-Control-Request-Headers": "Authorization"})
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    evil = client.get("/api/v1/arena", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in evil.headers
    unauthorized = client.get("/api/v1/assets")
    assert unauthorized.status_code == 401 and unauthorized.json()["field"] == "Authorization"
    assert unauthorized.headers["WWW-Authenticate"].startswith("Bearer")
    unknown = client.get("/api/v1/no-such-route")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


def test_a_new_token_does_not_reset_the_client_address_budget(client):
    for _ in range(5):
        client.get("/api/v1/arena", headers={"Authorization": "Bearer a"})
    limited = client.get("/api/v1/arena", headers={"Authorization": "Bearer b"})
    assert limited.status_code == 429  # the client address's budget is spent whatever the token


def test_settings_from_the_environment_are_checked():
    cfg = load_api_settings({"CLASH_API_CHAIN_IDS": "6343", "CLASH_OPERATOR_ADDRESSES":
                             "0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a", "CLASH_AUDITION_FEES_WEI": "basic=7"})
    assert cfg.chain_ids == (6343,) and cfg.audition_fees_wei["basic"] == 7
    assert cfg.operator_addresses == {"0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"}
    assert load_api_settings({}).chain_ids == (4326, 6343)
    for env in ({"CLASH_OPERATOR_ADDRESSES": "alice"}, {"CLASH_AUDITION_FEES_WEI": "gold=1"},
                {"CLASH_API_RATE_BURST": "many"}):
        with pytest.raises(ValueError, match="CLASH_"):
            load_api_settings(env)


def test_clash_serve_validates_its_arguments(capsys):
    from clash_pipeline.cli import build_parser

    args = build_parser().parse_args(["serve", "--port", "8123"])
    assert (args.host, args.port) == ("127.0.0.1", 8123)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--port", "http"])
    assert "not a port" in capsys.readouterr().err
