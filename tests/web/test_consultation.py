"""Justified consultation (issue 17): a view another site starts is refused before anything is
read or recorded; every view records a purpose (the route's, or the action's that led to it);
administrators' consultations of the registry and of failure reasons are audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from bridge.core.failure_text import FAILED_PHRASE
from bridge.core.lifecycle import State
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, Entry
from bridge.wiring import Wiring
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


PROXY, ADMIN = "N07P004", "ADM0001"


def _entry(wiring: Wiring, crn: str = "A117839") -> int:
    with Session(wiring.engine) as s:
        found = s.exec(select(Entry.id).where(Entry.crn == crn).order_by(col(Entry.id))).first()
    assert found is not None
    return found


def _events(wiring: Wiring, action: str) -> list[AuditEvent]:
    with Session(wiring.engine) as s:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        return list(s.exec(query).all())


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_view_started_by_another_site_is_refused_and_not_recorded(
    synced_wiring: Wiring, new_visitor: type[Visitor], site: str
) -> None:
    visitor = new_visitor()
    visitor.sign_in(PROXY)
    entry_id = _entry(synced_wiring)
    for path in (f"/entries/{entry_id}", f"/api/entries/{entry_id}"):
        response = visitor.client.get(path, headers={"Sec-Fetch-Site": site})
        assert response.status_code == 403, path
        assert "A117839" not in response.text
    assert _events(synced_wiring, "entry.viewed") == []


def test_own_pages_and_typed_addresses_are_views_with_a_purpose(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    visitor = new_visitor()
    visitor.sign_in(PROXY)
    entry_id = _entry(synced_wiring)
    for site in ("same-origin", "none", None):
        headers = {"Sec-Fetch-Site": site} if site else {}
        assert visitor.client.get(f"/entries/{entry_id}", headers=headers).status_code == 200
    assert visitor.client.get(f"/api/entries/{entry_id}").status_code == 200
    claimed = visitor.post(f"/entries/{entry_id}/claim", page=f"/entries/{entry_id}")
    assert claimed.status_code == 303
    assert visitor.client.get(f"/entries/{entry_id}").status_code == 200
    purposes = [e.detail["purpose"] for e in _events(synced_wiring, "entry.viewed")]
    # the page views (three, then the csrf read for the claim), the API's, then after the claim
    assert purposes[:3] == ["web:entry.view"] * 3
    assert "api:entry.show" in purposes
    assert purposes[-1] == "claim"
    assert all(p for p in purposes)  # never a view without a purpose


def test_administrators_consultations_are_audited(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    visitor = new_visitor()
    visitor.sign_in(ADMIN)
    assert visitor.client.get("/admin/staff").status_code == 200
    assert visitor.client.get("/admin/submissions").status_code == 200
    [registry] = _events(synced_wiring, "registry.viewed")
    assert (registry.actor, registry.category) == (ADMIN, "consultation")
    assert registry.detail["purpose"] == "admin:staff"
    assert registry.detail["staff"] > 0
    [failures] = _events(synced_wiring, "failures.viewed")
    assert failures.detail == {"entries": [], "purpose": "admin:failures"}
    assert (
        visitor.client.get("/admin/staff", headers={"Sec-Fetch-Site": "cross-site"}).status_code
        == 403
    )
    assert len(_events(synced_wiring, "registry.viewed")) == 1


def test_the_officer_sees_the_fixed_phrase_for_a_failure_in_json_and_html(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    entry_id = _entry(synced_wiring, "G719053")
    with session_scope(synced_wiring.engine) as s:
        s.execute(
            update(Entry)
            .where(col(Entry.id) == entry_id)
            .values(status=State.FAILED.value, reason="ViSOR rejected the record: Surname: pattern")
        )
    visitor = new_visitor()
    visitor.sign_in("N07A001")
    body = visitor.client.get("/api/cases/G719053/status").json()
    [failed] = [e for e in body["entries"] if e["id"] == entry_id]
    assert failed["reason"] == FAILED_PHRASE
    page = visitor.client.get("/cases/G719053")
    assert page.status_code == 200
    assert FAILED_PHRASE in page.text
    assert "Surname" not in page.text
    assert "Surname" not in json.dumps(body)
