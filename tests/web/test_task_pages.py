"""Task pages: a proxy works one case as one task, a field at a time, and never loses what
they typed. Through the real app on SQLite after a real sync of the fixtures.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.store.models import AuditEvent, Entry, HeldForm
from bridge.wiring import Wiring
from tests.builders import EXPIRED_PROXY, PROXY, PROXY_2, case_doc
from tests.loopback import local
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these pages drive bridge/services/tasks.py, whose claims, holds, renewals,
    lapses, approvals, releases and reassignments run on PostgreSQL in tests/services/
    (test_tasks.py, test_held_forms.py, test_admin.py, test_review.py), within `make test`'s
    budget."""
    return sqlite_url


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


def _all_events(wiring: Wiring) -> list[AuditEvent]:
    with Session(wiring.engine) as s:
        return list(s.exec(select(AuditEvent)))


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
    versions = {f"v-{e.id}": str(e.version) for e in entries}
    no_reference = proxy.post(f"/tasks/{crn}/approve", versions, page=f"/tasks/{crn}")
    assert no_reference.status_code == 400
    assert 'href="#visor_reference"' in no_reference.text
    assert {e.status for e in _entries(synced_wiring, crn)} == {"claimed"}
    done = proxy.post(
        f"/tasks/{crn}/approve",
        {**versions, "visor_reference": "VIS-000123"},
        page=f"/tasks/{crn}",
    )
    if blocked:  # refused as a whole, each blocking field linked, the reference kept
        assert done.status_code == 409
        assert "There is a problem" in done.text
        assert f"/tasks/{crn}/sections/{blocked[0].id}" in done.text
        assert 'value="VIS-000123"' in done.text
        return
    assert done.status_code == 303  # approved and entered in one step
    assert {e.status for e in _entries(synced_wiring, crn)} == {"accepted"}
    assert {e.visor_reference for e in _entries(synced_wiring, crn)} == {"VIS-000123"}


def test_approve_now_and_enter_later(proxy: Visitor, synced_wiring: Wiring) -> None:
    crn = "B203456"
    proxy.post(f"/tasks/{crn}/claim", page="/tasks")
    versions = {f"v-{e.id}": str(e.version) for e in _entries(synced_wiring, crn)}
    approved = proxy.post(f"/tasks/{crn}/approve", {**versions, "only": "1"}, page=f"/tasks/{crn}")
    assert approved.status_code == 303
    assert {e.status for e in _entries(synced_wiring, crn)} == {"approved"}
    page = proxy.client.get(f"/tasks/{crn}")
    assert 'action="/tasks/B203456/entered"' in page.text
    entered = proxy.post(
        f"/tasks/{crn}/entered",
        {"visor_reference": "VIS-000124", "next": "1"},
        page=f"/tasks/{crn}",
    )
    assert entered.status_code == 303
    assert entered.headers["location"].startswith("/tasks/")  # the next case, claimed
    assert {e.status for e in _entries(synced_wiring, crn)} == {"accepted"}


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
    task = proxy.client.get(f"/tasks/{entry.crn}")
    assert "(was " not in task.text  # a new person's task lists no changes, activities neither
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
    task = proxy.client.get(f"/tasks/{entry.crn}")
    assert f'href="{href}?back=task"' in task.text  # "Fix before approving" links the field
    versions = {f"v-{e.id}": str(e.version) for e in _entries(synced_wiring, entry.crn)}
    refused = proxy.post(
        f"/tasks/{entry.crn}/approve", {**versions, "only": "1"}, page=f"/tasks/{entry.crn}"
    )
    assert refused.status_code == 409
    assert "Identity: fix PNC number before approving" in refused.text  # named by its label
    assert f'href="{href}?back=task"' in refused.text
    good = proxy.post(
        href,
        {"value": "2001/0123456F", "version": str(entry.version), "back": "task"},
        page=f"{href}?back=task",
    )
    assert good.status_code == 303, good.text[:2000]
    assert good.headers["location"] == f"/tasks/{entry.crn}"  # straight back to the task
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
    activity = next(
        e for e in _entries(synced_wiring, entry.crn) if e.section == "activity" and e.xml
    )
    notes = proxy.client.get(_field(entry.crn, activity.id or 0, "Notes"))
    assert '<textarea class="govuk-textarea' in notes.text
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
    assert "(ADM0001)" in home.text  # the administrators, by name and code
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


def _identity(wiring: Wiring, crn: str) -> Entry:
    return next(
        e for e in _entries(wiring, crn) if e.section == "identity" and e.status != "superseded"
    )


