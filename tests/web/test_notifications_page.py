"""The Notifications page (issue 16): a person sees the kinds their roles receive and turns
each on or off — their own only; administrators see what GOV.UK Notify refused."""

from __future__ import annotations

import pytest

from bridge.wiring import Wiring
from tests.builders import ADMIN, MANAGER, PROXY
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


def test_an_officer_turns_off_a_kind_of_their_own_only(
    web_wiring: Wiring, visitor: Visitor
) -> None:
    visitor.sign_in(MANAGER)
    page = visitor.client.get("/notifications")
    assert page.status_code == 200
    assert 'value="entry_returned"' in page.text
    assert 'value="attention"' not in page.text  # an administrator's kind
    assert "no email address" in page.text
    saved = visitor.post(
        "/notifications", {"kinds": ["case_entered", "entry_overdue", "attention"]},
        page="/notifications",
    )  # fmt: skip
    assert saved.status_code == 303
    assert dict(web_wiring.notify().kinds_for(MANAGER)) == {
        "entry_returned": False,
        "case_entered": True,
        "entry_overdue": True,
    }
    assert "Your choices are saved" in visitor.client.get(saved.headers["location"]).text
    assert all(on for _, on in web_wiring.notify().kinds_for(PROXY))  # nobody else's


def test_administrators_see_refused_messages_and_others_cannot(
    web_wiring: Wiring, visitor: Visitor, new_visitor: type[Visitor]
) -> None:
    visitor.sign_in(ADMIN)
    page = visitor.client.get("/admin/notifications")
    assert page.status_code == 200
    assert "GOV.UK Notify has refused no messages" in page.text
    assert 'href="/admin/notifications"' in visitor.client.get("/notifications").text
    officer = new_visitor()
    officer.sign_in(MANAGER)
    assert officer.client.get("/admin/notifications").status_code == 403


def test_the_page_needs_sign_in(visitor: Visitor) -> None:
    response = visitor.client.get("/notifications", follow_redirects=False)
    assert response.status_code in (303, 401)


def test_an_administrator_gives_someone_an_address_on_the_staff_form(
    web_wiring: Wiring, visitor: Visitor
) -> None:
    visitor.sign_in(ADMIN)
    form = {
        "name": "Fatima Okafor",
        "roles": "offender_manager",
        "team": "N07HCT",
        "email": "not an address",
        "needs_proxy_since-day": "2",
        "needs_proxy_since-month": "6",
        "needs_proxy_since-year": "2025",
        "active": "yes",
    }
    bad = visitor.post("/admin/staff/N07A002", form)
    assert bad.status_code == 400
    assert 'href="#email"' in bad.text
    form["email"] = "fatima.okafor@justice.example"
    assert visitor.post("/admin/staff/N07A002", form).status_code == 303
    assert web_wiring.notify().email_of("N07A002") == "fatima.okafor@justice.example"
    assert (
        'value="fatima.okafor@justice.example"' in visitor.client.get("/admin/staff/N07A002").text
    )
