"""Single sign-on through the OIDC provider simulator, served over a real loopback socket.

The bridge's pages run in Starlette's TestClient; the browser's trips to the provider (its
sign-in form, its redirect back) are made with httpx against the simulator, exactly as a
browser would follow them. The simulator's clock is the tests' fixed day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import col, select

from bridge.clock import FixedClock
from bridge.core.audit_events import ANONYMOUS
from bridge.oidc import JWKS_REFRESH_SECONDS
from bridge.sim import oidc as oidc_sim
from bridge.sim.server import serve_in_thread
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, Staff
from bridge.wiring import Wiring
from tests.builders import FIXTURE_TODAY, MakeWiring
from tests.loopback import local
from tests.web.conftest import Visitor, set_passwords
from tests.web.test_errors import production_logging  # noqa: F401 - a fixture
from tests.web_app import create_app


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: what these tests check is the pages and the sign-in flow, the same on either
    database (the services and stores under them run on PostgreSQL in their own tests)."""
    return sqlite_url


CLIENT = ("bridge-sso", "bridge-sso-secret")
CALLBACK = "http://testserver/login/oidc/callback"
USERS = ("N07P004", "N02P006", "ADM0001", "N07A001")


@pytest.fixture(scope="module")
def oidc_server() -> Iterator[str]:
    app = oidc_sim.create_app(
        clock=FixedClock(FIXTURE_TODAY),
        client_id=CLIENT[0],
        client_secret=CLIENT[1],
        redirect_uris=(CALLBACK,),
        users=USERS,
    )
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def oidc_url(oidc_server: str) -> str:
    local.post(f"{oidc_server}/__admin/reset").raise_for_status()
    return oidc_server


def sso_settings(issuer: str, **more: Any) -> dict[str, Any]:
    return {
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT[0],
        "oidc_client_secret": SecretStr(CLIENT[1]),
        **more,
    }


@pytest.fixture
def sso_wiring(make_wiring: MakeWiring, db_url: str, oidc_url: str) -> Wiring:
    wiring = make_wiring(db_url, **sso_settings(oidc_url))
    set_passwords(wiring)
    return wiring


@pytest.fixture
def person(sso_wiring: Wiring) -> Iterator[Visitor]:
    with TestClient(create_app(sso_wiring)) as client:
        yield Visitor(client)


def to_provider(visitor: Visitor, path: str = "/login/oidc") -> dict[str, str]:
    """Start a sign-in: the bridge's redirect, and the authorize request's parameters."""
    start = visitor.client.get(path, follow_redirects=False)
    assert start.status_code == 303, start.text[:300]
    location = start.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return {"location": location, **query}


def at_provider(request: dict[str, str], user: str, *, action: str = "sign-in") -> str:
    """The person at the provider's page chooses a test user: where it sends them back."""
    page = local.get(request["location"])
    assert (page.status_code == 200 and user in page.text) or user not in USERS
    base = request["location"].split("/authorize")[0]
    fields = {k: request.get(k, "") for k in ("client_id", "redirect_uri", "state", "nonce")}
    fields |= {"code_challenge": request["code_challenge"], "user": user, "action": action}
    back = local.post(f"{base}/authorize", data=fields)
    assert back.status_code == 302, back.text[:300]
    return back.headers["location"]


def sign_in_sso(
    visitor: Visitor, user: str, *, oidc_url: str | None = None, tamper: str | None = None
) -> httpx.Response:
    request = to_provider(visitor)
    if tamper:
        assert oidc_url
        local.post(f"{oidc_url}/__admin/next-token", json={"tamper": tamper}).raise_for_status()
    back = at_provider(request, user)
    assert back.startswith(CALLBACK)
    return visitor.client.get(back.removeprefix("http://testserver"), follow_redirects=False)


def landed(response: httpx.Response) -> str:
    """Where a signed-in page sends the browser on (a same-origin refresh, not a redirect)."""
    assert response.status_code == 200, response.text[:300]
    found = re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', response.text)
    assert found, "no refresh on the signed-in page"
    return found.group(1)


def audit(wiring: Wiring, action: str) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(wiring.engine) as s:
        rows = s.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
        return [(r.actor, dict(r.detail or {})) for r in rows]


