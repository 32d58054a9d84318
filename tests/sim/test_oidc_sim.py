"""The OIDC provider simulator keeps the rules a real provider keeps, so the bridge's tests mean
something: registered redirects only, PKCE S256 required, codes single-use and short-lived,
client authentication, and a signed end-session hint."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from bridge.clock import FixedClock
from bridge.sim.oidc import CODE_SECONDS, create_app
from tests.builders import Cli

CALLBACK = "https://bridge.example/login/oidc/callback"
VERIFIER = "v" * 64


@pytest.fixture
def sim_clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def sim(sim_clock: FixedClock) -> TestClient:
    app = create_app(
        clock=sim_clock,
        client_id="c",
        client_secret="s",
        redirect_uris=(CALLBACK,),
        users=("N07P004",),
    )
    return TestClient(app)


def authorize(sim: TestClient, **overrides: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": "c",
        "redirect_uri": CALLBACK,
        "scope": "openid",
        "state": "st",
        "nonce": "no",
        "code_challenge": create_s256_code_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **overrides,
    }


def code_for(sim: TestClient, user: str = "N07P004") -> str:
    q = authorize(sim)
    form = {k: q[k] for k in ("client_id", "redirect_uri", "state", "nonce", "code_challenge")}
    back = sim.post("/authorize", data={**form, "user": user}, follow_redirects=False)
    assert back.status_code == 302
    query = parse_qs(urlsplit(back.headers["location"]).query)
    assert query["state"] == ["st"]
    return query["code"][0]


def exchange(sim: TestClient, code: str, verifier: str = VERIFIER, auth=("c", "s")):  # type: ignore[no-untyped-def]
    return sim.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=auth,
    )


def test_discovery_names_every_endpoint_under_its_issuer(sim: TestClient) -> None:
    doc = sim.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == "http://testserver"
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
        assert doc[name].startswith("http://testserver/")
    assert doc["code_challenge_methods_supported"] == ["S256"]


@pytest.mark.parametrize(
    "bad",
    [
        {"redirect_uri": "https://evil.example/cb"},
        {"client_id": "other"},
        {"code_challenge_method": "plain"},
        {"code_challenge": ""},
        {"scope": "profile"},
        {"response_type": "token"},
    ],
)
def test_authorize_refuses_what_a_provider_refuses(sim: TestClient, bad: dict[str, str]) -> None:
    page = sim.get("/authorize", params=authorize(sim, **bad))
    assert "not valid" in page.text
    assert "Test users" not in page.text


def test_a_code_gives_one_signed_id_token_and_only_once(sim: TestClient) -> None:
    code = code_for(sim)
    answer = exchange(sim, code)
    assert answer.status_code == 200
    keys = KeySet.import_key_set(sim.get("/jwks").json())
    token = jwt.decode(answer.json()["id_token"], keys, algorithms=["RS256"])
    assert token.claims["preferred_username"] == "N07P004"
    assert token.claims["aud"] == "c"
    assert token.claims["nonce"] == "no"
    assert exchange(sim, code).json()["error"] == "invalid_grant"  # spent


def test_pkce_client_and_age_are_checked(sim: TestClient, sim_clock: FixedClock) -> None:
    assert exchange(sim, code_for(sim), verifier="w" * 64).json() == {
        "error": "invalid_grant",
        "error_description": "PKCE verification failed",
    }
    assert exchange(sim, code_for(sim), auth=("c", "wrong")).status_code == 401
    old = code_for(sim)
    sim_clock.advance(timedelta(seconds=CODE_SECONDS + 1).total_seconds())
    assert exchange(sim, old).json()["error"] == "invalid_grant"


def test_end_session_needs_a_genuine_hint_to_redirect(sim: TestClient) -> None:
    id_token = exchange(sim, code_for(sim)).json()["id_token"]
    home = "https://bridge.example/login/oidc/signed-out"
    ok = sim.get(
        "/end-session",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": home},
        follow_redirects=False,
    )
    assert ok.status_code == 302
    assert ok.headers["location"] == home
    elsewhere = sim.get(
        "/end-session",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert "not valid" in elsewhere.text
    forged = sim.get("/end-session", params={"id_token_hint": id_token[:-4] + "AAAA"})
    assert "not valid" in forged.text


def test_an_unknown_tamper_is_refused(sim: TestClient) -> None:
    assert sim.post("/__admin/next-token", json={"tamper": "everything"}).status_code == 400


def test_the_cli_offers_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = Cli(capsys)("sim", "oidc", "--help")
    assert code == 0
    assert "--users" in out
