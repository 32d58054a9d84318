"""The officer's pages tell the truth (issue 16): overdue entries say so with their date, a
return replaced by a newer entry for the same part says so (the return stays in the history),
every state is explained in one sentence, and returns not yet opened are announced."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.core.lifecycle import Section, State
from bridge.core.vocabulary import (
    OVERDUE_LABEL,
    REPLACED_RETURN_LABEL,
    STATE_EXPLAINED,
    STATE_LABELS,
)
from bridge.store.models import Entry
from bridge.wiring import Wiring
from tests.builders import MANAGER, PROXY, case_doc, sync_json
from tests.loopback import local
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


CRN = "G719053"


def _entries(w: Wiring, crn: str = CRN) -> list[Entry]:
    with Session(w.engine) as s:
        return list(s.exec(select(Entry).where(Entry.crn == crn).order_by(col(Entry.id))))


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_overdue_entries_show_the_tag_and_their_date(
    synced_wiring: Wiring, visitor: Visitor
) -> None:
    visitor.sign_in(MANAGER)
    assert f"{OVERDUE_LABEL}: it was due" not in _text(visitor.client.get(f"/cases/{CRN}").text)
    assert isinstance(synced_wiring.clock, FixedClock)
    due = min(e.due_date for e in _entries(synced_wiring))
    synced_wiring.clock.advance(timedelta(days=10).total_seconds())
    visitor.sign_in(MANAGER)  # (the session lapsed meanwhile)
    cases = _text(visitor.client.get("/cases").text)
    assert f"{OVERDUE_LABEL} " in cases
    assert f"the earliest due by {due.day} {due:%B %Y}" in cases
    page = _text(visitor.client.get(f"/cases/{CRN}").text)
    assert f"{OVERDUE_LABEL}: it was due by {due.day} {due:%B %Y}" in page
    # Every state an officer may meet is explained, in the vocabulary's words.
    for state in State:
        assert f"{STATE_LABELS[state]} {STATE_EXPLAINED[state]}" in page


def test_a_return_is_announced_until_opened_and_says_when_a_newer_entry_replaced_it(
    synced_wiring: Wiring, visitor: Visitor, ndelius_url: str
) -> None:
    w = synced_wiring
    identity = next(e for e in _entries(w) if e.section == Section.IDENTITY)
    assert identity.id is not None
    w.review.claim(identity.id, actor=PROXY)
    w.review.reject(identity.id, actor=PROXY, reason="The middle name is missing in nDelius")
    visitor.sign_in(MANAGER)
    cases = visitor.client.get("/cases").text
    assert "Returned to you" in cases
    assert "1 case has an entry returned to you that you have not opened" in _text(cases)
    page = _text(visitor.client.get(f"/cases/{CRN}").text)
    assert "The middle name is missing in nDelius" in page
    assert "Returned to you" not in visitor.client.get("/cases").text  # opened: no banner

    # The officer fixes nDelius; the next sync queues a newer identity entry.
    doc = case_doc(CRN)
    doc["offender"]["middleNames"] = ["Áine", "Bríd"]
    local.put(f"{ndelius_url}/__admin/cases/{CRN}", json=doc).raise_for_status()
    w.clock.advance(60)  # type: ignore[attr-defined]
    sync_json(w)
    newer = [e for e in _entries(w) if e.section == Section.IDENTITY and e.id != identity.id]
    assert newer, "the sync queued the corrected identity"
    page = _text(visitor.client.get(f"/cases/{CRN}").text)
    assert REPLACED_RETURN_LABEL in page
    assert "The middle name is missing in nDelius" in page  # history kept
    row = next(r for r in visitor.client.get("/cases").text.split("<tr") if CRN in r)
    assert "Latest reason" not in row  # My cases counts only returns still to deal with
