"""The one error translator: refusals that reveal nothing, 400s, 404s, and 500s without tracebacks.

Through the real app on SQLite and PostgreSQL. The unexpected error is a real one: the database
goes away under a signed-in person (SQLite: the file is deleted; PostgreSQL: the database stops
accepting connections), so the first query of the next request fails inside the app.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from bridge.logs import configure_logging
from bridge.store.db import make_engine
from bridge.store.models import Entry
from bridge.wiring import Wiring
from tests.web.conftest import Visitor
from tests.web_app import create_app

_PER_REQUEST = [
    (re.compile(r'nonce="[^"]+"'), 'nonce="N"'),
    (re.compile(r'name="csrf_token" value="[^"]+"'), 'name="csrf_token" value="C"'),
]


def _normalised(html: str) -> str:
    """The page without the values that differ on every request (the CSP nonce, the CSRF token)."""
    for pattern, replacement in _PER_REQUEST:
        html = pattern.sub(replacement, html)
    return html


def _entry_of(wiring: Wiring, crn: str) -> int:
    with Session(wiring.engine) as s:
        entry_id = s.exec(select(Entry.id).where(Entry.crn == crn).order_by(col(Entry.id))).first()
    assert entry_id is not None
    return entry_id


def _signed_in(new_visitor: type[Visitor], code: str) -> TestClient:
    visitor = new_visitor()
    visitor.sign_in(code)
    return visitor.client


# -- refusals and unknown pages ------------------------------------------------------------------


def test_an_excluded_entry_and_a_missing_one_get_the_same_403_page(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    excluded = _entry_of(synced_wiring, "F600218")  # N07P004 is excluded from this case
    client = _signed_in(new_visitor, "N07P004")
    pages = [client.get(f"/entries/{i}") for i in (excluded, 99_999_999)]
    assert [p.status_code for p in pages] == [403, 403]
    assert pages[0].headers["content-type"].startswith("text/html")
    first, second = (_normalised(p.text) for p in pages)
    assert first == second
    assert "You cannot see this page" in first
    assert "govuk-heading-l" in first
    for leak in ("F600218", str(excluded), "99999999", "excluded", "Traceback"):
        assert leak not in first
    # The same two through the API: one JSON body, byte for byte.
    answers = [client.get(f"/api/entries/{i}") for i in (excluded, 99_999_999)]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].content == answers[1].content
    assert answers[0].json() == {
        "error": {
            "status": 403,
            "message": "Not permitted: no such entry, or you may not act on it.",
        }
    }


def test_a_role_refusal_is_the_gov_uk_403_page(
    web_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    client = _signed_in(new_visitor, "N07A001")  # an offender manager, not a proxy
    page = client.get("/queue")
    assert page.status_code == 403
    assert '<h1 class="govuk-heading-l">You cannot see this page</h1>' in page.text
    assert "Traceback" not in page.text
    api = client.get("/api/queue")
    assert api.status_code == 403
    assert api.json() == {
        "error": {
            "status": 403,
            "message": "You do not have access to this part of the service.",
        }
    }


def test_unknown_pages_are_one_404_page_that_echoes_nothing(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    client = _signed_in(new_visitor, "N07P004")
    real = _entry_of(synced_wiring, "F600218")
    pages = [client.get(path) for path in (f"/entries/{real}/F600218", "/nowhere/Z999999")]
    assert [p.status_code for p in pages] == [404, 404]
    first, second = (_normalised(p.text) for p in pages)
    assert first == second
    assert "Page not found" in first
    assert "F600218" not in first
    assert "Z999999" not in first
    api = client.get("/api/nowhere/F600218")
    assert api.status_code == 404
    assert api.json() == {
        "error": {"status": 404, "message": "If you typed the address, check it is correct."}
    }


def test_a_malformed_parameter_is_a_400_page_or_json(
    web_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    client = _signed_in(new_visitor, "N07P005")
    # A value no page could contain by chance (a CSRF token is hex: "abc" can be in one).
    bad = "not-a-numberQ"
    for path in (f"/queue?page={bad}", f"/entries/{bad}"):
        page = client.get(path)
        assert page.status_code == 400, path
        assert "There is a problem with what was sent" in page.text
        assert "Some of what was sent is missing or not in the right form." in page.text
        assert bad not in page.text  # the input is not echoed
        assert "Traceback" not in page.text
    api = client.get("/api/queue?page=abc")
    assert api.status_code == 400
    assert api.json() == {
        "error": {
            "status": 400,
            "message": "Some of what was sent is missing or not in the right form.",
        }
    }


# -- an unexpected error -------------------------------------------------------------------------


@contextlib.contextmanager
def _database_gone(wiring: Wiring, db_url: str) -> Iterator[None]:
    """Take the store away from under the running app, and give it back afterwards."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        wiring.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
        yield  # the next connection opens a new, empty file: no tables
        return
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    name = url.database

    def allow(yes: bool) -> None:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(yes).lower()}'))

    allow(False)
    wiring.engine.dispose()  # pooled connections close: new ones are refused
    try:
        yield
    finally:
        allow(True)
        admin.dispose()