def test_sign_in_through_the_provider_opens_a_bridge_session(
    person: Visitor, sso_wiring: Wiring, oidc_url: str
) -> None:
    request = to_provider(person)
    # Authorization code with PKCE (S256), a state and a nonce, the openid scope.
    assert request["response_type"] == "code"
    assert request["code_challenge_method"] == "S256"
    assert len(request["code_challenge"]) == 43
    assert request["state"]
    assert request["nonce"]
    assert "openid" in request["scope"].split()
    assert request["redirect_uri"] == CALLBACK
    done = person.client.get(
        at_provider(request, "N07P004").removeprefix("http://testserver"), follow_redirects=False
    )
    assert landed(done) == "/"
    home = person.client.get("/")
    assert home.status_code == 200
    assert "Sign out" in home.text
    assert ("N07P004", {"method": "oidc"}) in audit(sso_wiring, "sign_in")
    # The flow cookie is spent: the same answer from the provider cannot be replayed.
    again = person.client.get(CALLBACK.removeprefix("http://testserver") + "?code=x&state=y")
    assert again.status_code == 401


@pytest.mark.usefixtures("production_logging")
def test_no_log_line_carries_anything_from_the_token(
    person: Visitor,
    sso_wiring: Wiring,
    oidc_url: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The provider's token names the person ("Test user ..."): logs keep only a reason."""
    capfd.readouterr()
    assert landed(sign_in_sso(person, "N07P004"))
    sign_in_sso(person, "N07P005", oidc_url=oidc_url, tamper="nonce")
    sign_in_sso(person, "Q12Q345")
    out, err = capfd.readouterr()
    logged = out + err
    assert "web.oidc_refused" in logged
    assert "nonce" in logged
    for secret in ("Test user", "Q12Q345", "sim-", "eyJ"):
        assert secret not in logged


def test_the_session_cookie_is_replaced_at_sign_in(person: Visitor) -> None:
    person.client.get("/login")
    before = person.client.cookies.get("bridge_session")
    assert landed(sign_in_sso(person, "N07P004"))
    assert person.client.cookies.get("bridge_session") not in (None, before)


def test_an_unknown_staff_code_gets_a_page_that_says_so(
    person: Visitor, sso_wiring: Wiring
) -> None:
    response = sign_in_sso(person, "x99z999")
    assert response.status_code == 403
    assert "Your account is not set up in visor-bridge" in response.text
    assert "administrator" in response.text
    failed = audit(sso_wiring, "sign_in.failed")
    assert failed == [
        (ANONYMOUS, {"unknown_username": True, "method": "oidc", "reason": "unknown_staff"})
    ]
    assert "X99Z999" not in str(failed)  # a name the registry does not hold is not recorded
    assert "Sign out" not in person.client.get("/login").text


def test_a_long_claim_is_not_cut_down_to_someones_code(person: Visitor, sso_wiring: Wiring) -> None:
    """Staff codes are at most 16 characters; a longer claim starting with one is not it."""
    with session_scope(sso_wiring.engine) as s:
        s.exec(update(Staff).where(Staff.code == "ADM0001").values(code="ADM0001ABCDEFGHI"))  # type: ignore[call-overload, arg-type]
    response = sign_in_sso(person, "ADM0001ABCDEFGHIJ")
    assert response.status_code == 403
    assert "Your account is not set up" in response.text


def test_a_deactivated_person_is_refused(person: Visitor, sso_wiring: Wiring) -> None:
    with session_scope(sso_wiring.engine) as s:
        s.exec(update(Staff).where(Staff.code == "N07P004").values(active=False))  # type: ignore[call-overload, arg-type]
    response = sign_in_sso(person, "N07P004")
    assert response.status_code == 403
    assert "deactivated" in response.text
    assert (ANONYMOUS, {"staff": "N07P004", "method": "oidc", "reason": "inactive"}) in audit(
        sso_wiring, "sign_in.failed"
    )
    assert person.client.get("/queue", follow_redirects=False).status_code == 303  # to /login


def test_a_proxy_whose_vetting_lapsed_gets_the_lapsed_vetting_page(person: Visitor) -> None:
    """Vetting comes from the registry, never the token: signed in, then the usual refusal."""
    assert landed(sign_in_sso(person, "n02p006 "))  # trimmed and upper-cased
    page = person.client.get("/tasks")
    assert page.status_code == 403
    assert "Your vetting has lapsed" in page.text


def test_roles_come_from_the_registry(person: Visitor) -> None:
    assert landed(sign_in_sso(person, "ADM0001"))
    assert person.client.get("/admin/staff").status_code == 200
    assert person.client.get("/queue").status_code == 403


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("signature", "signature"),
        ("expired", "expired"),
        ("issuer", "issuer"),
        ("audience", "audience"),
        ("nonce", "nonce"),
        ("unsigned", "token_invalid"),  # alg: none is never accepted
    ],
)
def test_a_bad_id_token_is_refused(
    person: Visitor, sso_wiring: Wiring, oidc_url: str, tamper: str, reason: str
) -> None:
    response = sign_in_sso(person, "N07P004", oidc_url=oidc_url, tamper=tamper)
    assert response.status_code == 401
    assert "You could not be signed in" in response.text
    assert audit(sso_wiring, "sign_in.failed") == [
        (ANONYMOUS, {"method": "oidc", "reason": reason})
    ]
    assert audit(sso_wiring, "sign_in") == []
    assert "Sign out" not in person.client.get("/login").text


