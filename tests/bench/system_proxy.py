"""A simulated proxy working case tasks over HTTP as a person would, for the whole-system run.

Each proxy is a thread with its own httpx client (its own cookies: one browser) that sends each
page to one of the web instances at random, so a session and its CSRF token must hold on both.
It signs in through the form (CSRF token from the page), then, until told to stop: the task
list, "Claim next case", the task page, one section, sometimes a field through its question
page (a different option of a radios or select question, else the answer as it was), "Ask the
offender manager" for each section with a blocking issue, "Approve all" (delivery is the sink's),
and back to the list; a seeded think time between pages. Redirects are followed by hand so that
every request is timed and counted on its own route (the server's route template).
"""

from __future__ import annotations

import html
import random
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx

__all__ = ["EXPECTED_REFUSALS", "Outcome", "ProxyUser", "Sample"]

#: Refusals a person meets in normal work (the page says why and they carry on): a section
#: that changed under them (409), an answer the record refuses (400).
EXPECTED_REFUSALS: dict[str, set[int]] = {
    "POST /tasks/{crn}/approve": {409},
    "POST /tasks/{crn}/sections/{entry_id}/fields/{path:path}": {400, 409},
    "POST /tasks/{crn}/sections/{entry_id}/return": {409},
    "POST /tasks/{crn}/release": {409},
}
_SECTION = re.compile(r'href="/tasks/([A-Z]\d{6})/sections/(\d+)"')
_FIELD = re.compile(r'href="(/tasks/[A-Z]\d{6}/sections/\d+/fields/[^"]+)"')
_FIXES = re.compile(r'<div class="[^"]*app-fixes[^"]*" id="fixes">(.*?)</div>', re.S)
_CRN_PAGE = re.compile(r"^/tasks/([A-Z]\d{6})")
_REASON = "Please check this section against nDelius (load test)."


@dataclass(frozen=True)
class Sample:
    route: str  # "METHOD template"
    status: int
    seconds: float
    instance: int


@dataclass
class Outcome:
    """What one proxy did."""

    samples: list[Sample] = field(default_factory=list)
    tasks_claimed: int = 0
    nothing_to_claim: int = 0
    approved: int = 0
    edits: int = 0
    returned: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)


