"""Every page at 320 CSS pixels wide (WCAG 1.4.10 reflow), in a real Chromium: no horizontal
scroll, and axe-core clean — every violation of any impact, best-practice rules included.

`PAGES` is the one list of pages: (who signs in, the path or how to find it from the service).
A new page is one line here. One service and one browser tab serve the whole walk, signing in
as each person in turn.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import (
    ADOPTED_CRN,
    POSTCODE_FIELD,
    Launch,
    LiveService,
    OpenTab,
    move_main_address,
)
from tests.browser.harness import Tab, axe_source
from tests.builders import ADMIN, MANAGER, PROXY, PROXY_2, case_doc
from tests.loopback import local

pytestmark = pytest.mark.browser

WIDTH = 320
#: A case whose offender manager nDelius cannot determine: on the attention list.
UNDETERMINED_CRN = "B203456"
#: Every axe rule of these tags runs, and any violation fails the page.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""
_WIDEST = """() => {
  let widest = null;
  for (const el of document.querySelectorAll("body *")) {
    const right = el.getBoundingClientRect().right;
    if (!widest || right > widest.right) {
      widest = {right, tag: el.tagName.toLowerCase(), cls: el.className || "", id: el.id || ""};
    }
  }
  return widest;
}"""


def _entry(service: LiveService) -> str:
    [entry] = service.entries(ADOPTED_CRN)
    return f"/entries/{entry.id}"


def _section(service: LiveService) -> str:
    [entry] = service.entries(ADOPTED_CRN)
    return f"/tasks/{ADOPTED_CRN}/sections/{entry.id}"


def _question(service: LiveService) -> str:
    return f"{_section(service)}/fields/{quote(POSTCODE_FIELD, safe='/')}"


def _case(service: LiveService) -> str:
    return f"/cases/{service.wiring.status.my_cases(actor=MANAGER)[0].crn}"


Where = str | Callable[[LiveService], str]
#: Every page: (who is signed in, None for nobody; path, or a function of the service).
PAGES: list[tuple[str | None, Where]] = [
    (None, "/login"),
    (None, "/no-such-page"),
    (PROXY, "/tasks"),
    (PROXY, "/tasks?mine=true"),
    (PROXY, f"/tasks/{ADOPTED_CRN}"),
    (PROXY, _section),
    (PROXY, _question),
    (PROXY, "/queue"),
    (PROXY, _entry),
    (MANAGER, "/cases"),
    (MANAGER, _case),
    (MANAGER, "/queue"),  # the 403 page
    (MANAGER, "/notifications"),
    (ADMIN, "/admin/tasks"),
    (ADMIN, "/admin/attention"),
    (ADMIN, "/admin/staff"),
    (ADMIN, "/admin/staff/new"),
    (ADMIN, "/admin/staff/import"),
    (ADMIN, f"/admin/staff/{PROXY_2}"),
    (ADMIN, "/admin/sync"),
    (ADMIN, "/admin/submissions"),
    (ADMIN, "/admin/config"),
    (ADMIN, "/admin/notifications"),
]
HOME = {
    PROXY: "/tasks",
    MANAGER: "/cases",
    ADMIN: "/workload",
}  # an administrator lands on Workload (issue 15)


def _undetermined(ndelius_url: str) -> None:
    """The adopted case's address moves, and B203456's officer can no longer be determined."""
    move_main_address(ndelius_url)
    doc = case_doc(UNDETERMINED_CRN)
    first = doc["offender"]["offenderManagers"][0]
    first.pop("active", None)
    second = copy.deepcopy(first)
    second["staff"]["code"] = "N02A099"
    doc["offender"]["offenderManagers"] = [first, second]
    local.put(f"{ndelius_url}/__admin/cases/{UNDETERMINED_CRN}", json=doc).raise_for_status()


def _check(tab: Tab, where: str) -> None:
    page = tab.page
    page.wait_for_load_state("load")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > WIDTH:
        widest: dict[str, Any] = page.evaluate(_WIDEST)
        raise AssertionError(f"{where} is {width} px wide at {WIDTH} px: widest {widest}")
    page.evaluate(axe_source())
    violations = page.evaluate(_RUN_AXE, AXE_TAGS)
    assert not violations, f"axe on {where} at {WIDTH} px: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in violations
    )
    tab.assert_clean()


def test_every_page_reflows_at_320_px_and_passes_axe(launch: Launch, open_tab: OpenTab) -> None:
    service = launch({ADOPTED_CRN, UNDETERMINED_CRN}, then=_undetermined)
    service.wiring.tasks.claim(ADOPTED_CRN, actor=PROXY)  # a held task on the admin's page
    assert service.wiring.admin.attention(actor=ADMIN)
    tab = open_tab(service)
    tab.page.set_viewport_size({"width": WIDTH, "height": 640})
    signed_in: str | None = None
    for who, path in PAGES:
        if who != signed_in:
            if who is None:
                tab.page.context.clear_cookies()
            else:
                tab.sign_in(who, lands_on=HOME[who])
            signed_in = who
        where = path(service) if callable(path) else path
        tab.page.goto(tab.base_url + where)
        _check(tab, where)
