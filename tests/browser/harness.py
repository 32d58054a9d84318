"""What every browser test does to a page: watch it for CSP refusals, scan it with axe-core.

axe is put into the page with `page.evaluate` (a DevTools evaluation, which the page's CSP
does not govern), never with a script tag (`script-src 'self' 'nonce-…'` refuses one) and
never with `bypass_csp`: the pages are tested under the policy they ship with.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Page, Response, expect

from tests.web.conftest import PASSWORD

__all__ = [
    "AXE_JS",
    "SCREENSHOTS",
    "SCREENSHOT_DIR",
    "Tab",
    "axe_source",
    "focused",
    "tab_to",
]

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT_DIR = ROOT / "docs" / "screenshots"
#: Read at import: tests/conftest.py clears BRIDGE_* from each test's environment.
SCREENSHOTS = os.environ.get("BRIDGE_SCREENSHOTS") == "1"
#: axe impacts that fail a page (the issue: zero serious or critical violations).
FAILING_IMPACTS = frozenset({"serious", "critical"})

_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""

#: What a keyboard user has focused: enough to name it as a screen reader would, roughly.
_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: "body", id: "", name: ""};
  const label = el.labels && el.labels.length ? el.labels[0].textContent : "";
  const own = el.tagName === "INPUT" ? "" : (el.innerText || el.value || "");
  return {
    tag: el.tagName.toLowerCase(), id: el.id || "", type: el.getAttribute("type") || "",
    name: (label || el.getAttribute("aria-label") || own).replace(/\\s+/g, " ").trim(),
    href: el.getAttribute("href") || "",
  };
}"""


@cache
def axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


@dataclass
class Tab:
    """One person's browser tab on the live service.

    It records every console message that reports a Content Security Policy refusal and every
    uncaught script error; `scan()` fails on either, and on any serious or critical axe
    violation.
    """

    page: Page
    base_url: str
    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.script_errors.append(str(error)))

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    # -- navigation ----------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def open(self, path: str, *, status: int = 200) -> Response:
        """Type `path` into the address bar; the answer must have `status`."""
        response = self.page.goto(self.base_url + path)
        assert response is not None
        assert response.status == status, f"GET {path}: {response.status}, wanted {status}"
        return response

    def sign_in(self, code: str, *, lands_on: str) -> None:
        self.open("/login")
        self.page.get_by_label("Username").fill(code)
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page).to_have_url(self.base_url + lands_on)

    def press_button(self, name: str) -> None:
        """Click a button that submits a form and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=name, exact=True).click()

    # -- checks ---------------------------------------------------------------------------

    def scan(self) -> list[dict[str, Any]]:
        """axe-core over the current page: fail on serious or critical violations.

        Returns every violation (minor and moderate too) so a caller can look at them.
        """
        self.page.wait_for_load_state("load")
        self.page.evaluate(axe_source())
        violations: list[dict[str, Any]] = self.page.evaluate(_RUN_AXE)
        failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        assert not failing, f"axe on {self.path}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in failing
        )
        self.assert_clean()
        return violations

    def assert_clean(self) -> None:
        assert not self.csp_violations, (
            f"CSP refused something on {self.path}: {self.csp_violations}"
        )
        assert not self.script_errors, f"script errors on {self.path}: {self.script_errors}"

    def screenshot(self, name: str) -> None:
        """docs/screenshots/{name}.png, only when BRIDGE_SCREENSHOTS=1 (keeps `make test` clean)."""
        if SCREENSHOTS:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=SCREENSHOT_DIR / f"{name}.png", full_page=True)

    def main_text(self) -> str:
        return self.page.locator("main").inner_text()


# -- the keyboard -----------------------------------------------------------------------------


def focused(page: Page) -> dict[str, str]:
    value: dict[str, str] = page.evaluate(_FOCUSED)
    return value


def tab_to(page: Page, name: str | re.Pattern[str], *, limit: int = 150) -> dict[str, str]:
    """Press Tab until the focused element's label or text is `name`; fail if it never is.

    This is how a keyboard user gets somewhere, so an element Tab never reaches fails the test.
    """
    seen: list[str] = []
    wrapped = 0
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        hit = name.fullmatch(now["name"]) if isinstance(name, re.Pattern) else now["name"] == name
        if hit:
            return now
        if now["tag"] == "body":  # focus left the page and comes back round at the top
            wrapped += 1
            if wrapped == 2:
                break
            seen.clear()
            continue
        seen.append(f"{now['tag']}:{now['name'][:30]}")
    raise AssertionError(
        f"Tab never reached {name!r} on {page.url}; a full round went through {seen}"
    )
