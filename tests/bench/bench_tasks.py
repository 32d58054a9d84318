"""Benchmark: what a proxy's work costs in page loads, clicks, keystrokes and ViSOR references.

Run with `make bench` or `python -m tests.bench.bench_tasks` (Debian's Chromium through
Playwright, the real app under uvicorn, the nDelius simulator with the fixture cases; about a
minute). Each flow gets a fresh SQLite store synced from the simulator holding only its case,
on a fixed clock, and a signed-in proxy; counting starts at the proxy's start page:

- a new person (B203456: 8 sections, no blocking issue) as one task: claim the next case,
  approve all, give one ViSOR reference;
- the same person worked the old way, a section at a time (the queue and entry pages);
- an update of one section (A104212, on ViSOR already, whose main address moved);
- a blocking issue fixed (B219904: the PNC nDelius sent is not valid): the extra page loads,
  clicks and keystrokes to fix it through its question page before approving.

A page load is a document load in the tab (a redirect after a form counts once); a click is a
press of a button or link; keystrokes are the characters typed. The table goes into
docs/BENCHMARKS.md with the targets of issue 14.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
REFERENCE = "VIS/2026/00099"
GOOD_PNC = "2001/0123456F"
TARGETS = {"new person": 6, "update of one section": 3, "blocking issue fixed (extra)": 2}


def _log(message: str) -> None:
    print(f"[bench-tasks {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


@dataclass
class Count:
    loads: int = 0
    clicks: int = 0
    keys: int = 0
    references: int = 0


class Proxy:
    """A proxy's tab that counts what they do."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base, self.count = page, base, Count()
        page.on("load", lambda _page: self._loaded())

    def _loaded(self) -> None:
        self.count.loads += 1

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)

    def click(self, role: str, name: str, *, within: str = "main") -> None:
        with self.page.expect_navigation():
            self.page.locator(within).get_by_role(role, name=name, exact=True).first.click()
        self.count.clicks += 1

    def follow(self, selector: str) -> None:
        """Click the first link matching a CSS selector."""
        with self.page.expect_navigation():
            self.page.locator(selector).first.click()
        self.count.clicks += 1

    def type(self, label: str, text: str) -> None:
        self.page.get_by_label(label, exact=True).fill(text)
        self.count.keys += len(text)

    def reference(self, label: str = "ViSOR reference") -> None:
        self.type(label, REFERENCE)
        self.count.references += 1

    def reset(self) -> Count:
        done, self.count = self.count, Count()
        return done


@contextmanager
def _service(cases: set[str], change: Callable[[str], None] | None = None) -> Iterator[str]:
    """The app over a fresh store synced from the simulator holding only `cases`."""
    from bridge.clock import FixedClock
    from bridge.sim import ndelius as ndelius_sim
    from bridge.sim.server import serve_in_thread
    from bridge.store.db import make_engine
    from bridge.store.migrate import upgrade
    from bridge.web.app import create_app
    from tests.builders import FIXTURE_TODAY, FIXTURES, SIM_CLIENT, only_cases, seeded_wiring
    from tests.web.conftest import set_passwords

    clock = FixedClock(FIXTURE_TODAY)
    sim = ndelius_sim.create_app(
        cases_dir=FIXTURES / "ndelius",
        client_id=SIM_CLIENT[0],
        client_secret=SIM_CLIENT[1],
        clock=clock,
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench-tasks-") as folder,
        serve_in_thread(sim) as ndelius,
    ):
        only_cases(ndelius, cases)
        db_url = f"sqlite:///{folder}/bench.db"
        engine = make_engine(db_url)
        upgrade(engine)
        engine.dispose()
        wiring = seeded_wiring(db_url, ndelius, clock, Path(folder))
        set_passwords(wiring)
        with wiring.ndelius() as source:
            wiring.sync_service(source).run(full=True)
        if change is not None:
            change(ndelius)
            with wiring.ndelius() as source:
                wiring.sync_service(source).run()
        with serve_in_thread(create_app(wiring)) as url:
            yield url
        wiring.close()


