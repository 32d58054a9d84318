"""Administrators' held tasks (release, reassign) and the attention list, through the real app
on SQLite: who may, what is audited, what a refusal shows."""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.core.attention import AttentionReason
from bridge.core.attention_words import ATTENTION_GUIDANCE, ATTENTION_LABELS
from bridge.store.models import AuditEvent, Entry, Staff
from bridge.web.routes.admin_tasks import ATTENTION_LINKS
from bridge.wiring import Wiring
from tests.builders import ADMIN, EXPIRED_PROXY, MANAGER, PROXY, PROXY_2, case_doc, sync_json
from tests.loopback import local
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these pages drive bridge/services/tasks.py, whose claims, holds, renewals,
    lapses, approvals, releases and reassignments run on PostgreSQL in tests/services/
    (test_tasks.py, test_held_forms.py, test_admin.py, test_review.py), within `make test`'s
    budget."""
    return sqlite_url


def _text(html: str) -> str:
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def _events(wiring: Wiring, action: str) -> list[AuditEvent]:
    with Session(wiring.engine) as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            )
        )


def _entries(wiring: Wiring, crn: str) -> list[Entry]:
    with Session(wiring.engine) as s:
        return list(s.exec(select(Entry).where(Entry.crn == crn).order_by(col(Entry.id))))


def _error_summary(html: str) -> list[tuple[str, str]]:
    summary = html.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return [
        (h, " ".join(t.split()))
        for h, t in re.findall(r'<a href="([^"]+)">(.*?)</a>', summary, re.S)
    ]


@pytest.fixture
def held(synced_wiring: Wiring) -> str:
    """PROXY holds the first task; its CRN."""
    task = synced_wiring.tasks.claim_next(actor=PROXY)
    assert task is not None
    return task.crn


@pytest.fixture
def admin(visitor: Visitor) -> Visitor:
    visitor.sign_in(ADMIN)
    return visitor


# -- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [PROXY, MANAGER])
def test_the_pages_and_actions_are_refused_to_others_and_audited(
    synced_wiring: Wiring, held: str, visitor: Visitor, code: str
) -> None:
    visitor.sign_in(code)
    for path in ("/admin/tasks", "/admin/attention"):
        response = visitor.client.get(path)
        assert response.status_code == 403, path
        assert "You cannot see this page" in response.text
    token = visitor.csrf("/login")
    for path, data in (
        (f"/admin/tasks/{held}/release", {}),
        (f"/admin/tasks/{held}/reassign", {"to": PROXY_2}),
        (f"/admin/tasks/{held}/reassign", {"to": ""}),
    ):
        response = visitor.client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 403, path
    refused = [
        e.detail["action"] for e in _events(synced_wiring, "access.refused") if e.actor == code
    ]
    assert refused == ["held-tasks", "attention", "case-release", "case-reassign", "held-tasks"]
    assert {e.claimed_by for e in _entries(synced_wiring, held) if e.status == "claimed"} == {PROXY}
    assert "Held tasks" not in visitor.client.get("/").text


def test_a_post_without_the_csrf_token_changes_nothing(
    synced_wiring: Wiring, held: str, admin: Visitor
) -> None:
    response = admin.client.post(f"/admin/tasks/{held}/release", data={})
    assert response.status_code == 403
    assert {e.claimed_by for e in _entries(synced_wiring, held) if e.status == "claimed"} == {PROXY}


# -- held tasks -------------------------------------------------------------------------------


def test_held_tasks_lists_crn_sections_holder_and_london_times(
    synced_wiring: Wiring, held: str, admin: Visitor
) -> None:
    page = admin.client.get("/admin/tasks")
    assert page.status_code == 200
    text = _text(page.text)
    assert held in text
    assert f"({PROXY})" in text
    # 23 November 2026 at 9:30am UTC is 9:30am GMT; a 30-minute claim lapses at 10am GMT
    assert "23 November 2026 at 9:30am GMT 23 November 2026 at 10am GMT" in text, text
    assert "UTC" not in text
    # the reassignment choices: vetted proxies who may take the case, not the holder
    select_html = page.text.split(f'id="to-{held}"', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="([^"]*)"', select_html)
    assert PROXY_2 in options
    assert PROXY not in options
    assert EXPIRED_PROXY not in options
    assert 'data-label="Held by"' in page.text  # the table stacks at 320 px
    assert "/admin/tasks" in admin.client.get("/admin/staff").text  # in the navigation


def test_release_puts_the_claims_back_and_is_audited_as_the_cli(
    synced_wiring: Wiring, held: str, admin: Visitor
) -> None:
    claimed = [e.id for e in _entries(synced_wiring, held) if e.status == "claimed"]
    response = admin.post(f"/admin/tasks/{held}/release", page="/admin/tasks")
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/tasks?done=released&crn={held}"
    after = admin.client.get(response.headers["location"]).text
    assert f"Task {held} released" in _text(after)
    assert "govuk-notification-banner--success" in after
    assert all(e.status == "pending" for e in _entries(synced_wiring, held) if e.id in claimed)
    released = [e for e in _events(synced_wiring, "entry.released") if e.actor == ADMIN]
    assert sorted(e.entry_id for e in released) == sorted(claimed)
    assert {(e.crn, e.detail.get("was")) for e in released} == {(held, PROXY)}

    again = admin.post(f"/admin/tasks/{held}/release", page="/admin/tasks")
    assert again.status_code == 409
    assert _error_summary(again.text) == [
        (f"#release-{held}", f"Case {held} has no claim to release.")
    ]
    assert again.text.count("<title>Error: ") == 1


def test_reassign_gives_the_task_to_another_proxy(
    synced_wiring: Wiring, held: str, admin: Visitor
) -> None:
    response = admin.post(
        f"/admin/tasks/{held}/reassign", {"to": PROXY_2.lower()}, page="/admin/tasks"
    )
    assert response.status_code == 303
    banner = _text(admin.client.get(response.headers["location"]).text)
    assert f"Task {held} reassigned to {PROXY_2}" in banner
    assert {e.claimed_by for e in _entries(synced_wiring, held) if e.status == "claimed"} == {
        PROXY_2
    }
    moved = [e for e in _events(synced_wiring, "entry.reassigned") if e.crn == held]
    assert moved
    assert {(e.actor, e.detail["was"], e.detail["to"]) for e in moved} == {(ADMIN, PROXY, PROXY_2)}


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("", "Choose the proxy to give task {crn} to"),
        (EXPIRED_PROXY, f"{EXPIRED_PROXY} is not a proxy with current vetting."),
        (MANAGER, f"{MANAGER} is not a proxy with current vetting."),
    ],
)
def test_a_refused_reassignment_shows_an_error_summary_and_moves_nothing(
    synced_wiring: Wiring, held: str, admin: Visitor, to: str, message: str
) -> None:
    response = admin.post(f"/admin/tasks/{held}/reassign", {"to": to}, page="/admin/tasks")
    assert response.status_code == 400
    assert _error_summary(response.text) == [(f"#to-{held}", message.format(crn=held))]
    assert 'class="govuk-error-message"' in response.text  # inline beside the select
    assert {e.claimed_by for e in _entries(synced_wiring, held) if e.status == "claimed"} == {PROXY}
    assert _events(synced_wiring, "entry.reassigned") == []


def test_a_done_banner_shows_nothing_typed_into_the_address_bar(held: str, admin: Visitor) -> None:
    for query in (
        "done=released&crn=<b>x</b>",
        "done=nope&crn=" + held,
        "done=reassigned&crn=",
        f"done=released&crn={held}",  # still held: not released
        f"done=reassigned&crn={held}&to={PROXY_2}",  # held by PROXY, not PROXY_2
        f"done=reassigned&crn={held}&to=<i>",
    ):
        assert "govuk-notification-banner" not in admin.client.get(f"/admin/tasks?{query}").text


def test_nobody_holding_anything_says_so(web_wiring: Wiring, admin: Visitor) -> None:
    assert "Nobody holds a task now." in _text(admin.client.get("/admin/tasks").text)


# -- the attention list -------------------------------------------------------------------------


def _undetermined(doc: dict[str, Any]) -> dict[str, Any]:
    """Two offender managers with no toDate and no `active` flag."""
    first = doc["offender"]["offenderManagers"][0]
    first.pop("active", None)
    second = copy.deepcopy(first)
    second["staff"]["code"] = "N02A099"
    doc["offender"]["offenderManagers"] = [first, second]
    return doc


def test_every_reason_has_words_and_one_sentence_of_what_to_do() -> None:
    for reason in AttentionReason:
        assert ATTENTION_LABELS[reason]
        sentence = ATTENTION_GUIDANCE[reason]
        assert sentence.endswith("."), reason
        assert sentence.count(". ") == 0, reason  # one sentence
        assert reason.value not in sentence
    assert set(ATTENTION_LINKS) <= set(AttentionReason)


def test_the_attention_list_says_why_and_what_to_do(
    synced_wiring: Wiring, admin: Visitor, ndelius_url: str
) -> None:
    crn = "B203456"
    local.put(f"{ndelius_url}/__admin/cases/{crn}", json=_undetermined(case_doc(crn)))
    sync_json(synced_wiring)
    # No proxy may take anything once both current proxies' vetting has gone (untakeable).
    with Session(synced_wiring.engine) as s:
        for code in (PROXY, PROXY_2):
            person = s.get(Staff, code)
            assert person is not None
            person.vetting_expires = None
            s.add(person)
        s.commit()
    rows = synced_wiring.admin.attention(actor=ADMIN)
    reasons = {r.reason for r in rows}
    assert {"officer_undetermined", "untakeable"} <= reasons

    page = admin.client.get("/admin/attention")
    assert page.status_code == 200
    text = _text(page.text)
    assert crn in text
    assert ATTENTION_LABELS[AttentionReason.OFFICER_UNDETERMINED] in text
    assert ATTENTION_GUIDANCE[AttentionReason.OFFICER_UNDETERMINED] in text
    assert ATTENTION_LABELS[AttentionReason.UNTAKEABLE] in text
    assert '<a class="govuk-link" href="/admin/staff">Go to staff and vetting' in page.text
    for reason in reasons:
        assert reason not in text  # codes are for the CLI's --json, not for people
    assert "GMT" in text
    assert "UTC" not in text


def test_an_empty_attention_list_says_so(web_wiring: Wiring, admin: Visitor) -> None:
    assert "No case needs a person to look at it." in _text(
        admin.client.get("/admin/attention").text
    )


# -- what the held-task listing says ------------------------------------------------------------


def test_an_approved_task_waiting_to_be_entered_does_not_lapse_and_can_only_be_reassigned(
    synced_wiring: Wiring, admin: Visitor
) -> None:
    task = synced_wiring.tasks.claim_next(actor=PROXY)
    assert task is not None
    versions = {e.id: e.version for e in synced_wiring.tasks.show(task.crn, actor=PROXY).entries}
    blocked = [
        e.id
        for e in synced_wiring.tasks.show(task.crn, actor=PROXY).entries
        if any(i.get("blocking") for i in e.issues)
    ]
    if blocked:
        pytest.skip("the first fixture task has a blocking issue")
    synced_wiring.tasks.approve(task.crn, actor=PROXY, versions=versions)
    [held] = [t for t in synced_wiring.held_tasks.listing(actor=ADMIN) if t.crn == task.crn]
    assert (held.holder, held.expires, held.approved) == (PROXY, None, held.entries)

    text = _text(admin.client.get("/admin/tasks").text)
    assert "Does not lapse: approved, waiting to be entered in ViSOR" in text
    assert f"Release task {task.crn}" not in text
    assert f"Reassign task {task.crn}" in text


def test_a_holder_who_may_no_longer_act_is_tagged(
    synced_wiring: Wiring, held: str, admin: Visitor
) -> None:
    with Session(synced_wiring.engine) as s:
        person = s.get(Staff, PROXY)
        assert person is not None
        person.vetting_expires = date(2026, 11, 1)  # lapsed before the fixture's today
        s.add(person)
        s.commit()
    [task] = [t for t in synced_wiring.held_tasks.listing(actor=ADMIN) if t.crn == held]
    assert task.holder_may_act is False
    assert "May no longer act" in _text(admin.client.get("/admin/tasks").text)


def test_only_proxies_who_may_work_on_the_case_are_offered(
    synced_wiring: Wiring, admin: Visitor
) -> None:
    excluded = "F600218"  # nDelius excludes N07P004 from this case
    synced_wiring.tasks.claim(excluded, actor=PROXY_2)
    [task] = [t for t in synced_wiring.held_tasks.listing(actor=ADMIN) if t.crn == excluded]
    assert [t.code for t in task.takers] == []
    text = _text(admin.client.get("/admin/tasks").text)
    assert "No other proxy may take this case." in text
    # and the service refuses it even when the form is forged
    response = admin.post(f"/admin/tasks/{excluded}/reassign", {"to": PROXY}, page="/admin/tasks")
    assert response.status_code == 400
    assert _error_summary(response.text) == [
        (f"#to-{excluded}", f"{PROXY} may not work on this case (limited access or their own).")
    ]


def test_held_since_is_when_the_current_holder_got_the_task(
    synced_wiring: Wiring, held: str, clock: FixedClock
) -> None:
    first = clock.now()
    clock.advance(600)
    synced_wiring.tasks.renew(held, actor=PROXY)  # renewing does not move "since"
    [task] = [t for t in synced_wiring.held_tasks.listing(actor=ADMIN) if t.crn == held]
    assert task.since == first
    assert task.expires == first + timedelta(minutes=40)
    clock.advance(60)
    synced_wiring.tasks.reassign(held, to=PROXY_2, admin=ADMIN)
    [task] = [t for t in synced_wiring.held_tasks.listing(actor=ADMIN) if t.crn == held]
    assert (task.holder, task.since) == (PROXY_2, first + timedelta(seconds=660))
    assert [t.code for t in task.takers] == [PROXY]
