"""Who may see what, in a real Chromium: 403 pages for the wrong role and for excluded proxies.

F600218 excludes N07P004 (`excludedFrom`); N480937 is restricted to a list that leaves N07P004
out (`restrictedTo`). N07P005 may work both, which shows the queue would list them if allowed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ADOPTED_CRN, NEW_POSTCODE, Launch, LiveService, OpenTab
from tests.builders import MANAGER, PROXY, PROXY_2

pytestmark = pytest.mark.browser

OPEN_CRN = "B219904"
EXCLUDED_CRN = "F600218"
RESTRICTED_CRN = "N480937"
LIMITED = (EXCLUDED_CRN, RESTRICTED_CRN)


def _queue_links(page: Page) -> Locator:
    table = page.locator("table").filter(has=page.locator("caption", has_text="Entries"))
    return table.locator("tbody tr td a, tbody tr th a")


def test_an_offender_manager_opening_proxy_pages_gets_403(
    address_change: LiveService, open_tab: OpenTab
) -> None:
    [entry] = address_change.entries(ADOPTED_CRN)
    manager = open_tab(address_change)
    manager.sign_in(MANAGER, lands_on="/cases")
    for path in ("/queue", f"/entries/{entry.id}"):
        manager.open(path, status=403)
        expect(manager.page.get_by_role("heading", level=1)).to_have_text(
            "You cannot see this page"
        )
        assert NEW_POSTCODE not in manager.page.content()
    manager.scan()
    # nor can a form post with a good CSRF token act for them (the claim button's target)
    manager.open("/cases")
    token = manager.page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    response = manager.page.request.post(
        f"{address_change.url}/queue/claim-next", form={"csrf_token": token}, max_redirects=0
    )
    assert response.status == 403
    assert address_change.entries(ADOPTED_CRN)[0].status == "pending"


def test_a_proxy_excluded_from_a_limited_access_case_cannot_see_it(
    launch: Launch, open_tab: OpenTab
) -> None:
    service = launch({OPEN_CRN, *LIMITED})
    hidden = {e.id for crn in LIMITED for e in service.entries(crn)}
    assert hidden

    # a proxy who may work them sees them (so their absence below means something)
    allowed = open_tab(service)
    allowed.sign_in(PROXY_2, lands_on="/tasks")
    allowed.open("/queue")
    links = _queue_links(allowed.page)
    for crn in (OPEN_CRN, *LIMITED):
        expect(links.filter(has_text=crn).first).to_be_visible()
    allowed.scan()
    allowed.screenshot("queue")
    # the queue's filter form (GET): narrowing to one CRN lists that case's entries only
    for field in ("state", "force", "due", "kind", "crn"):
        expect(allowed.page.locator(f"form #{field}")).to_have_count(1)
    allowed.page.get_by_label("CRN", exact=True).fill(EXCLUDED_CRN)
    allowed.press_button("Apply filters")
    expect(allowed.page).to_have_url(re.compile(rf"/queue\?(.+&)?crn={EXCLUDED_CRN}"))
    expect(links).to_have_count(len(service.entries(EXCLUDED_CRN)))
    expect(links.filter(has_text=OPEN_CRN)).to_have_count(0)

    excluded = open_tab(service)
    page = excluded.page
    excluded.sign_in(PROXY, lands_on="/tasks")
    excluded.open("/queue")
    links = _queue_links(page)
    expect(links.filter(has_text=OPEN_CRN).first).to_be_visible()
    texts = links.all_inner_texts()
    assert not [t for t in texts if t.strip() in LIMITED], texts
    for crn in LIMITED:
        assert crn not in page.content()
    excluded.scan()

    # nor by filtering for the CRN
    for crn in LIMITED:
        excluded.open(f"/queue?crn={crn}")
        expect(_queue_links(page)).to_have_count(0)

    # nor by URL: the same 403 page as for anything else not theirs
    for crn in LIMITED:
        entry_id = service.entries(crn)[0].id
        excluded.open(f"/entries/{entry_id}", status=403)
        expect(page.get_by_role("heading", level=1)).to_have_text("You cannot see this page")
        assert crn not in page.content()
    excluded.scan()

    # nor by claiming the next entry: it hands out the open case's entries, then nothing
    excluded.open("/queue")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    claimed: list[int] = []
    for _ in range(len(service.entries(OPEN_CRN)) + 1):
        answer = page.request.post(
            f"{service.url}/queue/claim-next", form={"csrf_token": token}, max_redirects=0
        )
        assert answer.status == 303
        where = answer.headers["location"]
        if not where.startswith("/entries/"):
            break
        claimed.append(int(where.removeprefix("/entries/")))
    assert sorted(claimed) == [e.id for e in service.entries(OPEN_CRN)]
    excluded.press_button("Claim next entry")
    expect(page).to_have_url(f"{service.url}/queue")
    expect(page.get_by_text("There is nothing in the queue you can take")).to_be_visible()
    assert {e.status for crn in LIMITED for e in service.entries(crn)} == {"pending"}
