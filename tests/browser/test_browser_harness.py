"""The checks the browser tests rely on can fail: axe sees a broken page, the CSP watch a refusal.

Without these, a silently broken axe injection or console listener would pass every page.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import Launch, OpenTab

pytestmark = pytest.mark.browser


def test_axe_reports_a_serious_violation_on_a_broken_page(
    launch: Launch, open_tab: OpenTab
) -> None:
    tab = open_tab(launch())
    tab.open("/login")
    tab.page.evaluate(
        """() => {
          const img = document.createElement("img");    // no alt text: axe's image-alt
          img.src = "/assets/images/favicon.svg";
          document.querySelector("main").append(img);
        }"""
    )
    with pytest.raises(AssertionError, match=r"image-alt \(critical\)"):
        tab.scan()


def test_the_csp_refuses_an_injected_inline_script_and_the_watch_sees_it(
    launch: Launch, open_tab: OpenTab
) -> None:
    tab = open_tab(launch())
    tab.open("/login")
    with tab.page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        tab.page.evaluate(
            """() => {
              const s = document.createElement("script");  // inline, without the nonce
              s.textContent = "window.injected = true";
              document.body.append(s);
            }"""
        )
    assert tab.page.evaluate("() => window.injected") is None
    assert tab.csp_violations, "the console watch missed the CSP refusal"
    with pytest.raises(AssertionError, match="CSP refused"):
        tab.assert_clean()
    tab.csp_violations.clear()  # seen and expected: the fixture's final check stays clean