def test_a_rotated_signing_key_is_fetched_when_a_token_names_it(
    person: Visitor, sso_wiring: Wiring, oidc_url: str, clock: FixedClock
) -> None:
    assert landed(sign_in_sso(person, "N07P004"))  # the key set is read and kept
    local.post(f"{oidc_url}/__admin/rotate-key").raise_for_status()
    clock.advance(JWKS_REFRESH_SECONDS)  # a key set is read again at most once a minute
    with TestClient(create_app(sso_wiring)) as client:
        assert landed(sign_in_sso(Visitor(client), "ADM0001"))
    assert [a for a, _ in audit(sso_wiring, "sign_in")] == ["N07P004", "ADM0001"]


def test_a_state_that_does_not_match_is_refused(person: Visitor, sso_wiring: Wiring) -> None:
    request = to_provider(person)
    back = at_provider({**request, "state": "forged-state"}, "N07P004")
    response = person.client.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert response.status_code == 401
    assert audit(sso_wiring, "sign_in.failed") == [
        (ANONYMOUS, {"method": "oidc", "reason": "state_mismatch"})
    ]


def test_refusals_from_one_address_stop_being_recorded_once_its_budget_is_spent(
    person: Visitor, sso_wiring: Wiring
) -> None:
    """A loop calling the callback cannot fill the permanent audit log."""
    for _ in range(25):
        response = person.client.get("/login/oidc/callback?code=x&state=y")
        assert response.status_code == 401
    assert len(audit(sso_wiring, "sign_in.failed")) == 20  # the per-address budget


def test_a_callback_without_a_sign_in_started_here_is_refused(
    person: Visitor, new_sso_browser: Visitor
) -> None:
    """Another person's answer from the provider (login CSRF) opens no session here."""
    request = to_provider(person)
    back = at_provider(request, "N07P004")
    response = new_sso_browser.client.get(
        back.removeprefix("http://testserver"), follow_redirects=False
    )
    assert response.status_code == 401
    assert "Sign out" not in new_sso_browser.client.get("/login").text


@pytest.fixture
def new_sso_browser(sso_wiring: Wiring) -> Iterator[Visitor]:
    with TestClient(create_app(sso_wiring)) as client:
        yield Visitor(client)


def test_the_provider_refuses_a_wrong_pkce_verifier(
    person: Visitor, sso_wiring: Wiring, oidc_url: str
) -> None:
    """The simulator checks PKCE: a code sent back with another verifier is no use."""
    request = to_provider(person)
    back = at_provider(request, "N07P004")
    code = parse_qs(urlsplit(back).query)["code"][0]
    answer = local.post(
        f"{oidc_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": "a" * 64,
        },
        auth=CLIENT,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    # ...and the code is spent, so the bridge's own exchange fails as well.
    response = person.client.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert response.status_code == 401
    assert audit(sso_wiring, "sign_in.failed")[-1][1]["reason"] == "token_exchange"


