"""The workload pages (issue 15) in a real Chromium: axe with no serious or critical
violations, no CSP refusal (the SVG charts use presentation attributes only), screenshots."""

from __future__ import annotations

import contextlib

import pytest
from playwright.sync_api import expect

from bridge.clock import FixedClock
from bridge.errors import BridgeError
from bridge.wiring import Wiring
from tests.browser.conftest import Launch, OpenTab
from tests.builders import CASES, PROXY, PROXY_2
from tests.services.test_workload import MANAGER, OFFICER, _work


def _enter(w: Wiring, clock: FixedClock, crn: str, actor: str) -> None:
    """`actor` claims the case, approves what has no blocking issue, enters it, lets go."""
    try:
        w.tasks.claim(crn, actor=actor)
    except BridgeError:
        return  # not theirs to take (excluded, their own case, nothing waiting)
    clock.advance(25 * 60)
    clean = {e.id: e.version for e in w.tasks.show(crn, actor=actor).entries if not e.issues}
    if clean:
        w.tasks.approve(crn, actor=actor, versions=clean)
        clock.advance(10 * 60)
        w.tasks.mark_entered(crn, actor=actor, reference="VIS/DEMO")
    with contextlib.suppress(BridgeError):
        w.tasks.release(crn, actor=actor)


def _weeks_of_work(w: Wiring, clock: FixedClock) -> None:
    """Three more weeks in which both proxies work through some of the queue."""
    crns = sorted(r.crn for r in w.tasks.listing().rows)
    for week in range(3):
        clock.advance(7 * 24 * 3600 - 3 * 3600)
        for i, crn in enumerate(crns[week * 4 : week * 4 + 4]):
            _enter(w, clock, crn, PROXY if i % 2 == 0 else PROXY_2)


pytestmark = pytest.mark.browser


def test_workload_backlog_and_my_work_are_accessible_under_the_csp(
    launch: Launch, open_tab: OpenTab, clock: FixedClock
) -> None:
    service = launch({p.stem for p in CASES.glob("*.json")})
    _work(service.wiring, clock)
    _weeks_of_work(service.wiring, clock)

    manager = open_tab(service)
    manager.sign_in(MANAGER, lands_on="/workload")
    page = manager.page
    expect(page.get_by_role("heading", level=1)).to_have_text("Workload")
    expect(
        page.get_by_role("img", name="Handling hours per week, all proxies shown")
    ).to_be_visible()
    expect(page.get_by_role("table", name="Per proxy per week")).to_contain_text("Helen Marsh")
    manager.scan()
    manager.screenshot("workload")
    manager.open("/backlog")
    expect(
        page.get_by_role("img", name="Open entries at the end of each week, by age")
    ).to_be_visible()
    expect(page.get_by_role("table", name="Open entries at the end of each week")).to_be_visible()
    manager.scan()
    manager.screenshot("backlog")

    proxy = open_tab(service)
    proxy.sign_in(PROXY, lands_on="/tasks")
    proxy.page.get_by_role("link", name="My work").click()
    expect(proxy.page.get_by_role("heading", level=1)).to_have_text("My work")
    expect(proxy.page.get_by_role("table", name="Your work per week")).to_be_visible()
    proxy.scan()
    proxy.screenshot("my-work")

    officer = open_tab(service)
    officer.sign_in(OFFICER, lands_on="/cases")
    officer.open("/my-work")
    expect(officer.page.get_by_text("not to judge you")).to_be_visible()
    officer.scan()
