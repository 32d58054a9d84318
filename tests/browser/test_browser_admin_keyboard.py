"""An administrator reassigns and releases a held task with the keyboard alone: Tab to each
control, arrow keys in the select, Enter or Space on buttons and links — no clicks, no `fill`.
A refused reassignment (nobody chosen) shows the error summary, whose link takes focus to the
select. axe scans each page the walk reaches (the CSP watch runs too).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADOPTED_CRN, LiveService, OpenTab
from tests.browser.harness import Tab, focused, tab_to
from tests.builders import ADMIN, PROXY, PROXY_2
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _press(tab: Tab, key: str) -> None:
    with tab.page.expect_navigation():
        tab.page.keyboard.press(key)
    tab.page.wait_for_load_state("load")


def test_an_administrator_reassigns_and_releases_a_task_with_the_keyboard(
    address_change: LiveService, open_tab: OpenTab
) -> None:
    address_change.wiring.tasks.claim(ADOPTED_CRN, actor=PROXY)
    admin = open_tab(address_change)
    page = admin.page
    admin.open("/login")
    tab_to(page, "Username")
    page.keyboard.type(ADMIN)
    tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    tab_to(page, "Sign in")
    _press(admin, "Enter")
    expect(page).to_have_url(f"{address_change.url}/workload")  # administrators land here (#15)

    tab_to(page, "Held tasks")
    _press(admin, "Enter")
    expect(page).to_have_url(f"{address_change.url}/admin/tasks")
    row = page.locator("#held-tasks tbody tr").filter(has_text=ADOPTED_CRN)
    expect(row).to_contain_text(PROXY)
    admin.scan()

    # Reassign with nobody chosen: refused, and the summary's link leads to the select.
    tab_to(page, f"Reassign task {ADOPTED_CRN}")
    _press(admin, "Enter")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text(f"Choose the proxy to give task {ADOPTED_CRN} to")
    expect(summary).to_be_focused()
    admin.scan()
    tab_to(page, f"Choose the proxy to give task {ADOPTED_CRN} to")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == f"to-{ADOPTED_CRN}"

    page.keyboard.press("ArrowDown")  # the first proxy who may take the case
    expect(page.locator(f"#to-{ADOPTED_CRN}")).to_have_value(PROXY_2)
    tab_to(page, f"Reassign task {ADOPTED_CRN}")
    _press(admin, "Enter")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"Task {ADOPTED_CRN} reassigned to {PROXY_2}"
    )
    [entry] = address_change.entries(ADOPTED_CRN)
    assert (entry.status, entry.claimed_by) == ("claimed", PROXY_2)
    admin.scan()

    tab_to(page, f"Release task {ADOPTED_CRN}")
    _press(admin, "Space")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"Task {ADOPTED_CRN} released"
    )
    [entry] = address_change.entries(ADOPTED_CRN)
    assert (entry.status, entry.claimed_by) == ("pending", None)
    expect(page.get_by_text("Nobody holds a task now.")).to_be_visible()
    admin.scan()
