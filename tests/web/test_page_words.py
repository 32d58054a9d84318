"""One vocabulary on pages (issue 14): every page, rendered with fixture data, shows states,
kinds, sections and reasons in people's words (bridge.core.vocabulary), times in Europe/London,
and none of the bridge's internal words: kind and section codes, state and attention codes,
"sink", "UTC", raw booleans or ISO offsets.

The pages are one list, `PAGES` (who visits, which path), so a new page is one line; the
visible text is checked (tags and attributes stripped), not the markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from bridge.core.attention import AttentionReason
from bridge.core.lifecycle import Kind, Section, State
from bridge.wiring import Wiring
from tests.builders import ADMIN, MANAGER, PROXY, PROXY_2
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: what these tests check is the pages and the sign-in flow, the same on either
    database (the services and stores under them run on PostgreSQL in their own tests)."""
    return sqlite_url


#: The contract's state names written as words people would read them: a page shows the
#: vocabulary's instead (Waiting, Returned to officer, Replaced, Entered in ViSOR).
STATE_WORDS = [s.value.capitalize() for s in (State.PENDING, State.REJECTED, State.SUPERSEDED)]
STATE_WORDS += ["Accepted"]
#: What a page may never show people (whole words, case-sensitive unless noted).
INTERNAL = [
    *(k.value for k in Kind if "-" in k.value),  # nominal-create, activity-withdrawn, ...
    *(s.value for s in Section if "-" in s.value),  # managing-officer
    *(r.value for r in AttentionReason if "_" in r.value),  # access_unclear, ...
    "sink",
    "Sink",
    "UTC",
    "true",
    "false",
    "True",
    "False",
    "None",
    "null",
    "+00:00",
    "web:",
    "cli:",
    *STATE_WORDS,
]

_SCRIPT = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.S)
_TAG = re.compile(r"<[^>]+>")


def visible_text(page: str) -> str:
    """The text a person reads: no tags, no attributes, no scripts, entities decoded."""
    body = page.split("<body", 1)[-1]
    return " ".join(html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", body))).split())


def internal_words(text: str) -> list[str]:
    """The INTERNAL words in `text`, each matched as a whole word (`BRIDGE_SINK` and a path's
    `/managing-officer` are not the word)."""
    found = []
    for word in INTERNAL:
        before = r"(?<![\w/-])" if word[0].isalnum() else ""
        after = r"(?![\w-])" if word[-1].isalnum() else ""
        if re.search(before + re.escape(word) + after, text):
            found.append(word)
    return found


def _held_by_proxy(wiring: Wiring) -> tuple[str, int]:
    """A task PROXY holds (claimed now): its CRN and first entry's id."""
    task = wiring.tasks.claim_next(actor=PROXY)
    assert task is not None
    return task.crn, task.entries[0].id


def _entry_path(wiring: Wiring, _visitor: Visitor) -> str:
    return f"/entries/{_held_by_proxy(wiring)[1]}"


def _task_path(wiring: Wiring, _visitor: Visitor) -> str:
    return f"/tasks/{_held_by_proxy(wiring)[0]}"


def _section_path(wiring: Wiring, _visitor: Visitor) -> str:
    crn, entry_id = _held_by_proxy(wiring)
    return f"/tasks/{crn}/sections/{entry_id}"


def _question_path(wiring: Wiring, visitor: Visitor) -> str:
    """The first "Change" link of a section's check-answers page: a question page."""
    section = visitor.client.get(_section_path(wiring, visitor)).text
    found = re.search(r'href="(/tasks/[^"]+/fields/[^"]+)"', section)
    assert found, "no question page linked from the section"
    return html.unescape(found.group(1))


def _case_path(wiring: Wiring, _visitor: Visitor) -> str:
    rows = wiring.status.my_cases(actor=MANAGER)
    return f"/cases/{rows[0].crn}"


Path = str | Callable[[Wiring, Visitor], str]
#: Every page, as (who, path): extend this list with each new page.
PAGES: list[tuple[str | None, Path]] = [
    (None, "/login"),
    (None, "/no-such-page"),
    (PROXY, "/tasks"),
    (PROXY, "/tasks?mine=true"),
    (PROXY, _task_path),
    (PROXY, _section_path),
    (PROXY, _question_path),
    (PROXY, "/queue"),
    (PROXY, _entry_path),
    (MANAGER, "/cases"),
    (MANAGER, _case_path),
    (MANAGER, "/queue"),  # the 403 page
    (ADMIN, "/admin/tasks"),
    (ADMIN, "/admin/attention"),
    (ADMIN, "/admin/staff"),
    (ADMIN, "/admin/staff/new"),
    (ADMIN, "/admin/staff/import"),
    (ADMIN, f"/admin/staff/{PROXY_2}"),
    (ADMIN, "/admin/sync"),
    (ADMIN, "/admin/submissions"),
    (ADMIN, "/admin/config"),
]


def test_the_word_check_catches_what_it_must() -> None:
    assert internal_words("Kind nominal-create at 09:30+00:00 UTC: false (web:entry.view)") == [
        "nominal-create",
        "UTC",
        "false",
        "+00:00",
        "web:",
    ]
    assert internal_words("New person, Managing officer, 9:30am GMT") == []
    assert internal_words("BRIDGE_SINK manual; /entries/managing-officer") == []


@pytest.mark.parametrize(("who", "path"), PAGES, ids=lambda p: getattr(p, "__name__", str(p)))
def test_no_page_shows_an_internal_word(
    synced_wiring: Wiring, new_visitor: Callable[[], Visitor], who: str | None, path: Path
) -> None:
    # The held-task page has a row (the attention list's words are checked with rows in
    # test_admin_tasks_pages.py).
    synced_wiring.tasks.claim_next(actor=PROXY_2)
    visitor = new_visitor()
    if who is not None:
        visitor.sign_in(who)
    where = path(synced_wiring, visitor) if callable(path) else path
    response = visitor.client.get(where)
    assert response.status_code in (200, 403, 404), where
    text = visible_text(response.text)
    assert internal_words(text) == [], f"{where}: {text[:3000]}"
