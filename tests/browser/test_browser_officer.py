"""The officer's pages in a real browser (issue 16): overdue entries show the tag and their
date, every state is explained, the Notifications page works — all axe clean, no CSP refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from bridge.clock import FixedClock
from bridge.core.lifecycle import State
from bridge.core.vocabulary import OVERDUE_LABEL, STATE_EXPLAINED
from tests.browser.conftest import Launch, OpenTab
from tests.builders import MANAGER

CRN = "G719053"


@pytest.mark.browser
def test_the_officer_sees_overdue_work_and_what_each_state_means(
    launch: Launch, open_tab: OpenTab
) -> None:
    service = launch({CRN})
    assert isinstance(service.wiring.clock, FixedClock)
    due = min(e.due_date for e in service.entries(CRN))
    service.wiring.clock.advance(timedelta(days=10).total_seconds())
    tab = open_tab(service)
    tab.sign_in(MANAGER, lands_on="/cases")
    when = f"{due.day} {due:%B %Y}"
    row = tab.page.get_by_role("row").filter(has_text=CRN)
    expect(row.locator(".govuk-tag--red")).to_have_text(OVERDUE_LABEL)
    expect(row).to_contain_text(f"the earliest due by {when}")
    tab.scan()

    tab.page.get_by_role("link", name=CRN).click()
    expect(tab.page).to_have_url(f"{service.url}/cases/{CRN}")
    expect(tab.page.locator("tbody .govuk-tag--red").first).to_have_text(OVERDUE_LABEL)
    expect(tab.page.locator("main")).to_contain_text(f"{OVERDUE_LABEL}: it was due by {when}")
    tab.page.get_by_text("What the states mean").click()
    for state in State:
        expect(tab.page.locator(".govuk-details")).to_contain_text(STATE_EXPLAINED[state])
    tab.scan()
    tab.screenshot("officer-case-overdue")

    tab.open("/notifications")
    box = tab.page.get_by_label("An entry was returned to you")
    expect(box).to_be_checked()
    box.uncheck()
    tab.press_button("Save my choices")
    expect(tab.page.locator("main")).to_contain_text("Your choices are saved")
    expect(tab.page.get_by_label("An entry was returned to you")).not_to_be_checked()
    tab.scan()
