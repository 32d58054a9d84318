"""The administrator's pages in a real Chromium: each one reachable and free of serious axe issues."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import LiveService, OpenTab
from tests.builders import ADMIN, EXPIRED_PROXY

pytestmark = pytest.mark.browser


def _captioned(page: Page, caption: str) -> Locator:
    return page.locator("table").filter(has=page.locator("caption", has_text=caption))


def test_every_admin_page_passes_axe(address_change: LiveService, open_tab: OpenTab) -> None:
    # a privilege request waiting for a second administrator (issue 18): its table is scanned too
    address_change.wiring.privilege.request_password(
        EXPIRED_PROXY, "a-long-new-passphrase", actor=ADMIN
    )
    admin = open_tab(address_change)
    page = admin.page
    admin.sign_in(ADMIN, lands_on="/workload")  # an administrator lands on Workload (#15)
    admin.open("/admin/staff")
    waiting = _captioned(page, "Waiting for a second administrator")
    expect(waiting.locator("tbody tr")).to_have_count(1)
    expect(waiting.get_by_role("button", name="Withdraw request 1")).to_be_visible()
    expect(waiting.get_by_role("button", name="Approve request 1")).to_have_count(0)
    staff = _captioned(page, "Staff")
    expect(staff.get_by_role("link", name=EXPIRED_PROXY)).to_have_attribute(
        "href", f"/admin/staff/{EXPIRED_PROXY}"
    )
    row = staff.locator("tbody tr").filter(has_text=EXPIRED_PROXY)
    expect(row.locator(".govuk-tag").filter(has_text="Expired")).to_have_count(1)
    admin.scan()

    with page.expect_navigation():
        page.get_by_role("link", name="Add a member of staff").click()
    expect(page).to_have_url(f"{address_change.url}/admin/staff/new")
    admin.scan()

    admin.open(f"/admin/staff/{EXPIRED_PROXY}")
    admin.scan()

    admin.open("/admin/staff/import")
    expect(page.get_by_label("Staff CSV file")).to_have_attribute("type", "file")
    admin.scan()

    admin.open("/admin/sync")
    expect(_captioned(page, "Sync runs")).to_be_visible()
    expect(_captioned(page, "Cases waiting to be read again")).to_have_count(1)
    admin.scan()

    admin.open("/admin/submissions")
    admin.scan()

    admin.open("/admin/config")
    expect(page.locator(".govuk-summary-list")).to_be_visible()
    assert address_change.wiring.settings.secret_key.get_secret_value() not in page.content()
    admin.scan()
