"""The proxy's pages through the real app on SQLite and PostgreSQL: the queue and one entry."""

from __future__ import annotations

import hashlib
import re
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bridge.clock import FixedClock
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, CaseState, Entry
from bridge.wiring import Wiring
from tests.builders import MakeWiring
from tests.web.conftest import Visitor, set_passwords
from tests.web_app import create_app


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


PROXY = "N07P005"  # vetted, manages no cases
_ROW = re.compile(r'<a class="govuk-link" href="/entries/(\d+)">([A-Z]\d{6})</a>')


def _button(html: str, text: str) -> bool:
    return re.search(rf">\s*{re.escape(text)}\s*</button>", html) is not None


def _rows(html: str) -> list[tuple[int, str]]:
    return [(int(i), crn) for i, crn in _ROW.findall(html)]


def _entry(wiring: Wiring, entry_id: int) -> Entry:
    with Session(wiring.engine) as s:
        entry = s.get(Entry, entry_id)
        assert entry is not None
        return entry


def _first(wiring: Wiring, **where: Any) -> Entry:
    with Session(wiring.engine) as s:
        stmt = select(Entry).order_by(col(Entry.id))
        for key, value in where.items():
            stmt = stmt.where(getattr(Entry, key) == value)
        entry = s.exec(stmt).first()
        assert entry is not None
        return entry


def _waiting(wiring: Wiring, **where: Any) -> int:
    with Session(wiring.engine) as s:
        stmt = select(func.count()).select_from(Entry).where(col(Entry.status) == "pending")
        for key, value in where.items():
            stmt = stmt.where(getattr(Entry, key) == value)
        return int(s.exec(stmt).one())


def _actions(wiring: Wiring, entry_id: int) -> list[str]:
    with Session(wiring.engine) as s:
        rows = s.exec(
            select(AuditEvent.action)
            .where(AuditEvent.entry_id == entry_id)
            .order_by(col(AuditEvent.id))
        )
        return list(rows)


@pytest.fixture
def proxy(synced_wiring: Wiring, visitor: Visitor) -> Visitor:
    visitor.sign_in(PROXY)
    return visitor


def _claimed(proxy: Visitor, wiring: Wiring, entry_id: int) -> None:
    response = proxy.post(f"/entries/{entry_id}/claim", page=f"/entries/{entry_id}")
    assert response.status_code == 303
    assert _entry(wiring, entry_id).claimed_by == PROXY


# -- the queue ------------------------------------------------------------------------------


