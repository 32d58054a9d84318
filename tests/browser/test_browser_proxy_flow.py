"""The main flow in a real Chromium: a proxy works a change through to ViSOR; its manager sees it.

A case already on ViSOR has its main address moved in nDelius, so the queue holds exactly one
entry whose only change since the baseline is the postcode. Every page on the way is scanned
with axe-core and watched for CSP refusals.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import (
    ADOPTED_CRN,
    NEW_POSTCODE,
    OLD_POSTCODE,
    POSTCODE_ID,
    LiveService,
    OpenTab,
)
from tests.browser.harness import Tab
from tests.builders import MANAGER, PROXY, case_doc

pytestmark = pytest.mark.browser

CORRECTED_POSTCODE = "NG7 2QY"
VISOR_REFERENCE = "VIS/2026/00042"


def _h1(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def _table(page: Page, caption: str) -> Locator:
    return page.locator("table").filter(has=page.locator("caption", has_text=caption))


def _banner(page: Page) -> Locator:
    return page.locator(".govuk-notification-banner")


def _work_the_entry(proxy: Tab, service: LiveService, entry_id: int) -> None:
    page = proxy.page
    proxy.sign_in(PROXY, lands_on="/tasks")
    proxy.open("/queue")
    expect(_h1(page)).to_have_text("Queue")
    queue = _table(page, "Entries")
    expect(queue.get_by_role("link", name=ADOPTED_CRN)).to_have_attribute(
        "href", f"/entries/{entry_id}"
    )
    proxy.scan()

    # claim the next entry: the only one there is
    proxy.press_button("Claim next entry")
    expect(page).to_have_url(f"{service.url}/entries/{entry_id}")
    expect(_h1(page)).to_contain_text(f"Entry {entry_id}")
    # the changes since the baseline: the postcode, and nothing else
    changed = page.locator(".app-changed")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text(NEW_POSTCODE)
    expect(
        page.locator(".govuk-tag").filter(has_text=re.compile(r"^\s*Changed\s*$"))
    ).to_have_count(1)
    expect(page.locator(".moj-timeline")).to_be_visible()
    postcode = page.locator(f"#{POSTCODE_ID}")
    expect(postcode).to_have_value(NEW_POSTCODE)
    proxy.scan()
    proxy.screenshot("entry")

    # an invalid edit: refused with the GOV.UK error summary and an inline message
    postcode.fill("NOT A POSTCODE")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        proxy.press_button("Save changes")
    assert posted.value.status == 400
    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_be_focused()
    link = summary.locator(f'a[href="#{POSTCODE_ID}"]')
    expect(link).to_have_count(1)
    expect(postcode).to_have_class(re.compile(r"\bgovuk-input--error\b"))
    field_group = page.locator(".govuk-form-group--error").filter(has=postcode)
    expect(field_group.locator(".govuk-error-message")).to_be_visible()
    proxy.scan()
    assert service.entries(ADOPTED_CRN)[0].version == 1  # nothing saved

    # the summary's link takes the proxy to the field; fix it and save
    link.click()
    expect(postcode).to_be_focused()
    postcode.fill(CORRECTED_POSTCODE)
    proxy.press_button("Save changes")
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    expect(_banner(page)).to_be_visible()
    expect(page.locator(f"#{POSTCODE_ID}")).to_have_value(CORRECTED_POSTCODE)
    assert service.entries(ADOPTED_CRN)[0].version == 2
    proxy.scan()

    proxy.press_button("Approve")
    expect(_banner(page)).to_contain_text("Entry approved")
    expect(page.locator("#entry-state .govuk-tag")).to_have_text(re.compile("Approved", re.I))
    proxy.scan()

    page.get_by_label("ViSOR reference").fill(VISOR_REFERENCE)
    proxy.press_button("Mark as entered in ViSOR")
    expect(_banner(page)).to_contain_text("Marked as entered in ViSOR")
    expect(page.locator("#entry-state .govuk-tag")).to_have_text(re.compile("Entered", re.I))
    proxy.scan()
    [entry] = service.entries(ADOPTED_CRN)
    assert (entry.status, entry.visor_reference) == ("accepted", VISOR_REFERENCE)


def _content_of_the_record() -> list[str]:
    """What the record holds that a manager's page must never show."""
    offender = case_doc(ADOPTED_CRN)["offender"]
    main = next(a for a in offender["contactDetails"]["addresses"] if a["status"]["code"] == "M")
    born = date.fromisoformat(offender["dateOfBirth"])
    return [
        offender["firstName"],
        offender["surname"],
        born.isoformat(),
        f"{born.day} {born:%B %Y}",
        main["streetName"],
        main["buildingName"],
        OLD_POSTCODE,
        NEW_POSTCODE,
        CORRECTED_POSTCODE,
        VISOR_REFERENCE,
        "<?xml",
        "Postcode",
    ]


def test_a_proxy_works_a_change_into_visor_and_the_manager_sees_it_entered(
    address_change: LiveService, open_tab: OpenTab
) -> None:
    [entry] = address_change.entries(ADOPTED_CRN)
    assert entry.id is not None
    proxy = open_tab(address_change)
    _work_the_entry(proxy, address_change, entry.id)

    manager = open_tab(address_change)
    page = manager.page
    manager.sign_in(MANAGER, lands_on="/cases")
    expect(_h1(page)).to_have_text("My cases")
    cases = _table(page, "Cases")
    case_link = cases.get_by_role("link", name=ADOPTED_CRN)
    expect(case_link).to_have_attribute("href", f"/cases/{ADOPTED_CRN}")
    manager.scan()

    with page.expect_navigation():
        case_link.click()
    expect(page).to_have_url(f"{address_change.url}/cases/{ADOPTED_CRN}")
    expect(_h1(page)).to_have_text(f"Case {ADOPTED_CRN}")
    row = _table(page, "Entries").locator("tbody tr").filter(has_text="Addresses")
    expect(row).to_have_count(1)
    expect(row.locator(".govuk-tag")).to_have_text("Entered in ViSOR")
    expect(row).to_contain_text("23 November 2026")  # the fixed clock's day
    manager.scan()
    manager.screenshot("case")
    html = page.content()
    shown = [text for text in _content_of_the_record() if text in html]
    assert not shown, f"the manager's case page shows record content: {shown}"