def test_the_provider_refuses_a_wrong_client_secret(oidc_url: str) -> None:
    answer = local.post(
        f"{oidc_url}/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
        auth=(CLIENT[0], "wrong"),
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_cancelling_at_the_provider_is_a_refusal(person: Visitor, sso_wiring: Wiring) -> None:
    back = at_provider(to_provider(person), "N07P004", action="cancel")
    assert "error=access_denied" in back
    response = person.client.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert response.status_code == 401
    assert audit(sso_wiring, "sign_in.failed")[-1][1]["reason"] == "provider_error"


def test_a_held_form_is_offered_back_after_single_sign_on(person: Visitor) -> None:
    """The sign-in page's `next` (here the held form's page) survives the trip."""
    page = person.client.get("/login?next=/held").text
    assert 'href="/login/oidc?next=/held"' in page or "/login/oidc?next=%2Fheld" in page
    request = to_provider(person, "/login/oidc?next=/held")
    back = at_provider(request, "N07P004")
    done = person.client.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert landed(done) == "/held"


def test_next_is_never_another_site(person: Visitor) -> None:
    request = to_provider(person, "/login/oidc?next=//evil.example/")
    back = at_provider(request, "N07P004")
    done = person.client.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert landed(done) == "/"


def test_sign_out_ends_the_provider_session_too(
    person: Visitor, sso_wiring: Wiring, oidc_url: str
) -> None:
    assert landed(sign_in_sso(person, "N07P004"))
    out = person.post("/logout", page="/")
    assert out.status_code == 303
    target = out.headers["location"]
    assert target.startswith(f"{oidc_url}/end-session?")
    query = parse_qs(urlsplit(target).query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login/oidc/signed-out"]
    assert query["id_token_hint"][0].count(".") == 2
    assert "Sign out" not in person.client.get("/login").text  # the bridge session is gone
    assert ("N07P004", {}) in audit(sso_wiring, "sign_out")
    # The provider ends its session and sends the person back to the bridge.
    back = local.get(target)
    assert back.status_code == 302
    assert back.headers["location"] == "http://testserver/login/oidc/signed-out"
    assert local.get(f"{oidc_url}/__admin/log").json()[-1]["event"] == "end_session"
    landing = person.client.get("/login/oidc/signed-out")
    assert "You have signed out" in landing.text
    # The CSP lets the sign-out form's redirect reach the provider (browsers check it).
    csp = landing.headers["content-security-policy"]
    assert re.search(r"form-action 'self' " + re.escape(oidc_url), csp)


def test_a_password_sign_out_does_not_visit_the_provider(person: Visitor) -> None:
    assert landed(sign_in_sso(person, "ADM0001"))  # an ID token cookie from before...
    person.sign_in("N07P004")  # ...is dropped by a password sign-in
    out = person.post("/logout", page="/")
    assert out.headers["location"] == "/login?signed_out=1"


def test_the_sign_in_page_offers_both_ways(person: Visitor) -> None:
    page = person.client.get("/login").text
    assert "Sign in with your organisation account" in page
    assert 'name="password"' in page


def test_single_sign_on_only_when_local_passwords_are_off(
    make_wiring: MakeWiring, db_url: str, oidc_url: str
) -> None:
    wiring = make_wiring(db_url, **sso_settings(oidc_url, local_passwords=False))
    set_passwords(wiring)
    app = create_app(wiring)
    with TestClient(app) as client:
        page = client.get("/login").text
        assert "Sign in with your organisation account" in page
        assert 'name="password"' not in page
        # A hand-made post with a valid CSRF token (the page has no form to read it from).
        token = app.state.tokens.csrf(app.state.tokens.loads(client.cookies["bridge_session"]))
        tried = client.post(
            "/login",
            data={"username": "N07P004", "password": "correct-horse-battery", "csrf_token": token},
            follow_redirects=False,
        )
        assert tried.status_code == 303
        assert tried.headers["location"] == "/login"
        assert "Sign out" not in client.get("/login").text


def test_without_single_sign_on_the_routes_are_not_there(visitor: Visitor) -> None:
    assert visitor.client.get("/login/oidc", follow_redirects=False).status_code == 404
    assert "organisation account" not in visitor.client.get("/login").text


def test_an_unreachable_provider_gets_a_page_not_a_crash(
    make_wiring: MakeWiring, db_url: str
) -> None:
    wiring = make_wiring(db_url, **sso_settings("http://127.0.0.1:9"))
    with TestClient(create_app(wiring)) as client:
        response = client.get("/login/oidc", follow_redirects=False)
        assert response.status_code == 503
        assert "Organisation sign-in is not available" in response.text
