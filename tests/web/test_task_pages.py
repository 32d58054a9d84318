"""Task pages: a proxy works one case as one task, a field at a time, and never loses what
they typed. Through the real app on SQLite and PostgreSQL after a real sync of the fixtures.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.store.models import AuditEvent, Entry
from bridge.wiring import Wiring
from tests.builders import EXPIRED_PROXY, PROXY, PROXY_2
from tests.web.conftest import Visitor


@pytest.fixture
def proxy(synced_wiring: Wiring, visitor: Visitor) -> Visitor:
    visitor.sign_in(PROXY)
    return visitor


def _entries(wiring: Wiring, crn: str) -> list[Entry]:
    with Session(wiring.engine) as s:
        return list(s.exec(select(Entry).where(col(Entry.crn) == crn).order_by(col(Entry.id))))


def _actions(wiring: Wiring, action: str) -> list[AuditEvent]:
    with Session(wiring.engine) as s:
        return list(s.exec(select(AuditEvent).where(col(AuditEvent.action) == action)))


def _claim_next(proxy: Visitor) -> str:
    response = proxy.post("/tasks/claim-next", page="/tasks")
    assert response.status_code == 303
    crn = response.headers["location"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"[A-Z]\d{6}", crn)
    return crn


def _blocked_pnc(wiring: Wiring) -> Entry:
    with Session(wiring.engine) as s:
        return next(
            e
            for e in s.exec(select(Entry).order_by(col(Entry.id)))
            if any(i["blocking"] and i["path"] == "identity/PNC" for i in e.issues)
        )


def _field(crn: str, entry_id: int, path: str) -> str:
    return f"/tasks/{crn}/sections/{entry_id}/fields/{quote(path, safe='/')}"


def test_tasks_is_a_proxys_start_page_and_lists_cases(proxy: Visitor) -> None:
    home = proxy.client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/tasks"
    page = proxy.client.get("/tasks")
    assert page.status_code == 200
    assert 'id="tasks"' in page.text
    assert "Claim next case" in page.text
    assert "nominal-create" not in page.text


def test_a_new_person_as_one_task(proxy: Visitor, synced_wiring: Wiring) -> None:
    crn = _claim_next(proxy)
    page = proxy.client.get(f"/tasks/{crn}")
    assert page.status_code == 200
    assert "govuk-task-list" in page.text
    entries = _entries(synced_wiring, crn)
    for e in entries:
        assert f"/tasks/{crn}/sections/{e.id}" in page.text
    blocked = [e for e in entries if any(i["blocking"] for i in e.issues)]
    approve = proxy.post(
        f"/tasks/{crn}/approve",
        {f"v-{e.id}": str(e.version) for e in entries},
        page=f"/tasks/{crn}",
    )
    if blocked:  # refused as a whole, each blocking field linked
        assert approve.status_code == 409
        assert "There is a problem" in approve.text
        assert f"/tasks/{crn}/sections/{blocked[0].id}" in approve.text
        return
    assert approve.status_code == 303
    entered = proxy.post(
        f"/tasks/{crn}/entered", {"visor_reference": "VIS-000123"}, page=f"/tasks/{crn}"
    )
    assert entered.status_code == 303
    assert {e.status for e in _entries(synced_wiring, crn)} == {"accepted"}
    assert {e.visor_reference for e in _entries(synced_wiring, crn)} == {"VIS-000123"}


def test_a_new_record_tags_nothing_and_booleans_read_as_words(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    with Session(synced_wiring.engine) as s:
        entry = next(
            e
            for e in s.exec(select(Entry).where(col(Entry.section) == "addresses"))
            if e.kind == "nominal-create"
        )
    page = proxy.client.get(f"/tasks/{entry.crn}/sections/{entry.id}")
    assert page.status_code == 200
    assert "Changed" not in page.text
    assert "Was:" not in page.text
    assert re.search(r'id="field-Address-1-NoFixedAbode">(Yes|No)<', page.text)
    assert ">false<" not in page.text
    assert ">true<" not in page.text


def test_a_blocking_issue_fixed_through_a_question_page(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    entry = _blocked_pnc(synced_wiring)
    assert proxy.post(f"/tasks/{entry.crn}/claim", page="/tasks").status_code == 303
    section = proxy.client.get(f"/tasks/{entry.crn}/sections/{entry.id}")
    href = _field(entry.crn, entry.id or 0, "PNC")
    assert f'href="{href}"' in section.text
    question = proxy.client.get(href)
    assert question.status_code == 200
    assert "Police National Computer number" in question.text  # the help line as the hint
    bad = proxy.post(href, {"value": "not a pnc", "version": str(entry.version)}, page=href)
    assert bad.status_code == 400
    assert "There is a problem" in bad.text
    assert 'value="not a pnc"' in bad.text  # what was typed is kept
    good = proxy.post(href, {"value": "2001/0123456F", "version": str(entry.version)}, page=href)
    assert good.status_code == 303, good.text[:2000]
    after = next(e for e in _entries(synced_wiring, entry.crn) if e.id == entry.id)
    assert after.version == entry.version + 1
    assert not any(i["path"] == "identity/PNC" and i["blocking"] for i in after.issues)


def test_coded_fields_and_dates_are_questions(proxy: Visitor, synced_wiring: Wiring) -> None:
    with Session(synced_wiring.engine) as s:
        entry = next(s.exec(select(Entry).where(col(Entry.section) == "identity")))
    proxy.post(f"/tasks/{entry.crn}/claim", page="/tasks")
    gender = proxy.client.get(_field(entry.crn, entry.id or 0, "Gender"))
    assert 'type="radio"' in gender.text
    assert 'value="Female"' in gender.text
    born = _field(entry.crn, entry.id or 0, "DateOfBirth")
    page = proxy.client.get(born)
    assert 'name="day"' in page.text
    assert 'name="year"' in page.text
    wrong = proxy.post(
        born, {"day": "31", "month": "2", "year": "1990", "version": str(entry.version)}, page=born
    )
    assert wrong.status_code == 400
    assert "must be a real date" in wrong.text
    assert 'value="31"' in wrong.text


def test_a_stale_tab_keeps_the_answer_and_applies_it_to_the_new_version(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    entry = _blocked_pnc(synced_wiring)
    proxy.post(f"/tasks/{entry.crn}/claim", page="/tasks")
    href = _field(entry.crn, entry.id or 0, "CRO")
    token_page = href
    # Another tab saves first: version + 1.
    first = proxy.post(
        _field(entry.crn, entry.id or 0, "NOMS"),
        {"value": "A1234BC", "version": str(entry.version)},
        page=token_page,
    )
    assert first.status_code == 303
    stale = proxy.post(href, {"value": "123456/01A", "version": str(entry.version)}, page=href)
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.text
    assert 'value="123456/01A"' in stale.text
    assert f'name="version" value="{entry.version + 1}"' in stale.text
    again = proxy.post(href, {"value": "123456/01A", "version": str(entry.version + 1)}, page=href)
    assert again.status_code == 303


def test_a_lapsed_claim_says_so_and_claims_again(
    proxy: Visitor, synced_wiring: Wiring, clock: FixedClock
) -> None:
    crn = _claim_next(proxy)
    clock.advance(20 * 60)
    proxy.client.get("/tasks")  # the session stays alive; the listing renews no claim
    clock.advance(11 * 60)
    page = proxy.client.get(f"/tasks/{crn}")
    assert "Your claim lapsed" in page.text
    assert 'id="claim"' in page.text
    again = proxy.post(f"/tasks/{crn}/claim", page=f"/tasks/{crn}")
    assert again.status_code == 303
    assert "Your claim lapsed" not in proxy.client.get(f"/tasks/{crn}").text


def test_a_task_held_by_someone_else_cannot_be_claimed(
    proxy: Visitor, new_visitor: type[Visitor]
) -> None:
    crn = _claim_next(proxy)
    other = new_visitor()
    other.sign_in(PROXY_2)
    page = other.client.get(f"/tasks/{crn}")
    assert PROXY in page.text
    refused = other.post(f"/tasks/{crn}/claim", page=f"/tasks/{crn}")
    assert refused.status_code == 409


def test_an_expired_proxy_is_told_why_and_whom_to_contact(
    synced_wiring: Wiring, visitor: Visitor
) -> None:
    visitor.sign_in(EXPIRED_PROXY)
    home = visitor.client.get("/")
    assert home.status_code == 403
    assert "Your vetting has lapsed" in home.text
    assert "contact" in home.text
    assert 'href="/tasks"' not in home.text.split("<main", 1)[1]


def test_search_by_name_is_audited_without_the_terms(proxy: Visitor, synced_wiring: Wiring) -> None:
    listing = synced_wiring.tasks.listing(actor=PROXY, limit=1)
    name = listing.rows[0].name
    assert name
    surname = name.split()[-1]
    page = proxy.client.get(f"/tasks?q={surname}")
    assert listing.rows[0].crn in page.text
    events = _actions(synced_wiring, "tasks.searched")
    assert events
    assert surname.casefold() not in str(events[-1].detail).casefold()
    by_crn = proxy.client.get(f"/tasks?q={listing.rows[0].crn.lower()}")
    assert listing.rows[0].crn in by_crn.text


def test_my_tasks_and_ask_the_offender_manager(proxy: Visitor, synced_wiring: Wiring) -> None:
    crn = _claim_next(proxy)
    mine = proxy.client.get("/tasks?mine=true")
    assert f'href="/tasks/{crn}"' in mine.text
    entry = _entries(synced_wiring, crn)[0]
    section = f"/tasks/{crn}/sections/{entry.id}"
    empty = proxy.post(f"{section}/return", {"reason": ""}, page=section)
    assert empty.status_code == 400
    returned = proxy.post(f"{section}/return", {"reason": "Check the date of birth"}, page=section)
    assert returned.status_code == 303
    after = next(e for e in _entries(synced_wiring, crn) if e.id == entry.id)
    assert after.status == "rejected"
