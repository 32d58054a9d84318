"""Administrator pages: staff registry (add, edit, password, CSV import), sync runs and the
retry set, failed submissions, configuration — through the real app on both databases."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from bridge.core.failure_text import FAILED_PHRASE
from bridge.core.staff_input import StaffInput
from bridge.store.models import AuditEvent, Entry, RetryItem, Staff
from bridge.wiring import Wiring
from tests.builders import ADMIN, MANAGER, PROXY, PROXY_2, MakeWiring, only_cases, sync_json
from tests.loopback import local
from tests.web.conftest import Visitor, add_second_admin, set_passwords
from tests.web_app import create_app


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


ADMIN_PAGES = (
    "/admin/staff",
    "/admin/staff/new",
    "/admin/staff/import",
    f"/admin/staff/{MANAGER}",
    "/admin/sync",
    "/admin/submissions",
    "/admin/config",
)
GOOD_CSV = (
    "code,name,roles,team,vetting_level,vetting_expires,needs_proxy_since,needs_proxy_until,active\n"
    "N07A099,Priya Sandhu,offender_manager,N07CHT,,,2026-01-05,,yes\n"
    "N07P098,Owen Price,proxy;offender_manager,N07HCT,NPPV2,2027-12-31,,,\n"
    f"{ADMIN},Kim Ashdown,admin,,,,,,yes\n"
)


def _rows(html: str, caption: str) -> list[list[str]]:
    """The table with `caption`, as rows of cell texts (tags stripped)."""
    table = html.split(f">{caption}</caption>", 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody", 1)[1]
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", c).split())
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _staff(wiring: Wiring, code: str) -> Staff | None:
    with Session(wiring.engine) as s:
        return s.get(Staff, code)


def _audit(wiring: Wiring, action: str) -> list[AuditEvent]:
    with Session(wiring.engine) as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            )
        )


def _error_summary(html: str) -> list[tuple[str, str]]:
    """(href, text) of each link in the GOV.UK error summary."""
    assert "There is a problem" in html
    summary = html.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return [
        (h, " ".join(t.split()))
        for h, t in re.findall(r'<a href="([^"]+)">(.*?)</a>', summary, re.S)
    ]


def _banner(html: str) -> str:
    assert "govuk-notification-banner--success" in html
    body = html.split('class="govuk-notification-banner__content"', 1)[1].split("</div>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", body.split(">", 1)[1]).split())


@pytest.fixture
def admin(visitor: Visitor) -> Visitor:
    visitor.sign_in(ADMIN)
    return visitor


@pytest.fixture
def client_for(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> Iterator[Callable[..., tuple[Wiring, Visitor]]]:
    """(wiring with these settings, a visitor signed in as the administrator)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> tuple[Wiring, Visitor]:
        wiring = make_wiring(db_url, ndelius_url, **overrides)
        set_passwords(wiring)
        client = TestClient(create_app(wiring))
        clients.append(client)
        visitor = Visitor(client)
        visitor.sign_in(ADMIN)
        return wiring, visitor

    yield make
    for client in clients:
        client.close()


# -- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [PROXY, MANAGER])
def test_admin_pages_are_refused_to_everyone_else(visitor: Visitor, code: str) -> None:
    visitor.sign_in(code)
    for path in ADMIN_PAGES:
        response = visitor.client.get(path)
        assert response.status_code == 403, path
        assert "You cannot see this page" in response.text
    token = visitor.csrf("/login")
    for path in ("/admin/staff/new", "/admin/submissions/requeue-all", "/admin/sync/retry/B203456"):
        response = visitor.client.post(
            path, data={"csrf_token": token, "code": "X1234", "name": "X"}
        )
        assert response.status_code == 403, path


