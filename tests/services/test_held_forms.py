"""Held forms: kept for the same person for 30 minutes, handed back once, erased with the case
and purged by retention. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bridge.clock import FixedClock
from bridge.services.retention import PURGE_RULES
from bridge.services.sync.erasure import erase_case
from bridge.store.db import session_scope
from bridge.store.models import HeldForm
from bridge.wiring import Wiring
from tests.builders import PROXY, PROXY_2, MakeWiring


@pytest.fixture
def wiring(db_url: str, make_wiring: MakeWiring) -> Wiring:
    return make_wiring(db_url)


def _rows(wiring: Wiring) -> list[HeldForm]:
    with Session(wiring.engine) as s:
        return list(s.exec(select(HeldForm)))


def test_a_form_is_held_for_its_sender_and_handed_back_once(
    wiring: Wiring, clock: FixedClock
) -> None:
    held = wiring.held_forms
    held.hold(
        staff=PROXY,
        crn="B203456",
        path="/tasks/B203456/sections/1/fields/PNC",
        fields={"value": "2001/0123456F", "version": "1", "csrf_token": "secret"},
    )
    assert held.waiting(staff=PROXY)
    assert not held.waiting(staff=PROXY_2)
    assert held.take(staff=PROXY_2) is None
    back = held.take(staff=PROXY)
    assert back is not None
    assert back.fields == {"value": "2001/0123456F", "version": "1"}  # never the CSRF token
    assert back.path == "/tasks/B203456/sections/1/fields/PNC"
    assert held.take(staff=PROXY) is None
    held.hold(staff=PROXY, crn="B203456", path="/tasks/B203456/approve", fields={"x": "y"})
    clock.advance(31 * 60)
    assert not held.waiting(staff=PROXY)
    assert held.take(staff=PROXY) is None
    assert _rows(wiring) == []  # a lapsed form is deleted, not just hidden


def test_held_forms_are_erased_with_the_case_and_purged_by_retention(
    wiring: Wiring, clock: FixedClock
) -> None:
    assert "heldform" in {r.table for r in PURGE_RULES}
    held = wiring.held_forms
    held.hold(staff=PROXY, crn="B203456", path="/tasks/B203456/approve", fields={"a": "1"})
    held.hold(staff=PROXY, crn="A117839", path="/tasks/A117839/approve", fields={"a": "2"})
    with session_scope(wiring.engine) as s:
        erase_case(s, "B203456", now=clock.now(), actor="system:sync")
    assert [r.crn for r in _rows(wiring)] == ["A117839"]
    clock.advance(wiring.settings.retention_content_days * 86400 + 3600)
    result = wiring.retention.run()
    assert result.rows.get("heldform") == 1
    assert _rows(wiring) == []