@pytest.fixture
def production_logging() -> Iterator[None]:
    """The service's own logging set-up (as `visor-bridge web` has), put back as it was afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(verbose=False)
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_an_unexpected_error_is_a_500_with_a_reference_and_one_log_line(
    web_wiring: Wiring,
    db_url: str,
    production_logging: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with TestClient(create_app(web_wiring)) as client:
        Visitor(client).sign_in("N07P005")
        assert client.get("/api/queue").status_code == 200
        capfd.readouterr()
        with _database_gone(web_wiring, db_url):
            page = client.get("/queue")
            api = client.get("/api/queue?crn=B219904")
        out, err = capfd.readouterr()

    assert page.status_code == 500
    assert "Sorry, there is a problem with the service" in page.text
    assert "Try again later" in page.text
    found = re.search(r"Reference: <strong>([0-9a-f]{8})</strong>", page.text)
    assert found, page.text
    page_reference = found.group(1)
    assert api.status_code == 500
    body = api.json()["error"]
    api_reference = body.pop("reference")
    assert body == {
        "status": 500,
        "message": "Try again later. If it keeps happening, tell your administrator the reference below.",
    }
    assert re.fullmatch(r"[0-9a-f]{8}", api_reference)
    assert api_reference != page_reference
    for shown in (page.text, api.text):
        for leak in ("Traceback", "OperationalError", "sqlite", "psycopg", "SELECT", "websession"):
            assert leak not in shown

    # Nothing on stdout; on stderr one line per failure, with ids only.
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 2, err
    for line, reference, path, response in zip(
        lines,
        (page_reference, api_reference),
        ("/queue", "/api/queue"),
        (page, api),
        strict=True,
    ):
        logged = json.loads(line)
        assert logged["event"] == "web.unexpected_error"
        assert logged["level"] == "error"
        assert logged["reference"] == reference
        assert logged["error"] == "OperationalError"
        assert logged["path"] == path
        assert logged["request_id"] == response.headers["x-request-id"]
        assert "B219904" not in line  # not even the query string
        assert "Traceback" not in line
        assert "no such table" not in line
        assert "does not allow connections" not in line


def test_readiness_says_not_ready_when_the_database_is_gone(
    web_wiring: Wiring, db_url: str, production_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(web_wiring)) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        if make_url(db_url).get_backend_name() == "sqlite":
            # SQLite opens a new empty file where the database was: not ready, it has no schema.
            path = Path(make_url(db_url).database or "")
            web_wiring.engine.dispose()
            for file in path.parent.glob(path.name + "*"):
                file.unlink()
            gone = client.get("/readyz")
            assert gone.status_code == 503
            assert "no visor-bridge schema" in gone.json()["reason"]
            return
        with _database_gone(web_wiring, db_url):
            gone = client.get("/readyz")
            alive = client.get("/healthz")
        assert (gone.status_code, gone.json()) == (
            503,
            {"status": "not ready", "reason": "the database does not answer"},
        )
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
        assert client.get("/readyz").json() == {"status": "ready"}
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_readiness_names_a_schema_behind_this_release(web_wiring: Wiring) -> None:
    with web_wiring.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003_audit_hmac'")
    with TestClient(create_app(web_wiring)) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "0003_audit_hmac" in answer.json()["reason"]
    assert "visor-bridge db upgrade" in answer.json()["reason"]