def test_a_section_superseded_mid_task_keeps_the_answer_beside_the_newer_record(
    proxy: Visitor, synced_wiring: Wiring, ndelius_url: str
) -> None:
    crn = "B203456"
    assert proxy.post(f"/tasks/{crn}/claim", page="/tasks").status_code == 303
    old = _identity(synced_wiring, crn)
    href = _field(crn, old.id or 0, "Forename")
    assert proxy.client.get(href).status_code == 200
    doc = case_doc(crn)
    doc["offender"]["surname"] = "Newsurname"
    local.put(f"{ndelius_url}/__admin/cases/{crn}", json=doc).raise_for_status()
    with synced_wiring.ndelius() as source:
        synced_wiring.sync_service(source).run()
    new = _identity(synced_wiring, crn)
    assert new.id != old.id
    kept = proxy.post(href, {"value": "Typedname", "version": str(old.version)}, page=href)
    assert kept.status_code == 409
    assert "nDelius sent a newer record" in kept.text
    assert 'value="Typedname"' in kept.text
    newer = _field(crn, new.id or 0, "Forename")
    assert f'action="{newer}"' in kept.text
    saved = proxy.post(newer, {"value": "Typedname", "version": str(new.version)}, page=newer)
    assert saved.status_code == 303
    assert "Typedname" in (_identity(synced_wiring, crn).xml or "")


def test_a_session_expired_mid_form_holds_the_form_for_the_same_person(
    proxy: Visitor, synced_wiring: Wiring, clock: FixedClock
) -> None:
    entry = _blocked_pnc(synced_wiring)
    proxy.post(f"/tasks/{entry.crn}/claim", page="/tasks")
    href = _field(entry.crn, entry.id or 0, "PNC")
    token = proxy.csrf(href)
    clock.advance(31 * 60)  # the session and the claim both lapse
    sent = proxy.client.post(
        href,
        data={"value": "2001/0123456F", "version": str(entry.version), "csrf_token": token},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == "/login?next=/held"
    with Session(synced_wiring.engine) as s:
        [held] = s.exec(select(HeldForm)).all()
    assert (held.staff_code, held.crn) == (PROXY, entry.crn)
    assert "csrf_token" not in held.fields
    assert not [e for e in _all_events(synced_wiring) if "2001/0123456F" in str(e.detail)]

    proxy.sign_in(PROXY)
    offered = proxy.client.get("/held")
    assert offered.status_code == 200
    assert "2001/0123456F" in offered.text
    assert f'action="{href}"' in offered.text
    assert proxy.client.get("/held", follow_redirects=False).status_code == 303  # once
    lapsed = proxy.post(
        href, {"value": "2001/0123456F", "version": str(entry.version)}, page="/tasks"
    )
    assert lapsed.status_code == 409
    assert "Your claim lapsed" in lapsed.text
    assert 'name="reclaim"' in lapsed.text
    saved = proxy.post(
        href,
        {"value": "2001/0123456F", "version": str(entry.version), "reclaim": "1"},
        page="/tasks",
    )
    assert saved.status_code == 303


def test_a_held_form_is_not_offered_to_someone_else(
    proxy: Visitor, synced_wiring: Wiring, clock: FixedClock, new_visitor: type[Visitor]
) -> None:
    entry = _blocked_pnc(synced_wiring)
    proxy.post(f"/tasks/{entry.crn}/claim", page="/tasks")
    href = _field(entry.crn, entry.id or 0, "PNC")
    token = proxy.csrf(href)
    clock.advance(31 * 60)
    proxy.client.post(href, data={"value": "x", "version": "1", "csrf_token": token})
    other = new_visitor()
    other.sign_in(PROXY_2)
    assert other.client.get("/held", follow_redirects=False).status_code == 303
    clock.advance(31 * 60)  # and it lapses
    assert synced_wiring.held_forms.take(staff=PROXY) is None


def test_a_value_visor_cannot_take_is_shown_as_sent_to_the_proxy_only(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    entry = _blocked_pnc(synced_wiring)
    assert entry.sent is not None
    sent = entry.sent["identity/PNC"]
    assert sent
    assert sent in str(case_doc(entry.crn))  # as nDelius sent it
    assert sent not in str(entry.issues)  # issues are metadata: never a value
    assert proxy.post(f"/tasks/{entry.crn}/claim", page="/tasks").status_code == 303
    section = proxy.client.get(f"/tasks/{entry.crn}/sections/{entry.id}")
    assert f"nDelius sent: <strong>{html.escape(sent)}</strong>" in section.text
    assert "Not sent to ViSOR" in section.text
    for listing in ("/tasks", f"/tasks/{entry.crn}", "/queue", "/api/queue", "/api/tasks"):
        answer = proxy.client.get(listing)
        assert answer.status_code == 200, listing
        assert sent not in answer.text, listing
