"""The main proxy flow with the keyboard alone: Tab to each control, type, Enter or Space.

No clicks and no `fill`: if Tab cannot reach a control, or Enter/Space does not work it, the
test fails. Only the first address is typed into the address bar, as a person would. (The
same pages are scanned with axe in test_browser_proxy_flow.py; the CSP watch runs here too.)
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADOPTED_CRN, LiveService, OpenTab
from tests.browser.harness import Tab, tab_to
from tests.builders import PROXY
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser

VISOR_REFERENCE = "VIS/2026/00077"


def _press(tab: Tab, key: str) -> None:
    """Work the focused button with `key` and wait for the page the form leads to."""
    with tab.page.expect_navigation():
        tab.page.keyboard.press(key)
    tab.page.wait_for_load_state("load")


def _type_into(page: Page, label: str, text: str) -> None:
    field = tab_to(page, label)
    assert field["tag"] in {"input", "textarea"}, field
    page.keyboard.type(text)


def test_the_main_proxy_flow_works_with_the_keyboard_alone(
    address_change: LiveService, open_tab: OpenTab
) -> None:
    [entry] = address_change.entries(ADOPTED_CRN)
    proxy = open_tab(address_change)
    page = proxy.page
    proxy.open("/login")

    _type_into(page, "Username", PROXY)
    _type_into(page, "Password", PASSWORD)
    tab_to(page, "Sign in")
    _press(proxy, "Enter")
    expect(page).to_have_url(f"{address_change.url}/tasks")  # a proxy starts at their tasks
    proxy.open("/queue")

    tab_to(page, "Claim next entry")
    _press(proxy, "Enter")
    expect(page).to_have_url(f"{address_change.url}/entries/{entry.id}")

    tab_to(page, "Approve", limit=300)
    _press(proxy, "Space")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Entry approved")

    _type_into(page, "ViSOR reference", VISOR_REFERENCE)
    tab_to(page, "Mark as entered in ViSOR")
    _press(proxy, "Enter")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Marked as entered in ViSOR")
    [entry] = address_change.entries(ADOPTED_CRN)
    assert (entry.status, entry.visor_reference) == ("accepted", VISOR_REFERENCE)