def test_the_queue_lists_waiting_entries_a_page_at_a_time(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    total = _waiting(synced_wiring)
    assert total > 50
    page = proxy.client.get("/queue")
    assert page.status_code == 200
    assert '<h1 class="govuk-heading-l">Queue</h1>' in page.text
    assert "Entries</caption>" in page.text
    for header in ("CRN", "Section", "Kind", "Owning force", "Due", "State"):
        assert f'<th scope="col" class="govuk-table__header">{header}</th>' in page.text
    first = _rows(page.text)
    assert len(first) == 25
    assert f"of {total} entries" in page.text
    # Earliest due first, then by id; each link names its entry's CRN.
    entry = _entry(synced_wiring, first[0][0])
    assert entry.crn == first[0][1]
    assert [i for i, _ in first] == sorted(i for i, _ in first)
    second = _rows(proxy.client.get("/queue?page=2").text)
    assert len(second) == 25
    assert not {i for i, _ in first} & {i for i, _ in second}
    last_page = -(-total // 25)
    last = proxy.client.get(f"/queue?page={last_page}")
    assert len(_rows(last.text)) == total - 25 * (last_page - 1)
    assert 'class="govuk-pagination' in last.text
    assert f'href="/queue?page={last_page - 1}"' in last.text


def test_the_filters_narrow_the_queue(proxy: Visitor, synced_wiring: Wiring) -> None:
    for query, where in (
        ("force=NORTHUMBRIA", {"owning_force": "NORTHUMBRIA"}),
        ("kind=activity", {"kind": "activity"}),
        ("crn=a117839", {"crn": "A117839"}),
    ):
        page = proxy.client.get(f"/queue?{query}&page=1")
        assert page.status_code == 200, query
        expected = _waiting(synced_wiring, **where)
        assert expected > 0
        assert (f"of {expected} entries" in page.text) or (expected <= 25), query
        with Session(synced_wiring.engine) as s:
            for entry_id, _ in _rows(page.text):
                entry = s.get(Entry, entry_id)
                assert entry is not None
                assert all(getattr(entry, k) == v for k, v in where.items()), query
        assert len(_rows(page.text)) == min(expected, 25), query
    # The filters keep their values in the form and in the pagination links.
    page = proxy.client.get("/queue?force=METROPOLITAN")
    assert '<option value="METROPOLITAN" selected>' in page.text
    assert 'href="/queue?force=METROPOLITAN&amp;page=2"' in page.text
    # Nothing is claimed yet; then exactly the claimed one.
    assert _rows(proxy.client.get("/queue?state=claimed").text) == []
    entry = _first(synced_wiring)
    _claimed(proxy, synced_wiring, entry.id or 0)
    assert _rows(proxy.client.get("/queue?state=claimed").text) == [(entry.id, entry.crn)]
    # Not overdue until the due date has passed.
    assert _rows(proxy.client.get("/queue?due=overdue").text) == []
    assert "Overdue</strong>" not in proxy.client.get("/queue").text
    assert len(_rows(proxy.client.get("/queue?due=week").text)) == 25
    # A filter value that is not one of the choices is refused, not ignored.
    assert proxy.client.get("/queue?due=someday").status_code == 400


def test_overdue_entries_are_tagged_and_filtered(synced_wiring: Wiring, visitor: Visitor) -> None:
    clock = cast(FixedClock, synced_wiring.clock)
    clock.advance(10 * 86_400)  # past every fixture entry's due date
    visitor.sign_in(PROXY)
    page = visitor.client.get("/queue?due=overdue")
    assert len(_rows(page.text)) == 25
    assert page.text.count('<strong class="govuk-tag govuk-tag--red">') >= 25
    assert "Overdue" in page.text


def test_a_case_the_proxy_is_excluded_from_is_not_in_the_queue(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    entry = _first(synced_wiring, crn="A117839")
    before = _waiting(synced_wiring)
    assert _rows(proxy.client.get("/queue?crn=A117839").text)
    with session_scope(synced_wiring.engine) as s:
        s.exec(
            update(CaseState)  # type: ignore[call-overload]
            .where(col(CaseState.crn) == "A117839")
            .values(excluded_from=[PROXY])
        )
    assert _rows(proxy.client.get("/queue?crn=A117839").text) == []
    hidden = _waiting(synced_wiring, crn="A117839")
    assert f"of {before - hidden} entries" in proxy.client.get("/queue").text
    refused = proxy.client.get(f"/entries/{entry.id}")
    assert refused.status_code == 403
    assert "A117839" not in refused.text
    claim = proxy.post(f"/entries/{entry.id}/claim", page="/queue")
    assert claim.status_code == 403
    assert _entry(synced_wiring, entry.id or 0).status == "pending"


def test_a_proxy_does_not_see_cases_they_manage_themselves(
    synced_wiring: Wiring, visitor: Visitor
) -> None:
    """N07P004 is a proxy and an offender manager: their own cases are someone else's work."""
    with session_scope(synced_wiring.engine) as s:
        s.exec(
            update(CaseState)  # type: ignore[call-overload]
            .where(col(CaseState.crn) == "A117839")
            .values(on_behalf_of="N07P004")
        )
    visitor.sign_in("N07P004")
    assert _rows(visitor.client.get("/queue?crn=A117839").text) == []
    assert visitor.client.get("/queue").status_code == 200


@pytest.mark.parametrize("code", ["N07A010", "N02P006"])
def test_people_who_may_not_act_as_proxy_are_refused(
    code: str, synced_wiring: Wiring, visitor: Visitor
) -> None:
    """An offender manager (no proxy role) and a proxy whose vetting has expired."""
    entry = _first(synced_wiring)
    visitor.sign_in(code)
    for path in ("/queue", f"/entries/{entry.id}"):
        response = visitor.client.get(path)
        assert response.status_code == 403, path
        assert "You cannot see this page" in response.text
        assert entry.crn not in response.text


def test_claim_next_takes_the_earliest_entry_and_opens_it(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    earliest = _rows(proxy.client.get("/queue").text)[0][0]
    response = proxy.post("/queue/claim-next", page="/queue")
    assert response.status_code == 303
    assert response.headers["location"] == f"/entries/{earliest}"  # the UI contract's address
    assert _entry(synced_wiring, earliest).claimed_by == PROXY
    page = proxy.client.get(response.headers["location"])
    assert "govuk-notification-banner--success" in page.text
    assert "Entry claimed" in page.text
    # The notification is shown once, not on every later view.
    assert "Entry claimed" not in proxy.client.get(response.headers["location"]).text
    # Nothing left to take: back to the queue, saying so.
    with session_scope(synced_wiring.engine) as s:
        s.exec(update(Entry).values(status="approved"))  # type: ignore[call-overload]
    response = proxy.post("/queue/claim-next", page="/queue")
    assert response.headers["location"] == "/queue"
    assert (
        "There is nothing in the queue you can take"
        in proxy.client.get(response.headers["location"]).text
    )


def test_a_post_without_the_csrf_token_is_refused(proxy: Visitor, synced_wiring: Wiring) -> None:
    entry = _first(synced_wiring)
    for path in ("/queue/claim-next", f"/entries/{entry.id}/claim"):
        response = proxy.client.post(path, follow_redirects=False)
        assert response.status_code == 403, path
    assert _entry(synced_wiring, entry.id or 0).status == "pending"


def test_content_pages_are_not_cached(proxy: Visitor, synced_wiring: Wiring) -> None:
    entry = _first(synced_wiring)
    for path in ("/queue", f"/entries/{entry.id}"):
        response = proxy.client.get(path)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store", path


# -- one entry ---------------------------------------------------------------------------------


def test_the_entry_page_shows_the_record_and_records_each_view(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    entry = _first(synced_wiring, section="identity")
    assert entry.diff  # a new nominal: every field differs from (no) baseline
    page = proxy.client.get(f"/entries/{entry.id}")
    assert page.status_code == 200
    assert f"Entry {entry.id}</h1>" in page.text
    assert re.search(
        r'id="entry-state">State: <strong class="govuk-tag[^"]*">\s*Waiting', page.text
    )
    assert 'id="record">Identity</h2>' in page.text
    assert "govuk-summary-list__value app-changed" in page.text
    changed = re.findall(
        r"<strong class=\"govuk-tag govuk-tag--yellow\">\s*Changed\s*</strong>", page.text
    )
    assert len(changed) == len(entry.diff)
    assert 'id="field-Surname"' in page.text  # the summary row is the error links' target
    assert _button(page.text, "Claim")
    assert "Save changes" not in page.text  # not claimed: nothing to edit
    assert 'class="moj-timeline"' in page.text
    proxy.client.get(f"/entries/{entry.id}")
    assert _actions(synced_wiring, entry.id or 0).count("entry.viewed") == 2


def test_blocking_issues_link_to_their_fields(proxy: Visitor, synced_wiring: Wiring) -> None:
    with Session(synced_wiring.engine) as s:
        entry = next(
            e
            for e in s.exec(select(Entry).order_by(col(Entry.id)))
            if any(i["blocking"] and i["path"] == "identity/PNC" for i in e.issues)
        )
    page = proxy.client.get(f"/entries/{entry.id}")
    assert "There is a problem" in page.text
    assert '<a href="#field-PNC">' in page.text
    assert 'id="field-PNC"' in page.text
    _claimed(proxy, synced_wiring, entry.id or 0)
    page = proxy.client.get(f"/entries/{entry.id}")
    assert '<a href="#field-PNC">' in page.text
    assert re.search(r'<input class="govuk-input[^"]*" id="field-PNC" name="PNC"', page.text)
    # Approval waits until the issue is resolved.
    refused = proxy.post(
        f"/entries/{entry.id}/approve", {"version": str(entry.version)}, page=f"/entries/{entry.id}"
    )
    assert refused.status_code == 409
    assert _entry(synced_wiring, entry.id or 0).status == "claimed"


def test_an_invalid_edit_is_shown_with_its_errors_and_not_saved(
    proxy: Visitor, synced_wiring: Wiring
) -> None:
    entry = _first(synced_wiring, section="addresses")
    _claimed(proxy, synced_wiring, entry.id or 0)
    response = proxy.post(
        f"/entries/{entry.id}/edit",
        {"version": "1", "Address[2]/Postcode": "NOT A POSTCODE", "Address[1]/Town": "Leeds"},
        page=f"/entries/{entry.id}",
    )
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert '<a href="#field-Address-2-Postcode">' in response.text
    assert re.search(
        r'id="field-Address-2-Postcode-error" class="govuk-error-message">', response.text
    )
    assert 'value="NOT A POSTCODE"' in response.text  # what was typed stays in the form
    after = _entry(synced_wiring, entry.id or 0)
    assert after.version == 1
    assert after.xml == entry.xml
    assert "entry.edited" not in _actions(synced_wiring, entry.id or 0)


def test_a_valid_edit_saves_a_new_version(proxy: Visitor, synced_wiring: Wiring) -> None:
    entry = _first(synced_wiring, section="identity")
    _claimed(proxy, synced_wiring, entry.id or 0)
    page = proxy.client.get(f"/entries/{entry.id}")
    assert re.search(
        r'id="field-Forename" name="Forename" type="text"[^>]* value="Kyle"', page.text
    )
    response = proxy.post(
        f"/entries/{entry.id}/edit",
        {"version": "1", "Forename": "Kylie", "Surname": "Brennan"},  # Surname unchanged
        page=f"/entries/{entry.id}",
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/entries/{entry.id}"
    after = _entry(synced_wiring, entry.id or 0)
    assert after.version == 2
    assert after.xml is not None
    assert "<Forename>Kylie</Forename>" in after.xml
    page = proxy.client.get(response.headers["location"])
    assert "Changes saved" in page.text
    assert "Fields: Forename" in page.text  # only the changed field is edited and audited
    # A stale version is a conflict, and nothing more is saved.
    stale = proxy.post(
        f"/entries/{entry.id}/edit",
        {"version": "1", "Forename": "Kai"},
        page=f"/entries/{entry.id}",
    )
    assert stale.status_code == 409
    assert _entry(synced_wiring, entry.id or 0).version == 2


def test_approve_then_mark_as_entered_in_visor(proxy: Visitor, synced_wiring: Wiring) -> None:
    entry = _first(synced_wiring, section="managing-officer")
    assert not any(i["blocking"] for i in entry.issues)
    _claimed(proxy, synced_wiring, entry.id or 0)
    response = proxy.post(
        f"/entries/{entry.id}/approve", {"version": "1"}, page=f"/entries/{entry.id}"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/entries/{entry.id}"
    assert _entry(synced_wiring, entry.id or 0).status == "approved"
    page = proxy.client.get(response.headers["location"])
    assert "Entry approved" in page.text
    assert "Mark as entered in ViSOR" in page.text
    assert 'id="visor_reference"' in page.text
    missing = proxy.post(
        f"/entries/{entry.id}/entered", {"visor_reference": ""}, page=f"/entries/{entry.id}"
    )
    assert missing.status_code == 400
    assert '<a href="#visor_reference">' in missing.text
    assert 'id="visor_reference-error"' in missing.text
    assert _entry(synced_wiring, entry.id or 0).status == "approved"
    done = proxy.post(
        f"/entries/{entry.id}/entered",
        {"visor_reference": "vis/2026/0001"},
        page=f"/entries/{entry.id}",
    )
    assert done.headers["location"] == f"/entries/{entry.id}"
    after = _entry(synced_wiring, entry.id or 0)
    assert (after.status, after.visor_reference) == ("accepted", "VIS/2026/0001")
    page = proxy.client.get(done.headers["location"])
    assert "Marked as entered in ViSOR" in page.text
    assert re.search(
        r'id="entry-state">State: <strong class="govuk-tag[^"]*">\s*Entered', page.text
    )
    titles = re.findall(r'<h3 class="moj-timeline__title">([^<]+)</h3>', page.text)
    assert {"Claimed", "Approved", "Marked as entered in ViSOR", "Viewed", "Queued"} <= set(titles)
    assert titles[0] == "Viewed"  # newest first


def test_reject_needs_a_reason(proxy: Visitor, synced_wiring: Wiring) -> None:
    entry = _first(synced_wiring, section="risk")
    _claimed(proxy, synced_wiring, entry.id or 0)
    missing = proxy.post(
        f"/entries/{entry.id}/reject", {"reason": " "}, page=f"/entries/{entry.id}"
    )
    assert missing.status_code == 400
    assert '<a href="#reason">' in missing.text
    assert 'id="reason-error"' in missing.text
    assert _entry(synced_wiring, entry.id or 0).status == "claimed"
    response = proxy.post(
        f"/entries/{entry.id}/reject",
        {"reason": "Duplicate of a record already on ViSOR"},
        page=f"/entries/{entry.id}",
    )
    assert response.headers["location"] == "/queue"
    after = _entry(synced_wiring, entry.id or 0)
    assert (after.status, after.reason) == ("rejected", "Duplicate of a record already on ViSOR")
    assert "Entry rejected" in proxy.client.get(response.headers["location"]).text


def test_release_puts_the_entry_back(proxy: Visitor, synced_wiring: Wiring) -> None:
    entry = _first(synced_wiring, section="mappa")
    _claimed(proxy, synced_wiring, entry.id or 0)
    page = proxy.client.get(f"/entries/{entry.id}")
    assert _button(page.text, "Release")
    response = proxy.post(f"/entries/{entry.id}/release", page=f"/entries/{entry.id}")
    assert response.headers["location"] == "/queue"
    after = _entry(synced_wiring, entry.id or 0)
    assert (after.status, after.claimed_by) == ("pending", None)
    assert "Entry released" in proxy.client.get(response.headers["location"]).text
    titles = re.findall(
        r'<h3 class="moj-timeline__title">([^<]+)</h3>',
        proxy.client.get(f"/entries/{entry.id}").text,
    )
    assert "Released" in titles


def test_a_removal_has_no_edit_form(proxy: Visitor, synced_wiring: Wiring) -> None:
    entry = _first(synced_wiring, section="mappa")
    with session_scope(synced_wiring.engine) as s:
        s.exec(
            update(Entry)  # type: ignore[call-overload]
            .where(col(Entry.id) == entry.id)
            .values(kind="mappa-ended")
        )
    _claimed(proxy, synced_wiring, entry.id or 0)
    page = proxy.client.get(f"/entries/{entry.id}")
    assert _button(page.text, "Approve")
    assert "Save changes" not in page.text
    assert "/edit" not in page.text


def test_views_ask_why_when_configured(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    wiring = make_wiring(db_url, ndelius_url, view_purpose_required=True)
    set_passwords(wiring)
    with wiring.ndelius() as source:
        wiring.sync_service(source).run(full=True)
    entry = _first(wiring, section="identity")
    with TestClient(create_app(wiring)) as client:
        visitor = Visitor(client)
        visitor.sign_in(PROXY)
        ask = client.get(f"/entries/{entry.id}")
        assert ask.status_code == 200
        assert "Why are you viewing this entry?" in ask.text
        assert entry.crn not in ask.text
        assert "entry.viewed" not in _actions(wiring, entry.id or 0)
        empty = visitor.post(
            f"/entries/{entry.id}/view", {"purpose": ""}, page=f"/entries/{entry.id}"
        )
        assert empty.status_code == 400
        assert '<a href="#purpose">' in empty.text
        assert 'value="quality-check"' in ask.text  # chosen from fixed purposes
        shown = visitor.post(
            f"/entries/{entry.id}/view", {"purpose": "review"}, page=f"/entries/{entry.id}"
        )
        assert shown.status_code == 200
        assert f"Entry {entry.id}</h1>" in shown.text
        typed = visitor.post(  # free text (a hand-made form) is recorded as a hash, never as text
            f"/entries/{entry.id}/view",
            {"purpose": "Checking before entry"},
            page=f"/entries/{entry.id}",
        )
        assert typed.status_code == 200
    with Session(wiring.engine) as s:
        viewed = s.exec(
            select(AuditEvent).where(
                AuditEvent.entry_id == entry.id, AuditEvent.action == "entry.viewed"
            )
        ).all()
    # free text is recorded as a hash of it, never the text (it could carry content)
    digest = hashlib.sha256(b"Checking before entry").hexdigest()[:16]
    assert [v.detail.get("purpose") for v in viewed] == ["review", f"other:{digest}"]
