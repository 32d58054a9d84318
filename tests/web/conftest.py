"""Fixtures for the web UI over Starlette's TestClient: a synced, staffed store with passwords."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from bridge.store.db import session_scope
from bridge.store.models import Staff
from bridge.wiring import Wiring
from tests.builders import FAST_HASHER, MakeWiring
from tests.web_app import create_app

#: Every fixture account gets this password in web tests (and in `visor-bridge demo`'s own form).
PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


class Visitor:
    """A person at a web browser: a TestClient with its own cookie jar, able to sign in as a fixture account."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        return csrf_of(self.client.get(path).text)

    def sign_in(self, code: str, password: str = PASSWORD) -> None:
        token = self.csrf("/login")
        response = self.client.post(
            "/login",
            data={"username": code, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text[:500]

    def post(self, path: str, data: dict[str, str] | None = None, *, page: str | None = None):  # type: ignore[no-untyped-def]
        """A form post with the CSRF token read from `page` (default: `path`)."""
        token = self.csrf(page or path)
        return self.client.post(
            path, data={**(data or {}), "csrf_token": token}, follow_redirects=False
        )


@functools.cache
def _password_hash() -> str:
    return FAST_HASHER.hash(PASSWORD)


def set_passwords(wiring: Wiring) -> None:
    """Every fixture account gets PASSWORD (AccountService.set_password has its own test)."""
    with session_scope(wiring.engine) as s:
        s.exec(update(Staff).values(password_hash=_password_hash()))  # type: ignore[call-overload]


#: A second administrator (the two-person rule needs one), added as an operator would.
ADMIN_2 = "ADM0002"


def add_second_admin(wiring: Wiring) -> str:
    """ADMIN_2, active, with PASSWORD: the registry's second administrator."""
    with session_scope(wiring.engine) as s:
        s.add(
            Staff(
                code=ADMIN_2,
                name="Second Administrator",
                roles=["admin"],
                active=True,
                password_hash=_password_hash(),
                updated_at=wiring.clock.now(),
            )
        )
    return ADMIN_2


@pytest.fixture
def web_wiring(
    request: pytest.FixtureRequest, make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> Wiring:
    """A store on SQLite and PostgreSQL with the fixture staff (all with PASSWORD).

    Not yet synced, unless the test also asks for `synced_wiring`: then it is the same store,
    copied from the template synced once from all the fixture cases.
    """
    synced = "synced_wiring" in request.fixturenames
    wiring = make_wiring(db_url, ndelius_url, synced=synced, full=synced)
    set_passwords(wiring)
    return wiring


@pytest.fixture
def synced_wiring(web_wiring: Wiring) -> Wiring:
    """The same, as after one full sync of the simulator's fixture cases (entries in the queue)."""
    return web_wiring


@pytest.fixture
def app_client(web_wiring: Wiring) -> Iterator[TestClient]:
    with TestClient(create_app(web_wiring)) as client:
        yield client


@pytest.fixture
def visitor(app_client: TestClient) -> Visitor:
    return Visitor(app_client)


@pytest.fixture
def new_visitor(web_wiring: Wiring) -> Iterator[type[Visitor]]:
    """A factory for more browsers (separate cookie jars) on the same app."""
    app = create_app(web_wiring)
    clients: list[TestClient] = []

    def make() -> Visitor:
        client = TestClient(app)
        clients.append(client)
        return Visitor(client)

    yield make  # type: ignore[misc]
    for client in clients:
        client.close()
