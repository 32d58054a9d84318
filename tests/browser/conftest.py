"""Browser tests: the real app under uvicorn on a loopback port, driven by Debian's Chromium.

pytest-playwright gives the session's browser and each test's contexts; this file points it at
the Chromium on the PATH (no `playwright install`: its downloads are not what we ship against)
and skips, saying why, when there is none. Under BRIDGE_TEST_REQUIRE_ALL=1 (CI) tests/conftest.py
turns that skip into a failure.

Each test gets its own store (a copy of a template: migrated, the fixture staff with the web tests'
PASSWORD, synced from the nDelius simulator) and its own server, on a fixed clock so dates on
the pages are stable.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import BrowserContext
from sqlmodel import Session, col, select

from bridge.sim.server import serve_in_thread
from bridge.store.models import Entry
from bridge.web.app import ASSETS
from bridge.wiring import Wiring
from tests.browser.harness import AXE_JS, Tab
from tests.builders import MakeWiring, case_doc, sync_json
from tests.loopback import local
from tests.web.conftest import set_passwords
from tests.web_app import create_app

#: As tested in shared/notes/stack.md §5 (root in a container needs --no-sandbox).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Wide enough for the two-thirds columns and the queue table; the screenshots use it too.
VIEWPORT = {"width": 1100, "height": 800}

#: A case already on ViSOR (adopted at go-live, so nothing queued) whose main address then
#: changes: exactly one entry, the addresses section, whose diff is this postcode.
ADOPTED_CRN = "A104212"
OLD_POSTCODE = "N7 6RE"
NEW_POSTCODE = "NG7 2QX"
POSTCODE_FIELD = "Address[1]/Postcode"
POSTCODE_ID = "field-Address-1-Postcode"


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(
            "browser tests need Chromium: none on the PATH (apt-get install chromium; .ci/run does)"
        )
    if not AXE_JS.is_file():
        pytest.skip(f"browser tests need axe-core: {AXE_JS} is missing (make assets runs npm ci)")
    if not (ASSETS / "app.css").is_file():
        pytest.skip("browser tests need the built web assets (make assets)")
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "en-GB"}


@dataclass
class LiveService:
    """The app serving one test's store at `url`."""

    url: str
    wiring: Wiring

    def entries(self, crn: str) -> list[Entry]:
        with Session(self.wiring.engine) as s:
            return list(s.exec(select(Entry).where(Entry.crn == crn).order_by(col(Entry.id))))


Launch = Callable[..., LiveService]


@pytest.fixture
def launch(make_wiring: MakeWiring, sqlite_url: str, ndelius_url: str) -> Iterator[Launch]:
    """Start the app over a store synced from the simulator holding only `cases` (none: no sync).

    `then(ndelius_url)` runs after the first sync; a second sync follows it (a change in nDelius).
    """
    with ExitStack() as servers:

        def start(
            cases: Iterable[str] = (),
            then: Callable[[str], None] | None = None,
        ) -> LiveService:
            keep = set(cases)
            # The first sync is the template's (tests/stores.py): the same store, built once.
            wiring = make_wiring(sqlite_url, ndelius_url, synced=keep or False)
            set_passwords(wiring)
            if keep and then is not None:
                then(ndelius_url)
                sync_json(wiring)
            url = servers.enter_context(serve_in_thread(create_app(wiring)))
            return LiveService(url, wiring)

        yield start


def move_main_address(ndelius_url: str) -> None:
    """The adopted case's main address gets a new postcode in nDelius."""
    doc = case_doc(ADOPTED_CRN)
    main = next(
        a for a in doc["offender"]["contactDetails"]["addresses"] if a["status"]["code"] == "M"
    )
    assert main["postcode"] == OLD_POSTCODE
    main["postcode"] = NEW_POSTCODE
    local.put(f"{ndelius_url}/__admin/cases/{ADOPTED_CRN}", json=doc).raise_for_status()


@pytest.fixture
def address_change(launch: Launch) -> LiveService:
    """One entry in the queue: the adopted case's changed address."""
    service = launch({ADOPTED_CRN}, then=move_main_address)
    [entry] = service.entries(ADOPTED_CRN)
    assert (entry.section, entry.status) == ("addresses", "pending")
    return service


OpenTab = Callable[[LiveService], Tab]


@pytest.fixture
def open_tab(new_context: Callable[..., BrowserContext]) -> Iterator[OpenTab]:
    """A new browser (own cookies) on the service, for each person in a test."""
    tabs: list[Tab] = []

    def make(service: LiveService) -> Tab:
        tab = Tab(new_context().new_page(), service.url)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.assert_clean()
