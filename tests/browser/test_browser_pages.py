"""The pages everyone meets: sign-in, sign-out and the error pages, in a real Chromium.

They must load the compiled CSS and the module script under the CSP, run the js-enabled snippet,
set a cookie scripts cannot read, and pass axe-core with no serious or critical violations.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Response, expect

from tests.browser.conftest import Launch, OpenTab
from tests.builders import MANAGER, PROXY

pytestmark = pytest.mark.browser


def test_the_sign_in_page_is_styled_scripted_and_accessible(
    launch: Launch, open_tab: OpenTab
) -> None:
    tab = open_tab(launch())
    assets: dict[str, int] = {}

    def note(response: Response) -> None:
        path = response.url.removeprefix(tab.base_url)
        if path.startswith("/assets/"):
            assets[path] = response.status

    tab.page.on("response", note)
    tab.open("/login")
    page = tab.page

    expect(page).to_have_title(re.compile(r"^Sign in \u2013 "))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_label("Username")).to_have_attribute("id", "username")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("id", "password")
    # the template's nonce'd one-liner ran (an inline script without the nonce would not)
    expect(page.locator("body")).to_have_class(re.compile(r"\bgovuk-frontend-supported\b"))
    # app.js (a module from 'self') ran initAll: the password input's Show button appears
    expect(page.get_by_role("button", name="Show password")).to_be_visible()
    assert assets.get("/assets/app.css") == 200
    assert assets.get("/assets/app.js") == 200
    assert assets.get("/assets/govuk-frontend.min.js") == 200
    # the compiled CSS (Arial), not GOV.UK's precompiled one (GDS Transport, gov.uk only).
    # GOV.UK Frontend sets type on its classes, not on <body>: read the heading and a label.
    for element in (page.get_by_role("heading", level=1), page.locator("label[for=username]")):
        font = element.evaluate("e => getComputedStyle(e).fontFamily")
        assert "arial" in font.lower(), font
        assert "GDS Transport" not in font
    tab.scan()


def test_a_sign_in_with_nothing_entered_shows_the_error_summary(
    launch: Launch, open_tab: OpenTab
) -> None:
    tab = open_tab(launch())
    tab.open("/login")
    tab.press_button("Sign in")
    page = tab.page

    expect(page).to_have_title(re.compile(r"^Error: Sign in"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name="Enter your username")).to_have_attribute(
        "href", "#username"
    )
    expect(summary.get_by_role("link", name="Enter your password")).to_have_attribute(
        "href", "#password"
    )
    # GOV.UK Frontend's script moves focus to the summary, so screen readers announce it
    expect(summary).to_be_focused()
    tab.scan()
    summary.get_by_role("link", name="Enter your password").click()
    expect(page.get_by_label("Password", exact=True)).to_be_focused()


def test_the_session_cookie_is_http_only_and_same_site_and_sign_out_works(
    launch: Launch, open_tab: OpenTab
) -> None:
    tab = open_tab(launch())
    tab.sign_in(PROXY, lands_on="/tasks")
    tab.open("/queue")

    [cookie] = [c for c in tab.page.context.cookies() if c["name"] == "bridge_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert tab.page.evaluate("() => document.cookie") == ""  # scripts cannot read it

    tab.press_button("Sign out")
    expect(tab.page).to_have_url(tab.base_url + "/login?signed_out=1")
    expect(tab.page.get_by_text("You have signed out.")).to_be_visible()
    tab.scan()
    tab.open("/queue")  # signed out: back to the sign-in page
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_page_not_found_is_a_gov_uk_page(launch: Launch, open_tab: OpenTab) -> None:
    tab = open_tab(launch())
    tab.open("/no-such-page", status=404)
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Page not found")
    tab.scan()


def test_an_offender_manager_on_the_queue_gets_the_403_page(
    launch: Launch, open_tab: OpenTab
) -> None:
    tab = open_tab(launch())
    tab.sign_in(MANAGER, lands_on="/cases")
    tab.open("/queue", status=403)
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("You cannot see this page")
    tab.scan()
