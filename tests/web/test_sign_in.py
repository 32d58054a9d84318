"""Sign-in, sessions, CSRF, throttling and security headers, through the real app on real databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.store.models import AuditEvent, WebSession
from bridge.web.session import COOKIE
from bridge.wiring import Wiring
from tests.web.conftest import PASSWORD, Visitor, csrf_of
from tests.web_app import create_app


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


def _home(client: TestClient) -> str:
    """Where the start page sends this visitor: /login when nobody is signed in."""
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    return str(response.headers["location"])


def _actions(wiring: Wiring) -> list[str]:
    with Session(wiring.engine) as s:
        return [e.action for e in s.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def test_a_page_needs_sign_in_and_sends_you_back_after(visitor: Visitor) -> None:
    response = visitor.client.get("/queue?state=pending", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/queue%3Fstate%3Dpending"
    page = visitor.client.get(response.headers["location"])
    token = csrf_of(page.text)
    signed_in = visitor.client.post(
        "/login",
        data={
            "username": "n07p004",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/queue?state=pending",
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/queue?state=pending"


def test_sign_in_rotates_the_cookie_and_sets_its_flags(
    visitor: Visitor, web_wiring: Wiring
) -> None:
    visitor.client.get("/login")
    before = visitor.client.cookies[COOKIE]
    token = visitor.csrf()
    response = visitor.client.post(
        "/login",
        data={"username": "N07P004", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie
    assert "Path=/" in set_cookie
    assert visitor.client.cookies[COOKIE] != before  # no session fixation
    assert "sign_in" in _actions(web_wiring)


def test_a_post_without_the_csrf_token_is_refused(visitor: Visitor) -> None:
    visitor.client.get("/login")
    for data in (
        {"username": "N07P004", "password": PASSWORD},
        {"username": "N07P004", "password": PASSWORD, "csrf_token": "forged"},
    ):
        response = visitor.client.post("/login", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "Traceback" not in response.text


def test_a_token_from_another_browser_is_refused(new_visitor: type[Visitor]) -> None:
    alice, mallory = new_visitor(), new_visitor()
    token = mallory.csrf()
    alice.client.get("/login")
    response = alice.client.post(
        "/login", data={"username": "N07P004", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 403


def test_wrong_passwords_are_refused_alike_audited_and_throttled(
    visitor: Visitor, web_wiring: Wiring
) -> None:
    for username in ("N07P004", "NOBODY1"):
        token = visitor.csrf()
        response = visitor.client.post(
            "/login",
            data={"username": username, "password": "wrong-password-1", "csrf_token": token},
        )
        assert response.status_code == 401
        assert "Enter a correct username and password" in response.text
        assert "Error: Sign in" in response.text
    for _ in range(4):
        token = visitor.csrf()
        visitor.client.post(
            "/login",
            data={"username": "N07P004", "password": "wrong-password-1", "csrf_token": token},
        )
    # Now locked, even with the right password.
    token = visitor.csrf()
    response = visitor.client.post(
        "/login", data={"username": "N07P004", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text
    actions = _actions(web_wiring)
    assert actions.count("sign_in.failed") == 6
    assert "sign_in.throttled" in actions
    with Session(web_wiring.engine) as s:
        details = [
            e.detail
            for e in s.exec(select(AuditEvent).where(AuditEvent.action == "sign_in.failed"))
        ]
    assert {"unknown_username": True} in details
    assert all("password" not in str(d) for d in details)


def test_sign_out_ends_the_session(visitor: Visitor, web_wiring: Wiring) -> None:
    visitor.sign_in("N07P004")
    assert _home(visitor.client) == "/tasks"
    old_cookie = visitor.client.cookies[COOKIE]
    response = visitor.post("/logout", page="/login")
    assert response.status_code == 303
    assert _home(visitor.client) == "/login"
    # The old cookie no longer opens anything, even if someone kept it.
    with TestClient(create_app(web_wiring), cookies={COOKIE: old_cookie}) as replay:
        assert _home(replay) == "/login"
    assert "sign_out" in _actions(web_wiring)


def test_an_idle_session_times_out(web_wiring: Wiring) -> None:
    clock = web_wiring.clock
    assert isinstance(clock, FixedClock)
    with TestClient(create_app(web_wiring)) as client:
        visitor = Visitor(client)
        visitor.sign_in("N07P004")
        clock.advance(timedelta(minutes=29).total_seconds())
        assert _home(client) == "/tasks"
        clock.advance(timedelta(minutes=31).total_seconds())
        assert _home(client) == "/login"
    with Session(web_wiring.engine) as s:
        assert s.exec(select(WebSession)).first() is None
    assert "session.expired" in _actions(web_wiring)


def test_a_session_in_use_stays_signed_in_past_the_idle_timeout(web_wiring: Wiring) -> None:
    """Each use (at most once a minute) records the session's last use: 20 minutes, a page,
    20 more minutes (40 since signing in, more than the 30-minute idle timeout) and it holds."""
    clock = web_wiring.clock
    assert isinstance(clock, FixedClock)
    with TestClient(create_app(web_wiring)) as client:
        Visitor(client).sign_in("N07P004")
        clock.advance(timedelta(minutes=20).total_seconds())
        assert _home(client) == "/tasks"
        with Session(web_wiring.engine) as s:
            session = s.exec(select(WebSession)).one()
            assert abs(session.last_seen_at - clock.now()) < timedelta(seconds=1)
        clock.advance(timedelta(minutes=20).total_seconds())
        assert _home(client) == "/tasks"


def test_security_headers_and_no_store(visitor: Visitor) -> None:
    response = visitor.client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.text  # the js-enabled snippet, and only it
    assert response.text.count("<script") == response.text.count('type="module"') + 1


def test_health_probes_answer_without_sign_in(visitor: Visitor) -> None:
    assert visitor.client.get("/healthz").json() == {"status": "ok"}
    assert visitor.client.get("/readyz").json() == {"status": "ready"}


def test_unknown_pages_are_a_gov_uk_404(visitor: Visitor) -> None:
    response = visitor.client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_a_new_password_works_and_ends_old_sessions(visitor: Visitor, web_wiring: Wiring) -> None:
    visitor.sign_in("N07P005")
    web_wiring.accounts.set_password("N07P005", "a-brand-new-passphrase", actor="ADM0001")
    assert _home(visitor.client) == "/login"
    visitor.sign_in("N07P005", "a-brand-new-passphrase")
    assert _home(visitor.client) == "/tasks"
    assert "account.password_set" in _actions(web_wiring)


def test_a_short_password_is_refused(web_wiring: Wiring) -> None:
    import pytest

    from bridge.errors import BadInput

    with pytest.raises(BadInput, match="at least 12"):
        web_wiring.accounts.set_password("N07P005", "short", actor="ADM0001")


def test_idle_sessions_and_spent_throttling_rows_are_forgotten(
    new_visitor: type[Visitor], web_wiring: Wiring
) -> None:
    from bridge.store.models import SignInThrottle

    clock = web_wiring.clock
    assert isinstance(clock, FixedClock)
    first, second = new_visitor(), new_visitor()
    first.sign_in("N07P004")
    token = first.csrf()
    first.client.post(
        "/login", data={"username": "N07P005", "password": "wrong-password-1", "csrf_token": token}
    )
    clock.advance(timedelta(minutes=31).total_seconds())
    second.sign_in("N07P005")
    with Session(web_wiring.engine) as s:
        assert [r.staff_code for r in s.exec(select(WebSession))] == ["N07P005"]
        assert s.exec(select(SignInThrottle)).all() == []


def _sessions(wiring: Wiring) -> list[WebSession]:
    with Session(wiring.engine) as s:
        return list(s.exec(select(WebSession)))


def test_a_refused_sign_in_creates_no_session(visitor: Visitor, web_wiring: Wiring) -> None:
    """Wrong password, unknown name, locked out: no session row, no new cookie, no way in."""
    visitor.client.get("/login")
    before = visitor.client.cookies[COOKIE]
    attempts = [("N07P004", "wrong-password-1")] * 5 + [
        ("NOBODY1", PASSWORD),
        ("N07P004", PASSWORD),
    ]
    statuses = []
    for username, password in attempts:
        token = visitor.csrf()
        response = visitor.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        statuses.append(response.status_code)
        assert COOKIE not in response.headers.get("set-cookie", ""), (
            username,
            response.status_code,
        )
        assert visitor.client.cookies[COOKIE] == before
        assert _sessions(web_wiring) == []
    assert statuses == [401] * 6 + [429]  # the last: the right password, but locked out
    assert _home(visitor.client) == "/login"  # the cookie it kept opens nothing
    actions = _actions(web_wiring)
    assert "sign_in" not in actions
    assert actions.count("sign_in.failed") == 6
