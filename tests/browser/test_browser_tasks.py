"""Task pages in a real Chromium: a proxy works by person, and never loses what they typed.

Each test starts the app over a store synced from the simulator with one or two cases, on the
fixed test clock (advanced to let a claim or a session lapse). Every page on the way is scanned
with axe-core and watched for CSP refusals.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from bridge.clock import FixedClock
from tests.browser.conftest import (
    ADOPTED_CRN,
    NEW_POSTCODE,
    OLD_POSTCODE,
    Launch,
    OpenTab,
    move_main_address,
)
from tests.browser.harness import Tab, tab_to
from tests.builders import EXPIRED_PROXY, PROXY, case_doc, sync_json
from tests.loopback import local
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser

NEW_PERSON = "B203456"  # a new person, no blocking issue
BAD_PNC = "B219904"  # a new person whose PNC nDelius sent is not valid
GOOD_PNC = "2001/0123456F"
REFERENCE = "VIS/2026/00077"


def _h1(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def _banner(page: Page) -> Locator:
    return page.locator(".govuk-notification-banner")


def _claim_next(proxy: Tab, crn: str) -> None:
    proxy.sign_in(PROXY, lands_on="/tasks")
    proxy.scan()
    proxy.screenshot("tasks")
    proxy.press_button("Claim next case")
    assert proxy.path == f"/tasks/{crn}"
    expect(_banner(proxy.page)).to_contain_text("You have claimed this case")


def _approve_and_enter(proxy: Tab) -> None:
    proxy.page.get_by_label("ViSOR reference").fill(REFERENCE)
    proxy.scan()
    proxy.press_button("Save")
    expect(_banner(proxy.page)).to_contain_text("Recorded as entered in ViSOR")


def _change(proxy: Tab, section: str, field: str) -> None:
    """From the task page: open a section, then a field's question page."""
    proxy.page.get_by_role("link", name=section, exact=True).click()
    proxy.page.get_by_role("link", name=f"Change {field}").click()
    expect(_h1(proxy.page)).to_contain_text(field)


def test_a_new_person_end_to_end_as_one_task(launch: Launch, open_tab: OpenTab) -> None:
    service = launch({NEW_PERSON})
    proxy = open_tab(service)
    _claim_next(proxy, NEW_PERSON)
    expect(proxy.page.locator(".govuk-task-list__item")).to_have_count(
        len(service.entries(NEW_PERSON))
    )
    proxy.scan()
    proxy.screenshot("task")
    proxy.page.get_by_role("link", name="Addresses", exact=True).click()
    main = proxy.main_text()
    assert "Was:" not in main  # a new record tags nothing
    assert "No fixed abode" in main
    assert "false" not in main  # booleans read as words
    proxy.scan()
    proxy.screenshot("task-section")
    proxy.page.get_by_role("link", name="Back to the case").first.click()
    _approve_and_enter(proxy)
    assert {(e.status, e.visor_reference) for e in service.entries(NEW_PERSON)} == {
        ("accepted", REFERENCE)
    }


def test_an_update_tags_what_changed(launch: Launch, open_tab: OpenTab) -> None:
    service = launch({ADOPTED_CRN}, then=move_main_address)
    proxy = open_tab(service)
    _claim_next(proxy, ADOPTED_CRN)
    proxy.page.get_by_role("link", name="Addresses", exact=True).click()
    changed = proxy.page.locator(".app-was")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text(f"Was: {OLD_POSTCODE}")
    expect(proxy.page.locator("main")).to_contain_text(NEW_POSTCODE)
    proxy.scan()
    proxy.page.get_by_role("link", name="Back to the case").first.click()
    _approve_and_enter(proxy)


def test_a_blocking_issue_fixed_through_a_question_page(launch: Launch, open_tab: OpenTab) -> None:
    service = launch({BAD_PNC})
    proxy = open_tab(service)
    _claim_next(proxy, BAD_PNC)
    proxy.press_button("Approve all")
    summary = proxy.page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    proxy.scan()
    summary.get_by_role("link").first.click()
    expect(_h1(proxy.page)).to_contain_text("PNC number")
    expect(proxy.page.locator(".govuk-hint")).to_contain_text("Police National Computer")
    proxy.page.get_by_label("PNC number").fill("2001/123")
    proxy.press_button("Save and continue")
    expect(proxy.page.locator(".govuk-error-summary")).to_be_visible()
    expect(proxy.page.get_by_label("PNC number")).to_have_value("2001/123")
    proxy.scan()
    proxy.screenshot("question")
    proxy.page.get_by_label("PNC number").fill(GOOD_PNC)
    proxy.press_button("Save and continue")
    expect(_banner(proxy.page)).to_contain_text("Answer saved")
    assert proxy.path == f"/tasks/{BAD_PNC}"  # straight back to the task
    expect(proxy.page.locator("#fixes")).to_have_count(0)
    _approve_and_enter(proxy)