def test_every_admin_page_renders_for_an_administrator(admin: Visitor) -> None:
    for path in ADMIN_PAGES:
        response = admin.client.get(path)
        assert response.status_code == 200, path
        assert "<script>" not in response.text
        assert ' style="' not in response.text


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    admin: Visitor, web_wiring: Wiring
) -> None:
    data = {"code": "N07A077", "name": "Sam Ode", "roles": "offender_manager"}
    for path in ("/admin/staff/new", f"/admin/staff/{MANAGER}", f"/admin/staff/{MANAGER}/password"):
        response = admin.client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403, path
    upload = admin.client.post(
        "/admin/staff/import",
        files={"staff_csv": ("staff.csv", GOOD_CSV.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert upload.status_code == 403
    assert _staff(web_wiring, "N07A077") is None
    assert _staff(web_wiring, "N07A099") is None
    # With the token (the control): the same post adds them.
    assert admin.post("/admin/staff/new", data).status_code == 303
    assert _staff(web_wiring, "N07A077") is not None


# -- the registry ---------------------------------------------------------------------------


def test_the_registry_tags_vetting_expiring_soon_and_expired(
    admin: Visitor, web_wiring: Wiring
) -> None:
    today = web_wiring.clock.now().date()
    soon = today + timedelta(days=10)
    web_wiring.admin.edit_staff(
        PROXY_2,
        StaffInput(
            code=PROXY_2,
            name="Tomasz Nowak",
            roles=("proxy",),
            team="N07HCT",
            vetting_level="NPPV2",
            vetting_expires=soon,
        ),
        actor=ADMIN,
    )
    page = admin.client.get("/admin/staff")
    assert page.status_code == 200
    assert '<a class="govuk-link" href="/admin/staff/new">Add a member of staff</a>' in page.text
    rows = {r[0]: r for r in _rows(page.text, "Staff")}
    assert f'href="/admin/staff/{MANAGER}"' in page.text
    assert rows[PROXY_2][4] == f"NPPV2, expires {soon.day} {soon:%B %Y} Expiring soon"
    assert rows["N02P006"][4].endswith("Expired")
    assert "Expiring soon" not in rows[PROXY][4]
    assert "Expired" not in rows[PROXY][4]
    assert rows[MANAGER][5].startswith("Since ")
    assert rows[MANAGER][5].endswith("Needs a proxy")
    assert rows["N07A010"][5] == "No"


def test_adding_someone_with_problems_shows_them_and_saves_nothing(
    admin: Visitor, web_wiring: Wiring
) -> None:
    response = admin.post(
        "/admin/staff/new",
        {
            "code": "n07a!",
            "name": "",
            "roles": "proxy",
            "vetting_expires-day": "31",
            "vetting_expires-month": "2",
            "vetting_expires-year": "2027",
            "needs_proxy_until-day": "1",
            "needs_proxy_until-month": "1",
            "needs_proxy_until-year": "2026",
        },
    )
    assert response.status_code == 400
    assert "<title>Error: Add a member of staff" in response.text
    summary = _error_summary(response.text)
    assert ("#code", "Staff code must be 3 to 16 letters or numbers, like N07A001") in summary
    assert ("#name", "Enter the name") in summary
    assert ("#vetting_expires-day", "Vetting expiry date must be a real date") in summary
    assert ("#needs_proxy_since-day", "Enter the date they first needed a proxy") in summary
    assert ("#vetting_level", "Select the vetting level: a proxy must be vetted") in summary
    assert 'id="name-error"' in response.text
    assert 'id="code-error"' in response.text
    assert 'value="n07a!"' in response.text  # what was typed is kept
    with Session(web_wiring.engine) as s:
        assert len(s.exec(select(Staff)).all()) == 10
    assert _audit(web_wiring, "staff.added") == []


def _approve_all(web_wiring: Wiring, new_visitor: type[Visitor]) -> None:
    """A second administrator approves every waiting privilege request on the staff page."""
    second = new_visitor()
    second.sign_in(add_second_admin(web_wiring))
    for row in web_wiring.privilege.waiting(actor=ADMIN):
        done = second.post(f"/admin/staff/requests/{row.id}/approve", page="/admin/staff")
        assert done.status_code == 303
        assert done.headers["location"] == "/admin/staff?done=granted"


def test_adding_and_editing_someone(
    admin: Visitor, web_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    added = admin.post(
        "/admin/staff/new",
        {
            "code": "n07p077",
            "name": "Ada  Obi",
            "roles": "proxy",
            "team": "N07CHT",
            "vetting_level": "NPPV2",
            "vetting_expires-day": "31",
            "vetting_expires-month": "5",
            "vetting_expires-year": "2028",
        },
    )
    assert added.status_code == 303
    # a proxy with vetting: held for a second administrator (issue 18)
    assert added.headers["location"] == "/admin/staff?done=requested"
    page = admin.client.get(added.headers["location"])
    assert _banner(page.text).startswith("Change requested")
    assert _staff(web_wiring, "N07P077") is None
    _approve_all(web_wiring, new_visitor)
    person = _staff(web_wiring, "N07P077")
    assert person is not None
    assert (person.name, person.roles, person.vetting_expires) == (
        "Ada Obi",
        ["proxy"],
        date(2028, 5, 31),
    )
    assert [a.detail for a in _audit(web_wiring, "staff.added")] == [{"staff": "N07P077"}]
    # The same code again is refused.
    again = admin.post("/admin/staff/new", {"code": "N07P077", "name": "X", "roles": "admin"})
    assert again.status_code == 400
    assert ("#code", "There is already a member of staff with code N07P077") in _error_summary(
        again.text
    )

    # Edit N07A002: add an end to their need for a proxy; a wrong order is refused first.
    form = {
        "name": "Fatima Okafor",
        "roles": "offender_manager",
        "team": "N07HCT",
        "needs_proxy_since-day": "2",
        "needs_proxy_since-month": "6",
        "needs_proxy_since-year": "2025",
        "needs_proxy_until-day": "1",
        "needs_proxy_until-month": "6",
        "needs_proxy_until-year": "2025",
        "active": "yes",
    }
    bad = admin.post("/admin/staff/N07A002", form)
    assert bad.status_code == 400
    assert [h for h, _ in _error_summary(bad.text)] == ["#needs_proxy_until-day"]
    assert _staff(web_wiring, "N07A002").needs_proxy_until is None  # type: ignore[union-attr]
    form["needs_proxy_until-year"] = "2027"
    good = admin.post("/admin/staff/N07A002", form)
    assert good.status_code == 303
    assert _banner(admin.client.get(good.headers["location"]).text) == "Changes saved"
    edited = _staff(web_wiring, "N07A002")
    assert edited is not None
    assert (edited.needs_proxy_since, edited.needs_proxy_until) == (
        date(2025, 6, 2),
        date(2027, 6, 1),
    )
    [audit] = _audit(web_wiring, "staff.updated")
    assert audit.actor == ADMIN
    assert audit.detail["staff"] == "N07A002"
    assert "needs_proxy_until" in audit.detail["fields"]
    assert "Fatima" not in json.dumps(audit.detail)


def test_the_staff_form_never_asks_why_someone_needs_a_proxy(admin: Visitor) -> None:
    page = admin.client.get(f"/admin/staff/{MANAGER}").text.lower()
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', page))
    assert names <= {
        "csrf_token",
        "name",
        "roles",
        "team",
        "manages",
        "email",
        "vetting_level",
        "active",
        "password",
        "password_confirm",
        *(
            f"{f}-{p}"
            for f in ("vetting_expires", "needs_proxy_since", "needs_proxy_until")
            for p in ("day", "month", "year")
        ),
    }
    assert "reason" not in names
    assert "outcome" not in page


def test_making_a_proxy_inactive_releases_their_claims(
    synced_wiring: Wiring, admin: Visitor
) -> None:
    claimed = synced_wiring.review.claim_next(actor=PROXY_2)
    assert claimed is not None
    response = admin.post(
        f"/admin/staff/{PROXY_2}",
        {
            "name": "Tomasz Nowak",
            "roles": "proxy",
            "team": "N07HCT",
            "vetting_level": "NPPV2",
            "vetting_expires-day": "1",
            "vetting_expires-month": "1",
            "vetting_expires-year": "2030",
        },
    )  # no "active": the box was unticked
    assert response.status_code == 303
    assert _staff(synced_wiring, PROXY_2).active is False  # type: ignore[union-attr]
    with Session(synced_wiring.engine) as s:
        entry = s.get(Entry, claimed.id)
        assert entry is not None
        assert (entry.status, entry.claimed_by) == ("pending", None)


def test_an_administrator_cannot_lock_themselves_out(admin: Visitor, web_wiring: Wiring) -> None:
    response = admin.post(
        f"/admin/staff/{ADMIN}",
        {
            "name": "Kim Ashdown",
            "roles": "proxy",
            "vetting_level": "NPPV2",
            "vetting_expires-day": "1",
            "vetting_expires-month": "1",
            "vetting_expires-year": "2030",
            "active": "yes",
        },
    )
    assert response.status_code == 400
    assert ("#roles", "You cannot remove your own administrator role") in _error_summary(
        response.text
    )
    assert _staff(web_wiring, ADMIN).roles == ["admin"]  # type: ignore[union-attr]


def test_setting_a_password(admin: Visitor, web_wiring: Wiring, new_visitor: type[Visitor]) -> None:
    """Someone else's password: a request, set once a second administrator approves it."""
    page = f"/admin/staff/{PROXY_2}"
    mismatch = admin.post(
        f"{page}/password",
        {"password": "a-long-new-passphrase", "password_confirm": "other"},
        page=page,
    )
    assert mismatch.status_code == 400
    assert ("#password_confirm", "The passwords do not match") in _error_summary(mismatch.text)
    short = admin.post(
        f"{page}/password", {"password": "short", "password_confirm": "short"}, page=page
    )
    assert short.status_code == 400
    assert ("#password", "A password needs at least 12 characters.") in _error_summary(short.text)
    assert _audit(web_wiring, "account.password_set") == []

    ok = admin.post(
        f"{page}/password",
        {"password": "a-long-new-passphrase", "password_confirm": "a-long-new-passphrase"},
        page=page,
    )
    assert ok.status_code == 303
    assert _banner(admin.client.get(ok.headers["location"]).text).startswith("Change requested")
    assert _audit(web_wiring, "account.password_set") == []
    _approve_all(web_wiring, new_visitor)
    [audit] = _audit(web_wiring, "account.password_set")
    assert (audit.actor, audit.detail) == ("ADM0002", {"staff": PROXY_2})
    assert "a-long-new-passphrase" not in json.dumps(audit.detail)
    new_visitor().sign_in(PROXY_2, "a-long-new-passphrase")


# -- CSV import ------------------------------------------------------------------------------


def _upload(admin: Visitor, text: str, *, replace: bool = False) -> httpx.Response:
    token = admin.csrf("/admin/staff/import")
    data = {"csrf_token": token, **({"replace": "yes"} if replace else {})}
    return admin.client.post(
        "/admin/staff/import",
        data=data,
        files={"staff_csv": ("staff.csv", text.encode("utf-8"), "text/csv")},
        follow_redirects=False,
    )


def test_importing_a_good_csv(
    admin: Visitor, web_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    page = admin.client.get("/admin/staff/import")
    assert '<label class="govuk-label govuk-label--s" for="staff_csv">' in page.text
    assert "Staff CSV file" in page.text
    assert (
        "code,name,roles,team,vetting_level,vetting_expires,needs_proxy_since,needs_proxy_until,active"
        in page.text
    )
    response = _upload(admin, "\ufeff" + GOOD_CSV)
    assert response.status_code == 303, response.text[:2000]
    banner = _banner(admin.client.get(response.headers["location"]).text)
    assert banner == (
        "Staff imported: 1 added, 1 updated, 0 made inactive (0 claimed entries released);"
        " 1 waiting for approval by another administrator"
    )
    assert _staff(web_wiring, "N07P098") is None  # a proxy: held for a second administrator
    _approve_all(web_wiring, new_visitor)
    owen = _staff(web_wiring, "N07P098")
    assert owen is not None
    assert (owen.roles, owen.vetting_level, owen.vetting_expires, owen.active) == (
        ["offender_manager", "proxy"],
        "NPPV2",
        date(2027, 12, 31),
        True,
    )
    priya = _staff(web_wiring, "N07A099")
    assert priya is not None
    assert priya.needs_proxy_since == date(2026, 1, 5)
    assert _staff(web_wiring, MANAGER).active  # type: ignore[union-attr]  # not replaced
    # Again: nothing new.
    assert (
        _upload(admin, GOOD_CSV)
        .headers["location"]
        .startswith("/admin/staff?done=imported&added=0&deactivated=0&held=0")
    )


def test_importing_with_replace_makes_the_others_inactive(
    admin: Visitor, web_wiring: Wiring
) -> None:
    response = _upload(admin, GOOD_CSV, replace=True)
    assert response.status_code == 303
    assert "deactivated=9" in response.headers["location"]
    assert _staff(web_wiring, MANAGER).active is False  # type: ignore[union-attr]
    assert _staff(web_wiring, ADMIN).active is True  # type: ignore[union-attr]


def test_a_csv_with_problems_imports_nothing_and_lists_them_by_line(
    admin: Visitor, web_wiring: Wiring
) -> None:
    bad = (
        GOOD_CSV
        + "N07A098,,offender_manager,,,,,,yes\n"  # line 5: no name
        + "N07P097,Lee Dunn,proxy,,NPPV2,2027-02-30,,,maybe\n"  # line 6: bad date, bad active
        + "N07A099,Priya Again,offender_manager,,,,,,\n"  # line 7: code on line 2 too
        + "N07A096,Too,few\n"  # line 8
    )
    response = _upload(admin, bad)
    assert response.status_code == 400
    texts = [t for _, t in _error_summary(response.text)]
    assert texts == [
        "Line 5 (name): Enter the name",
        "Line 6 (active): active must be yes or no",
        "Line 6 (vetting_expires): Vetting expiry date must be a real date in the form YYYY-MM-DD",
        "Line 7 (code): staff code N07A099 is also on line 2",
        "Line 8: 3 values, expected 9",
    ]
    assert all(h == "#staff_csv" for h, _ in _error_summary(response.text))
    assert _staff(web_wiring, "N07A099") is None  # the good lines were not imported either
    assert [a.actor for a in _audit(web_wiring, "staff.imported")] == ["test"]  # the seed only
    header = _upload(admin, "code,name,role\nX,Y,Z\n")
    assert header.status_code == 400
    assert "Line 1: missing columns: roles, team" in header.text
    assert _upload(admin, "").status_code == 400
    # Replacing with a file that leaves the administrator out is refused.
    without_me = "\n".join(GOOD_CSV.splitlines()[:3]) + "\n"
    refused = _upload(admin, without_me, replace=True)
    assert refused.status_code == 400
    assert "must include you (ADM0001)" in refused.text
    assert _staff(web_wiring, MANAGER).active  # type: ignore[union-attr]


# -- sync runs and the retry set -------------------------------------------------------------


def test_retry_now_makes_a_failed_case_due_at_the_next_run(
    client_for: Callable[..., tuple[Wiring, Visitor]], ndelius_url: str
) -> None:
    wiring, admin = client_for(retry_base_seconds=3600, http_attempts=1)
    only_cases(ndelius_url, {"B203456", "B219904"})
    local.post(
        f"{ndelius_url}/__admin/faults", json={"path": "/crn/B203456/", "status": 503, "count": 50}
    ).raise_for_status()
    sync_json(wiring)
    local.delete(f"{ndelius_url}/__admin/faults").raise_for_status()

    page = admin.client.get("/admin/sync")
    [run] = _rows(page.text, "Sync runs")
    assert run[0] == "1"
    assert run[3] == "Succeeded"
    assert run[7] == "1"
    [waiting] = _rows(page.text, "Cases waiting to be read again")
    assert waiting[0] == "B203456"
    assert waiting[1] == "1"
    assert "503" in waiting[4]
    assert waiting[5] == "Retry now B203456"

    sync_json(wiring)  # not due yet (an hour away): still waiting
    with Session(wiring.engine) as s:
        assert s.get(RetryItem, "B203456") is not None
    response = admin.post("/admin/sync/retry/B203456", page="/admin/sync")
    assert response.status_code == 303
    assert _banner(admin.client.get(response.headers["location"]).text) == (
        "The case will be read again at the next sync run"
    )
    [audit] = _audit(wiring, "retry.scheduled")
    assert (audit.actor, audit.crn, audit.category) == (ADMIN, "B203456", "alteration")
    sync_json(wiring)
    with Session(wiring.engine) as s:
        assert s.get(RetryItem, "B203456") is None
        assert s.exec(select(Entry).where(Entry.crn == "B203456")).first() is not None
    assert admin.post("/admin/sync/retry/B203456", page="/admin/sync").status_code == 400


# -- failed submissions ----------------------------------------------------------------------


def test_requeueing_failed_submissions(
    client_for: Callable[..., tuple[Wiring, Visitor]], ndelius_url: str, visor_url: str
) -> None:
    wiring, admin = client_for(sink="visor-http", visor_url=visor_url)
    only_cases(ndelius_url, {"B219904"})
    sync_json(wiring)
    ids = []
    for row in wiring.queue.listing("pending"):
        if not any(issue["blocking"] for issue in row.issues):
            wiring.review.claim(row.id, actor=PROXY)
            wiring.review.approve(row.id, actor=PROXY)
            ids.append(row.id)
    assert len(ids) >= 3
    local.post(
        f"{visor_url}/__admin/faults",
        json={
            "path": "^/records$",
            "status": 422,
            "count": 3,
            "body": json.dumps({"errors": ["line 4: Element 'Surname': too long"]}),
        },
    ).raise_for_status()
    with wiring.submission() as service:
        assert service.run().failed == 3
    failed = ids[:3]

    page = admin.client.get("/admin/submissions")
    rows = _rows(page.text, "Failed submissions")
    assert [int(r[0]) for r in rows] == failed
    # an administrator who is not a current proxy sees the fixed phrase, never ViSOR's text
    assert all(r[6] == FAILED_PHRASE and r[7] == f"Requeue entry {r[0]}" for r in rows)
    assert "Surname" not in page.text
    assert "Requeue all failed" in page.text

    one = admin.post(f"/admin/submissions/{failed[0]}/requeue", page="/admin/submissions")
    assert one.status_code == 303
    assert _banner(admin.client.get(one.headers["location"]).text).startswith(
        "The entry was requeued"
    )
    with Session(wiring.engine) as s:
        assert s.get(Entry, failed[0]).status == "approved"  # type: ignore[union-attr]
        assert s.get(Entry, failed[1]).status == "failed"  # type: ignore[union-attr]
    assert (
        admin.post(f"/admin/submissions/{failed[0]}/requeue", page="/admin/submissions").status_code
        == 409
    )

    everything = admin.post("/admin/submissions/requeue-all", page="/admin/submissions")
    assert everything.status_code == 303
    with Session(wiring.engine) as s:
        assert {s.get(Entry, i).status for i in failed} == {"approved"}  # type: ignore[union-attr]
    assert [a.actor for a in _audit(wiring, "entry.requeued")] == [ADMIN] * 3
    assert "No submissions have failed" in admin.client.get("/admin/submissions").text


# -- configuration ---------------------------------------------------------------------------


def test_the_configuration_page_never_shows_a_secret(
    client_for: Callable[..., tuple[Wiring, Visitor]],
) -> None:
    from pydantic import SecretStr

    secret_key = "k3y-that-must-never-show-9f8e7d"
    client_secret = "cl1ent-secret-never-shown-4c3b"
    url_password = "url-passw0rd-hidden"
    wiring, admin = client_for(
        secret_key=SecretStr(secret_key),
        ndelius_client_secret=SecretStr(client_secret),
        visor_url=f"http://bridge:{url_password}@127.0.0.1:8082",
    )
    page = admin.client.get("/admin/config")
    assert page.status_code == 200
    for secret in (secret_key, client_secret, url_password):
        assert secret not in page.text
    keys = re.findall(r'<dt class="govuk-summary-list__key">\s*(.*?)\s*</dt>', page.text, re.S)
    values = re.findall(r'<dd class="govuk-summary-list__value">\s*(.*?)\s*</dd>', page.text, re.S)
    shown = dict(zip(keys, values, strict=True))
    assert shown["BRIDGE_SECRET_KEY"] == "Set"
    assert shown["BRIDGE_NDELIUS_CLIENT_SECRET"] == "Set"
    assert shown["BRIDGE_VISOR_URL"] == "http://bridge:***@127.0.0.1:8082"
    assert shown["BRIDGE_SINK"] == "manual"
    assert shown["BRIDGE_CLAIM_MINUTES"] == str(wiring.settings.claim_minutes)
