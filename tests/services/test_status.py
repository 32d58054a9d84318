"""The offender manager's status view: states, dates and reasons only — never ViSOR content."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from bridge.clock import FixedClock
from bridge.core.failure_text import FAILED_PHRASE
from bridge.core.lifecycle import State
from bridge.core.record import NS
from bridge.core.xmltext import parse_untrusted
from bridge.errors import NotPermitted
from bridge.services.views import jsonable
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, Entry
from bridge.wiring import Wiring
from tests.builders import (
    MANAGER,
    PROXY,
    MakeWiring,
    expected_sections,
)

KEEP = {"G719053", "K134872"}  # both managed by N07A001; G719053 has Unicode names


def _synced(make_wiring: MakeWiring, db_url: str, ndelius_url: str) -> Wiring:
    return make_wiring(db_url, ndelius_url, synced=KEEP)  # as after a sync of KEEP


def _record_values(w: Wiring, crn: str) -> set[str]:
    """Every text value of length >= 3 in the Nominal part of the case's entries."""
    values: set[str] = set()
    with Session(w.engine) as s:
        entries = list(s.exec(select(Entry).where(Entry.crn == crn)))
    assert len(entries) == len(expected_sections(crn))
    for entry in entries:
        assert entry.xml is not None
        nominal = parse_untrusted(entry.xml).find(f"{{{NS}}}Nominal")
        assert nominal is not None
        for node in nominal.iter():
            text = (node.text or "").strip()
            if len(text) >= 3:
                values.add(text)
    return values


def test_the_managers_status_never_contains_record_values(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    # move one entry along so the view holds more than pending rows
    entry_id = next(r.id for r in w.queue.listing() if r.crn == "G719053")
    w.review.claim(entry_id, actor=PROXY)

    status = jsonable(w.status.case("G719053", actor=MANAGER))
    assert set(status) == {"crn", "entries"}
    assert status["crn"] == "G719053"
    assert len(status["entries"]) == len(expected_sections("G719053"))
    for row in status["entries"]:
        assert set(row) == {
            "id", "section", "kind", "status", "created_at", "due_date", "entered_at", "reason"
        }  # fmt: skip

    values = _record_values(w, "G719053")
    assert {"Siobhán", "O'Neil", "1986-03-11", "N19 5DN"} <= values  # the check has teeth
    for dumped in (json.dumps(status), json.dumps(status, ensure_ascii=False)):
        leaked = sorted(v for v in values if v in dumped)
        assert leaked == []

    with Session(w.engine) as s:
        viewed = s.exec(select(AuditEvent).where(AuditEvent.action == "status.viewed")).all()
    assert [(e.actor, e.crn, e.category) for e in viewed] == [(MANAGER, "G719053", "consultation")]


def test_unrelated_manager_and_unknown_case_get_the_same_refusal(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    messages = set()
    for crn, actor in [
        ("G719053", "N07A002"),  # manages other cases, not this one
        ("G719053", "N02A003"),
        ("Z999999", MANAGER),  # no such case
        ("G719053", "NOBODY1"),  # not in the registry
        ("B203456", MANAGER),  # a real CRN the bridge never read (removed before the sync)
        ("G719053", PROXY),  # a proxy who may handle the case: this is the officer's view
        ("G719053", "ADM0001"),  # an administrator: the same
    ]:
        with pytest.raises(NotPermitted) as refused:
            w.status.case(crn, actor=actor)
        messages.add(str(refused.value))
    assert len(messages) == 1
    with Session(w.engine) as s:
        refusals = s.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).all()
    assert len(refusals) == 7
    assert all(e.crn is None and e.detail == {"action": "status"} for e in refusals)
    # the case's own manager still sees it
    assert w.status.case("K134872", actor=MANAGER).entries


def test_reasons_are_shown_for_returned_and_superseded_entries_only(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    rejected, failed, superseded, *_ = [r.id for r in w.queue.listing() if r.crn == "G719053"]
    w.review.claim(rejected, actor=PROXY)
    w.review.reject(rejected, actor=PROXY, reason="Screen the MAPPA category first.")
    with session_scope(w.engine) as s:  # a sink's refusal and a newer change, as stored
        for entry_id, state, reason in [
            (failed, State.FAILED, "HTTP 422: line 4: Element 'Surname': too long"),
            (superseded, State.SUPERSEDED, "newer change"),
        ]:
            entry = s.get(Entry, entry_id)
            assert entry is not None
            entry.status, entry.reason = state, reason
            s.add(entry)
    shown = {e.id: (e.status, e.reason) for e in w.status.case("G719053", actor=MANAGER).entries}
    assert shown[rejected] == ("rejected", "Screen the MAPPA category first.")
    assert shown[superseded] == ("superseded", "newer change")
    assert shown[failed] == ("failed", FAILED_PHRASE)  # never the sink's text
