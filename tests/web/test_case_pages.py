"""The offender manager's pages: "My cases" and a case's entries — states and dates, never content."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bridge.core.lifecycle import State
from bridge.core.vocabulary import explain_kind, explain_state, kind_label
from bridge.store.models import AuditEvent, Entry
from bridge.web.present import section_title
from bridge.wiring import Wiring
from tests.builders import CASES, MANAGER, PROXY, PROXY_2, expected_sections
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


#: The in-scope, queued cases N07A001 manages in the fixtures (A104212 and M375518 are already
#: on ViSOR, so adopted with nothing queued; D415066 and J903381 are out of scope).
MINE = ["B219904", "F600218", "G719053", "K134872", "N480937"]
OTHERS = "A117839"  # managed by N07A002


def _entries(wiring: Wiring, crn: str) -> list[Entry]:
    with Session(wiring.engine) as s:
        return list(s.exec(select(Entry).where(Entry.crn == crn).order_by(col(Entry.id))))


def _clear(wiring: Wiring, crn: str) -> list[Entry]:
    """The case's entries without a blocking issue (a proxy may approve them as they are)."""
    return [e for e in _entries(wiring, crn) if not any(i["blocking"] for i in e.issues)]


def _rows(html: str, caption: str) -> list[list[str]]:
    """The table with `caption`, as rows of cell texts (tags stripped)."""
    table = html.split(f">{caption}</caption>", 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody", 1)[1]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells])
    return rows


def _long(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _personal_values(crn: str) -> set[str]:
    """Names, dates of birth and postcodes from the simulator's fixture case document."""
    doc: dict[str, Any] = json.loads((CASES / f"{crn}.json").read_text(encoding="utf-8"))
    offender = doc["offender"]
    values = {offender["firstName"], offender["surname"], offender["dateOfBirth"]}
    values |= set(offender.get("middleNames") or [])
    for alias in offender.get("offenderAliases") or []:
        values |= {alias.get("firstName"), alias.get("surname"), alias.get("dateOfBirth")}
    for address in (offender.get("contactDetails") or {}).get("addresses") or []:
        values.add(address.get("postcode"))
    values.discard(None)
    values.discard("")
    born = date.fromisoformat(offender["dateOfBirth"])
    values.add(_long(born))  # as the page would write a date
    return {str(v) for v in values}


def test_my_cases_lists_only_the_officers_cases_with_counts(
    synced_wiring: Wiring, visitor: Visitor
) -> None:
    visitor.sign_in(MANAGER)
    page = visitor.client.get("/cases")
    assert page.status_code == 200
    assert '<h1 class="govuk-heading-l">My cases</h1>' in page.text
    rows = _rows(page.text, "Cases")
    assert [r[0] for r in rows] == MINE
    for row in rows:
        # Just synced: every entry waits; none with a proxy, entered or returned.
        due = _long(min(e.due_date for e in _entries(synced_wiring, row[0])))
        assert row[1:] == [str(len(expected_sections(row[0]))), "0", due, "Not yet", "0"]
    for crn in MINE:
        assert f'href="/cases/{crn}"' in page.text
    assert OTHERS not in page.text
    with Session(synced_wiring.engine) as s:
        [listed] = s.exec(select(AuditEvent).where(AuditEvent.action == "cases.listed")).all()
    assert (listed.category, listed.actor, listed.detail) == (
        "consultation",
        MANAGER,
        {"crns": MINE},
    )


def test_counts_follow_claims_entries_and_returns(synced_wiring: Wiring, visitor: Visitor) -> None:
    crn = "B219904"
    first, second, third = (e.id for e in _clear(synced_wiring, crn)[:3])
    assert first is not None
    assert second is not None
    assert third is not None
    review = synced_wiring.review
    review.claim(first, actor=PROXY)
    review.approve(first, actor=PROXY)
    review.mark_entered(first, actor=PROXY, reference="VIS/2026/0001")
    review.claim(second, actor=PROXY)
    review.reject(second, actor=PROXY, reason="Address in nDelius has no postcode")
    review.claim(third, actor=PROXY_2)
    visitor.sign_in(MANAGER)
    [row] = [r for r in _rows(visitor.client.get("/cases").text, "Cases") if r[0] == crn]
    today = synced_wiring.clock.now().date()
    waiting = len(expected_sections(crn)) - 3
    due = min(e.due_date for e in _entries(synced_wiring, crn) if e.id not in (first, second))
    assert row == [
        crn,
        str(waiting),
        "1",
        _long(due),
        _long(today),
        "1 Latest reason: Address in nDelius has no postcode",
    ]


def test_the_case_page_shows_states_and_dates_and_no_record_content(
    synced_wiring: Wiring, visitor: Visitor
) -> None:
    crn = "G719053"  # Unicode names, aliases, several addresses
    entries = _entries(synced_wiring, crn)
    entered, returned = _clear(synced_wiring, crn)[:2]
    assert entered.id is not None
    assert returned.id is not None
    review = synced_wiring.review
    review.claim(entered.id, actor=PROXY)
    review.approve(entered.id, actor=PROXY)
    on = synced_wiring.clock.now().date().replace(day=2)
    review.mark_entered(entered.id, actor=PROXY, reference="VIS/2026/0042", on=on)
    review.claim(returned.id, actor=PROXY)
    review.reject(returned.id, actor=PROXY, reason="Risk level differs from the latest OASys")

    visitor.sign_in(MANAGER)
    page = visitor.client.get(f"/cases/{crn}")
    assert page.status_code == 200
    assert f'<h1 class="govuk-heading-l">Case {crn}</h1>' in page.text
    rows = {r[0] + "/" + r[1]: r for r in _rows(page.text, "Entries")}
    assert len(rows) == len(entries)
    created = _long(entered.created_at.date())
    assert rows[
        f"{section_title(entered.section)}/{kind_label(entered.kind)} {explain_kind(entered.kind)}"
    ][2:] == [
        "Entered in ViSOR " + explain_state(State.ACCEPTED),
        created,
        _long(entered.due_date),
        _long(on),
        "",
    ]
    assert rows[
        f"{section_title(returned.section)}/{kind_label(returned.kind)} {explain_kind(returned.kind)}"
    ][2:] == [
        "Returned to officer " + explain_state(State.REJECTED),
        created,
        _long(returned.due_date),
        "",
        "Risk level differs from the latest OASys",
    ]
    others = [
        r
        for e, r in rows.items()
        if e
        not in {
            f"{section_title(entered.section)}/{kind_label(entered.kind)} {explain_kind(entered.kind)}",
            f"{section_title(returned.section)}/{kind_label(returned.kind)} {explain_kind(returned.kind)}",
        }
    ]
    assert others
    assert all(r[2] == "Waiting " + explain_state(State.PENDING) for r in others)

    # No record content: none of the person's names, dates of birth or postcodes, no XML.
    text = page.text
    personal = _personal_values(crn)
    records = " ".join(e.xml or "" for e in entries)
    assert {"Kavanagh", "1986-03-11", "L17 3BP"} <= {v for v in personal if v in records}
    for value in personal:
        assert value not in text, value
        assert html.escape(value) not in text, value
    tags = set(re.findall(r"<([A-Za-z][\w.-]*)[\s>/]", records))
    assert len(tags) > 10
    for tag in tags - _HTML_TAGS:
        assert f"<{tag}" not in text, tag
        assert f"&lt;{tag}" not in text, tag
    assert "urn:visor-bridge" not in text
    with Session(synced_wiring.engine) as s:
        viewed = s.exec(select(AuditEvent).where(AuditEvent.action == "status.viewed")).all()
    assert [(v.actor, v.crn, v.category) for v in viewed] == [(MANAGER, crn, "consultation")]


#: HTML elements a page may use whatever the record holds (none is a ViSOR record tag).
_HTML_TAGS = {"a", "p", "span", "table", "tr", "td", "th", "strong", "div", "form", "input"}


def test_another_officers_case_is_refused_and_reveals_nothing(
    synced_wiring: Wiring, visitor: Visitor
) -> None:
    visitor.sign_in(MANAGER)
    refused = visitor.client.get(f"/cases/{OTHERS}")
    nowhere = visitor.client.get("/cases/Z999999")
    assert refused.status_code == nowhere.status_code == 403
    assert "You cannot see this page" in refused.text
    assert OTHERS not in refused.text.replace(f"/cases/{OTHERS}", "")
    # The same answer whether the case exists or not.
    assert _main(refused.text) == _main(nowhere.text)
    with Session(synced_wiring.engine) as s:
        refusals = s.exec(select(AuditEvent).where(AuditEvent.category == "consultation")).all()
    assert [e.action for e in refusals if e.actor == MANAGER].count("access.refused") == 2


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("code", [PROXY_2, "ADM0001"])
def test_staff_who_are_not_offender_managers_have_no_cases(
    synced_wiring: Wiring, visitor: Visitor, code: str
) -> None:
    visitor.sign_in(code)
    for path in ("/cases", f"/cases/{MINE[0]}"):
        response = visitor.client.get(path)
        assert response.status_code == 403, path
        assert "You cannot see this page" in response.text


def test_a_proxy_who_also_manages_cases_sees_only_their_own(
    synced_wiring: Wiring, visitor: Visitor
) -> None:
    visitor.sign_in(PROXY)  # N07P004: proxy and offender manager, manages no fixture case
    page = visitor.client.get("/cases")
    assert page.status_code == 200
    assert "No entries have been made on your behalf yet" in page.text
    assert visitor.client.get(f"/cases/{MINE[0]}").status_code == 403


def test_my_cases_needs_sign_in(visitor: Visitor) -> None:
    response = visitor.client.get("/cases", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