def _signed_in(browser: Any, url: str) -> Proxy:
    from tests.builders import PROXY
    from tests.web.conftest import PASSWORD as WEB_PASSWORD

    page = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    page.goto(url + "/login")
    page.get_by_label("Username").fill(PROXY)
    page.get_by_label("Password", exact=True).fill(WEB_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    proxy = Proxy(page, url)
    proxy.reset()
    return proxy


def _new_person(proxy: Proxy) -> Count:
    proxy.open("/tasks")
    proxy.click("button", "Claim next case")
    proxy.reference()
    proxy.click("button", "Save")  # approves every section and records the reference
    return proxy.reset()


def _per_section(proxy: Proxy, sections: int) -> Count:
    for _ in range(sections):
        proxy.open("/queue")
        proxy.click("button", "Claim next entry")
        proxy.click("button", "Approve")
        proxy.reference()
        proxy.click("button", "Mark as entered in ViSOR")
    return proxy.reset()


def _update(proxy: Proxy) -> Count:
    return _new_person(proxy)  # the change is on the task page: the same steps


def _blocking(proxy: Proxy) -> tuple[Count, Count]:
    """(the whole task, the extra it took to fix the blocking issue)."""
    proxy.open("/tasks")
    proxy.click("button", "Claim next case")
    before = Count(**vars(proxy.count))
    proxy.follow("#fixes a")
    proxy.type("PNC number", GOOD_PNC)
    proxy.click("button", "Save and continue")
    fix = Count(*(getattr(proxy.count, k) - getattr(before, k) for k in vars(before)))
    proxy.reference()
    proxy.click("button", "Save")
    return proxy.reset(), fix


def _row(name: str, c: Count, target: int | None) -> str:
    verdict = "" if target is None else ("✓ met" if c.loads <= target else "✗ missed")
    goal = "" if target is None else f"≤ {target}"
    return f"| {name} | {c.loads} | {goal} | {c.clicks} | {c.keys} | {c.references} | {verdict} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=DOC)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, find_chromium, move_main_address
    from tests.builders import expected_sections

    chromium = find_chromium()
    if chromium is None:
        _log("no Chromium on the PATH (apt-get install chromium): skipped")
        return 1
    started = time.perf_counter()
    rows: dict[str, Count] = {}
    sections = len(expected_sections("B203456"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        with _service({"B203456"}) as url:
            rows["new person"] = _new_person(_signed_in(browser, url))
        with _service({"B203456"}) as url:
            rows["new person, a section at a time (before)"] = _per_section(
                _signed_in(browser, url), sections
            )
        with _service({"A104212"}, move_main_address) as url:
            rows["update of one section"] = _update(_signed_in(browser, url))
        with _service({"B219904"}) as url:
            whole, fix = _blocking(_signed_in(browser, url))
            rows["new person with a blocking issue"] = whole
            rows["blocking issue fixed (extra)"] = fix
        browser.close()
    ok = all(rows[k].loads <= t for k, t in TARGETS.items()) and rows["new person"].references == 1
    body = "\n".join(
        [
            "Counted in Debian's Chromium on the real app, from the proxy's start page (signed "
            "in) to the last ViSOR reference; fixture cases on a fixed clock. A page load is a "
            "document load (a form's redirect counts once); keystrokes are characters typed "
            f"(the reference is {len(REFERENCE)}). Targets are issue 14's.",
            "",
            "| task | page loads | target | clicks | keystrokes | ViSOR references | verdict |",
            "|---|---:|---|---:|---:|---:|---|",
            *(_row(name, c, TARGETS.get(name)) for name, c in rows.items()),
            "",
            f"The per-section row is the same new person ({sections} sections) worked through "
            "the queue and entry pages: one claim, approval and ViSOR reference per section.",
        ]
    )
    print(body)  # noqa: T201
    from tests.bench.report import write_section

    write_section(args.report, "tasks", body)
    _log(f"wrote the tasks section of {args.report} in {time.perf_counter() - started:,.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