def test_a_stale_tab_keeps_the_answer(launch: Launch, open_tab: OpenTab) -> None:
    service = launch({NEW_PERSON})
    proxy = open_tab(service)
    _claim_next(proxy, NEW_PERSON)
    _change(proxy, "Identity", "CRO number")
    other = Tab(proxy.page.context.new_page(), service.url)  # a second tab, same session
    other.open(proxy.path.replace("/CRO", "/NOMS"))
    other.page.get_by_label("NOMS number").fill("A1234BC")
    other.press_button("Save and continue")
    proxy.page.get_by_label("CRO number").fill("123456/01A")
    proxy.press_button("Save and continue")
    expect(proxy.page.locator("#notice")).to_contain_text("changed since you opened it")
    expect(proxy.page.get_by_label("CRO number")).to_have_value("123456/01A")
    proxy.scan()
    proxy.press_button("Save and continue")
    expect(_banner(proxy.page)).to_contain_text("Answer saved")


def test_a_session_expired_mid_form_keeps_the_form(
    launch: Launch, open_tab: OpenTab, clock: FixedClock
) -> None:
    service = launch({NEW_PERSON})
    proxy = open_tab(service)
    _claim_next(proxy, NEW_PERSON)
    _change(proxy, "Identity", "CRO number")
    clock.advance(31 * 60)  # the session (and the claim) lapse while the proxy types
    proxy.page.get_by_label("CRO number").fill("123456/01A")
    proxy.press_button("Save and continue")
    assert proxy.path == "/login?next=/held"
    proxy.page.get_by_label("Username").fill(PROXY)
    proxy.page.get_by_label("Password", exact=True).fill(PASSWORD)
    proxy.press_button("Sign in")
    expect(_h1(proxy.page)).to_have_text("You were signed out before this was saved")
    expect(proxy.page.locator("main")).to_contain_text("123456/01A")
    proxy.scan()
    proxy.press_button("Send it now")
    expect(proxy.page.locator("#notice")).to_contain_text("Your claim lapsed")
    proxy.press_button("Claim again and save")
    expect(_banner(proxy.page)).to_contain_text("Answer saved")


def test_a_lapsed_claim_is_claimed_again(
    launch: Launch, open_tab: OpenTab, clock: FixedClock
) -> None:
    service = launch({NEW_PERSON})
    proxy = open_tab(service)
    _claim_next(proxy, NEW_PERSON)
    clock.advance(20 * 60)
    proxy.open("/tasks")  # the session stays alive; the listing renews no claim
    clock.advance(11 * 60)
    proxy.open(f"/tasks/{NEW_PERSON}")
    expect(proxy.page.locator("#claim-lapsed")).to_contain_text("Your claim lapsed")
    proxy.scan()
    proxy.press_button("Claim again")
    expect(_banner(proxy.page)).to_contain_text("You have claimed this case")
    assert {e.claimed_by for e in service.entries(NEW_PERSON)} == {PROXY}


def test_a_section_superseded_mid_task(launch: Launch, open_tab: OpenTab) -> None:
    service = launch({NEW_PERSON})
    proxy = open_tab(service)
    _claim_next(proxy, NEW_PERSON)
    _change(proxy, "Identity", "Forename")
    doc = case_doc(NEW_PERSON)
    doc["offender"]["surname"] = "Newsurname"
    ndelius = service.wiring.settings.ndelius_url
    local.put(f"{ndelius}/__admin/cases/{NEW_PERSON}", json=doc).raise_for_status()
    sync_json(service.wiring)
    proxy.page.get_by_label("Forename").fill("Typedname")
    proxy.press_button("Save and continue")
    expect(proxy.page.locator("#notice")).to_contain_text("nDelius sent a newer record")
    expect(proxy.page.get_by_label("Forename")).to_have_value("Typedname")
    proxy.scan()
    proxy.press_button("Save and continue")
    expect(_banner(proxy.page)).to_contain_text("Answer saved")
    identity = [e for e in service.entries(NEW_PERSON) if e.section == "identity"]
    assert "Typedname" in (identity[-1].xml or "")


def test_an_expired_proxy_is_told_why(launch: Launch, open_tab: OpenTab) -> None:
    service = launch({NEW_PERSON})
    proxy = open_tab(service)
    proxy.sign_in(EXPIRED_PROXY, lands_on="/tasks")
    expect(_h1(proxy.page)).to_have_text("Your vetting has lapsed")
    expect(proxy.page.locator("main")).to_contain_text("contact")
    proxy.scan()


def test_the_task_pages_reflow_at_320_px_and_work_by_keyboard(
    launch: Launch, open_tab: OpenTab
) -> None:
    service = launch({BAD_PNC})
    proxy = open_tab(service)
    page = proxy.page
    page.set_viewport_size({"width": 320, "height": 640})
    proxy.sign_in(PROXY, lands_on="/tasks")
    entry = next(e for e in service.entries(BAD_PNC) if e.section == "identity")
    widths = {}
    for path in ("/tasks", f"/tasks/{BAD_PNC}"):
        proxy.open(path)
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    # keyboard only: claim the case, then follow the fix to its question page
    proxy.open("/tasks")
    tab_to(page, "Claim next case")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert proxy.path == f"/tasks/{BAD_PNC}"
    tab_to(page, re.compile(r"Identity: .*"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    widths["question"] = page.evaluate("document.documentElement.scrollWidth")
    tab_to(page, "PNC number")
    page.keyboard.type(GOOD_PNC)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(_banner(page)).to_contain_text("Answer saved")
    proxy.open(f"/tasks/{BAD_PNC}/sections/{entry.id}")
    widths["section"] = page.evaluate("document.documentElement.scrollWidth")
    proxy.scan()
    assert all(w <= 320 for w in widths.values()), widths