class _Form(HTMLParser):
    """The fields of the first form whose action is `action` (inputs, radios, selects)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.done = action, False, False
        self.fields: dict[str, str] = {}
        self.choices: dict[str, list[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done:
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            if a.get("type") == "radio":
                self.choices.setdefault(name, []).append(a.get("value", ""))
                if "checked" in a:
                    self.fields[name] = a.get("value", "")
            else:
                self.fields[name] = a.get("value", "")
        elif tag == "select":
            self._select = name
            self.choices.setdefault(name, [])
        elif tag == "option" and self._select:
            self.choices[self._select].append(a.get("value", ""))
            if "selected" in a:
                self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_of(page: str, action: str) -> _Form:
    parser = _Form(action)
    parser.feed(page)
    return parser


class ProxyUser(threading.Thread):
    """One proxy at work until `stop` is set (see the module's docstring)."""

    def __init__(
        self,
        code: str,
        password: str,
        bases: list[str],
        *,
        seed: int,
        think: tuple[float, float],
        stop: threading.Event,
        edit_share: float = 0.3,
    ) -> None:
        super().__init__(name=f"proxy-{code}", daemon=True)
        self.code, self.password, self.bases = code, password, bases
        self.rng = random.Random(seed)
        self.think_range, self.stop, self.edit_share = think, stop, edit_share
        self.http = httpx.Client(timeout=60.0, follow_redirects=False)
        self.out = Outcome()
        self.csrf = ""

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, method: str, route: str, path: str, data: dict[str, str] | None = None) -> Any:
        instance = self.rng.randrange(len(self.bases))
        if data is not None:
            data = {**data, "csrf_token": self.csrf}
        started = time.perf_counter()
        r = self.http.request(method, self.bases[instance] + path, data=data)
        r.read()
        self.out.samples.append(
            Sample(f"{method} {route}", r.status_code, time.perf_counter() - started, instance)
        )
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        if token:
            self.csrf = token.group(1)
        if r.status_code >= 400 and r.status_code not in EXPECTED_REFUSALS.get(
            f"{method} {route}", set()
        ):
            self.out.errors.append(f"{method} {route} -> {r.status_code}")
        return r

    def _think(self) -> bool:
        """Wait a person's think time; False once told to stop."""
        return not self.stop.wait(self.rng.uniform(*self.think_range))

    def _task(self, crn: str) -> str:
        return str(self._send("GET", "/tasks/{crn}", f"/tasks/{crn}").text)

    # -- the work -----------------------------------------------------------------------------

    def run(self) -> None:
        try:
            # People do not all sign in at the same second: each starts within one think time.
            if self.stop.wait(self.rng.uniform(0, self.think_range[1])):
                return
            self._sign_in()
            while self._think() and self._one_task():
                pass
        except Exception as exc:  # a crashed proxy is reported, never silent
            self.out.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.http.close()

    def _sign_in(self) -> None:
        self._send("GET", "/login", "/login")
        form = {"username": self.code, "password": self.password, "next": "/tasks"}
        r = self._send("POST", "/login", "/login", form)
        if r.status_code != 303:
            raise RuntimeError(f"sign-in refused: {r.status_code}")

    def _one_task(self) -> bool:
        self._send("GET", "/tasks", "/tasks")
        if not self._think():
            return False
        r = self._send("POST", "/tasks/claim-next", "/tasks/claim-next", {})
        where = r.headers.get("location", "")
        found = _CRN_PAGE.match(where)
        if r.status_code != 303 or found is None:
            self.out.nothing_to_claim += 1
            return True
        crn = found.group(1)
        self.out.tasks_claimed += 1
        page = self._task(crn)
        if not self._think():
            return False
        sections = [int(i) for c, i in _SECTION.findall(page) if c == crn]
        if sections:
            entry = self.rng.choice(sections)
            route = "/tasks/{crn}/sections/{entry_id}"
            shown = self._send("GET", route, f"/tasks/{crn}/sections/{entry}").text
            if not self._think():
                return False
            if self.rng.random() < self.edit_share and not self._edit(shown):
                return False
            page = self._task(crn)
            if not self._think():
                return False
        return self._finish(crn, page)

    def _edit(self, section_page: str) -> bool:
        links = [html.unescape(h) for h in _FIELD.findall(section_page)]
        if not links:
            return True
        link = self.rng.choice(links)
        path = link.split("?", 1)[0]
        route = "/tasks/{crn}/sections/{entry_id}/fields/{path:path}"
        question = self._send("GET", route, link)
        if question.status_code != 200:
            return True  # e.g. not claimed any more: the page said so
        if not self._think():
            return False
        form = form_of(question.text, path)
        data = {k: v for k, v in form.fields.items() if k != "csrf_token"}
        for name, options in form.choices.items():
            others = [o for o in options if o and o != data.get(name)]
            if others:
                data[name] = self.rng.choice(others)
        r = self._send("POST", route, path, data)
        if r.status_code == 303:
            self.out.edits += 1
        return True

    def _finish(self, crn: str, page: str) -> bool:
        """Return the sections with a blocking issue, approve the rest (once more on a 409)."""
        fixes = _FIXES.search(page)
        blocked = (
            sorted({int(i) for i in re.findall(r"/sections/(\d+)/", fixes.group(1))})
            if fixes
            else []
        )
        for entry in blocked:
            route = "/tasks/{crn}/sections/{entry_id}/return"
            r = self._send(
                "POST", route, f"/tasks/{crn}/sections/{entry}/return", {"reason": _REASON}
            )
            if r.status_code == 303:
                self.out.returned += 1
        if blocked:
            page = self._task(crn)
        for attempt in range(2):
            form = form_of(page, f"/tasks/{crn}/approve")
            versions = {k: v for k, v in form.fields.items() if k.startswith("v-")}
            if not versions:
                return True  # nothing left to approve (returned, or replaced and re-queued)
            r = self._send(
                "POST", "/tasks/{crn}/approve", f"/tasks/{crn}/approve", {**versions, "only": "1"}
            )
            if r.status_code == 303:
                self.out.approved += 1
                self._task(crn)
                return True
            page = r.text if attempt == 0 else page
        r = self._send("POST", "/tasks/{crn}/release", f"/tasks/{crn}/release", {})
        if r.status_code == 303:
            self.out.released += 1
        return True
