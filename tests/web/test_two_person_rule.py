"""The two-person rule (issue 18): privilege granted in the web needs a second administrator.

Before: an administrator could give themselves the proxy role and vetting (or set a proxy's
password and sign in as them) and read every record; it was only audited afterwards.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, col, select

from bridge.errors import NotPermitted
from bridge.store.models import AuditEvent, Staff
from bridge.wiring import Wiring
from tests.builders import ADMIN, PROXY_2
from tests.web.conftest import Visitor, add_second_admin


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


SELF_PROXY = {
    "name": "Kim Example",
    "roles": ["admin", "proxy"],
    "vetting_level": "NPPV2",
    "vetting_expires-day": "31",
    "vetting_expires-month": "12",
    "vetting_expires-year": "2027",
    "active": "yes",
}


def _staff(w: Wiring, code: str) -> Staff:
    with Session(w.engine) as s:
        found = s.get(Staff, code)
        assert found is not None
        return found


def _actions(w: Wiring) -> list[tuple[str, str, dict[str, object]]]:
    with Session(w.engine) as s:
        rows = s.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action).startswith("privilege."))
            .order_by(col(AuditEvent.id))
        ).all()
        return [(r.action, r.actor, dict(r.detail)) for r in rows]


@pytest.fixture
def two_admins(
    visitor: Visitor, new_visitor: type[Visitor], web_wiring: Wiring
) -> tuple[Visitor, Visitor]:
    visitor.sign_in(ADMIN)
    second = new_visitor()
    second.sign_in(add_second_admin(web_wiring))
    return visitor, second


def test_an_administrator_cannot_make_themselves_a_proxy_alone(
    two_admins: tuple[Visitor, Visitor], web_wiring: Wiring
) -> None:
    first, second = two_admins
    asked = first.post(f"/admin/staff/{ADMIN}", SELF_PROXY)  # type: ignore[arg-type]
    assert asked.headers["location"] == "/admin/staff?done=requested"
    assert _staff(web_wiring, ADMIN).roles == ["admin"]
    [waiting] = web_wiring.privilege.waiting(actor=ADMIN)
    assert (waiting.staff, waiting.grants, waiting.requested_by) == (
        ADMIN,
        ["proxy", "vetting"],
        ADMIN,
    )

    # every administrator sees it; its requester has no Approve button and is refused anyway
    mine, theirs = first.client.get("/admin/staff").text, second.client.get("/admin/staff").text
    for page in (mine, theirs):
        assert "Waiting for a second administrator" in page
    assert f"/admin/staff/requests/{waiting.id}/approve" not in mine
    assert f"/admin/staff/requests/{waiting.id}/approve" in theirs
    refused = first.post(f"/admin/staff/requests/{waiting.id}/approve", page="/admin/staff")
    assert refused.status_code == 403
    with pytest.raises(NotPermitted, match="another administrator must approve"):
        web_wiring.privilege.approve(waiting.id, actor=ADMIN)
    assert _staff(web_wiring, ADMIN).roles == ["admin"]

    approved = second.post(f"/admin/staff/requests/{waiting.id}/approve", page="/admin/staff")
    assert approved.headers["location"] == "/admin/staff?done=granted"
    person = _staff(web_wiring, ADMIN)
    assert (person.roles, person.vetting_expires) == (["admin", "proxy"], date(2027, 12, 31))
    assert web_wiring.privilege.waiting(actor=ADMIN) == []
    assert _actions(web_wiring) == [
        ("privilege.requested", ADMIN, {"staff": ADMIN, "request": waiting.id, "grants": ["proxy", "vetting"]}),
        ("privilege.approved", "ADM0002", {
            "staff": ADMIN, "request": waiting.id, "grants": ["proxy", "vetting"], "requested_by": ADMIN,
        }),
    ]  # fmt: skip


def test_nobody_approves_a_grant_of_their_own_privilege(
    two_admins: tuple[Visitor, Visitor], web_wiring: Wiring
) -> None:
    """ADMIN asks to make ADM0002 a proxy: ADM0002 may not approve their own grant either."""
    first, second = two_admins
    form = {**SELF_PROXY, "name": "Second Administrator"}
    first.post("/admin/staff/ADM0002", form)  # type: ignore[arg-type]
    [waiting] = web_wiring.privilege.waiting(actor=ADMIN)
    assert (
        second.post(f"/admin/staff/requests/{waiting.id}/approve", page="/admin/staff").status_code
        == 403
    )
    assert _staff(web_wiring, "ADM0002").roles == ["admin"]
    # declined (by anyone, here the person it was for): nothing changes, and it is gone
    declined = second.post(f"/admin/staff/requests/{waiting.id}/decline", page="/admin/staff")
    assert declined.headers["location"] == "/admin/staff?done=declined"
    assert web_wiring.privilege.waiting(actor=ADMIN) == []
    assert _staff(web_wiring, "ADM0002").roles == ["admin"]
    assert [a for a, _, _ in _actions(web_wiring)] == ["privilege.requested", "privilege.declined"]
    again = first.post(f"/admin/staff/requests/{waiting.id}/approve", page="/admin/staff")
    assert again.status_code in (403, 409)


def test_someone_elses_password_and_longer_vetting_wait_for_approval(
    two_admins: tuple[Visitor, Visitor], web_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    first, second = two_admins
    page = f"/admin/staff/{PROXY_2}"
    before = _staff(web_wiring, PROXY_2).vetting_expires
    first.post(
        f"{page}/password",
        {"password": "a-long-new-passphrase", "password_confirm": "a-long-new-passphrase"},
        page=page,
    )
    first.post(page, {
        "name": "Tomasz Nowak", "roles": "proxy", "team": "N07HCT", "vetting_level": "NPPV2",
        "vetting_expires-day": "1", "vetting_expires-month": "1", "vetting_expires-year": "2031",
        "active": "yes",
    })  # fmt: skip
    waiting = web_wiring.privilege.waiting(actor=ADMIN)
    assert [(w.kind, w.grants) for w in waiting] == [
        ("password", ["password"]),
        ("staff", ["vetting"]),
    ]
    assert _staff(web_wiring, PROXY_2).vetting_expires == before
    with pytest.raises(AssertionError):  # the old password still works, the new one not yet
        new_visitor().sign_in(PROXY_2, "a-long-new-passphrase")
    for w in waiting:
        second.post(f"/admin/staff/requests/{w.id}/approve", page="/admin/staff")
    assert _staff(web_wiring, PROXY_2).vetting_expires == date(2031, 1, 1)
    new_visitor().sign_in(PROXY_2, "a-long-new-passphrase")
    # no password or hash in any audit detail
    assert all(
        "password_hash" not in d and "a-long" not in str(d) for _, _, d in _actions(web_wiring)
    )


def test_taking_privilege_away_and_own_password_apply_at_once(
    two_admins: tuple[Visitor, Visitor], web_wiring: Wiring
) -> None:
    first, _ = two_admins
    page = f"/admin/staff/{PROXY_2}"
    done = first.post(page, {
        "name": "Tomasz Nowak", "roles": "offender_manager", "team": "N07HCT", "active": "yes",
    })  # fmt: skip
    assert done.headers["location"] == f"{page}?done=updated"
    assert _staff(web_wiring, PROXY_2).roles == ["offender_manager"]
    own = first.post(
        f"/admin/staff/{ADMIN}/password",
        {"password": "my-own-new-passphrase", "password_confirm": "my-own-new-passphrase"},
        page=f"/admin/staff/{ADMIN}",
    )
    assert own.headers["location"] == f"/admin/staff/{ADMIN}?done=password"
    assert web_wiring.privilege.waiting(actor=ADMIN) == []
