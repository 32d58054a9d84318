"""The sync over a real nDelius simulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bridge.audit import verify_chain
from bridge.services.sync.retries import RetryCounts, RetrySet
from bridge.store.models import AuditEvent, Baseline, Entry, RetryItem
from tests.builders import (
    IN_SCOPE,
    ON_VISOR,
    OUT_OF_SCOPE,
    MakeWiring,
    case_doc,
    expected_entry_count,
    expected_sections,
)
from tests.loopback import local


def _sync(wiring, full: bool = False):  # type: ignore[no-untyped-def]
    with wiring.ndelius() as source:
        return wiring.sync_service(source).run(full=full)


def _entries(wiring) -> list[Entry]:  # type: ignore[no-untyped-def]
    with Session(wiring.engine) as s:
        return list(s.exec(select(Entry).order_by(Entry.id)))


def test_first_sync_queues_only_in_scope_cases_and_second_queues_nothing(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    wiring = make_wiring(db_url, ndelius_url)
    first = _sync(wiring)
    assert first is not None
    entries = _entries(wiring)
    queued = {e.crn for e in entries}
    assert queued == IN_SCOPE - ON_VISOR
    assert not queued & OUT_OF_SCOPE
    # one entry per non-empty section of each queued case (activity: one per flagged contact)
    assert {(e.crn, e.section, e.item_key) for e in entries} == {
        (crn, section, key) for crn in queued for section, key in expected_sections(crn)
    }
    assert first.entries_created == len(entries) == expected_entry_count(queued)
    assert {e.kind for e in entries if e.section != "activity"} == {"nominal-create"}
    assert {e.kind for e in entries if e.section == "activity"} == {"activity"}
    assert first.cases_failed == 0
    assert first.cursor is not None
    # cases already on ViSOR became baselines instead (adoption at go-live)
    with Session(wiring.engine) as s:
        assert {b.crn for b in s.exec(select(Baseline))} == ON_VISOR
        # hundreds of audit events written page by page still form one unbroken chain
        assert len(s.exec(select(AuditEvent.id)).all()) > first.entries_created
        assert verify_chain(s) is None

    second = _sync(wiring)
    assert second is not None
    assert second.entries_created == 0
    assert second.entries_superseded == 0
    assert len(_entries(wiring)) == len(entries)


def test_address_change_creates_exactly_one_address_entry(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    wiring = make_wiring(db_url, ndelius_url)
    _sync(wiring)
    before = {e.id for e in _entries(wiring)}
    doc = case_doc("B203456")
    main = next(
        a for a in doc["offender"]["contactDetails"]["addresses"] if a["status"]["code"] == "M"
    )
    main["postcode"] = "LS1 4DY"
    local.put(f"{ndelius_url}/__admin/cases/B203456", json=doc).raise_for_status()

    result = _sync(wiring)
    assert result is not None
    new = [e for e in _entries(wiring) if e.id not in before]
    assert [(e.crn, e.section) for e in new] == [("B203456", "addresses")]
    assert result.entries_created == 1
    # the pending address entry it replaces is superseded, with the newer one named
    old = [
        e
        for e in _entries(wiring)
        if e.crn == "B203456" and e.section == "addresses" and e.id in before
    ]
    assert old[0].status == "superseded"
    assert old[0].superseded_by == new[0].id
    assert any(d["path"].endswith("Postcode") and d["after"] == "LS1 4DY" for d in new[0].diff)


def test_change_then_revert_leaves_the_original_pending_entry(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    wiring = make_wiring(sqlite_url, ndelius_url)
    _sync(wiring)
    original = case_doc("B203456")
    changed = case_doc("B203456")
    changed["offender"]["surname"] = "Different"
    local.put(f"{ndelius_url}/__admin/cases/B203456", json=changed).raise_for_status()
    _sync(wiring)
    local.put(f"{ndelius_url}/__admin/cases/B203456", json=original).raise_for_status()
    _sync(wiring)
    identity = [e for e in _entries(wiring) if e.crn == "B203456" and e.section == "identity"]
    # original (superseded by the change), the change (superseded by the revert), the revert
    assert [e.status for e in identity] == ["superseded", "superseded", "pending"]


def test_failed_reads_go_to_the_retry_set_and_are_recovered(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    wiring = make_wiring(db_url, ndelius_url, http_attempts=2)
    local.post(
        f"{ndelius_url}/__admin/faults", json={"path": "/crn/B203456/", "status": 503, "count": 50}
    ).raise_for_status()
    result = _sync(wiring)
    assert result is not None
    assert result.cases_failed == 1
    assert "B203456" not in {e.crn for e in _entries(wiring)}
    with Session(wiring.engine) as s:
        item = s.get(RetryItem, "B203456")
        assert item is not None
        assert item.attempts == 1
        assert "503" in item.last_error
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "case.read_failed")).first()
        columns = set(item.model_dump())
    # One retry set for the sync, `visor-bridge retries` and the administrators' page.
    [row] = wiring.retries.all()
    assert (row.crn, row.attempts, row.needs_attention) == ("B203456", 1, False)
    assert set(row.to_dict()) == columns | {"needs_attention"}
    assert wiring.retries.counts() == RetryCounts(size=1, attention=0)
    assert (result.retry_set, result.retry_attention) == (1, 0)
    assert [r.crn for r in wiring.retries.due(row.next_attempt_at)] == ["B203456"]
    assert wiring.retries.due(row.next_attempt_at - timedelta(seconds=1)) == []
    alerting = RetrySet(wiring.engine, alert_attempts=1)
    assert [r.needs_attention for r in alerting.all()] == [True]
    assert alerting.counts() == RetryCounts(size=1, attention=1)

    local.delete(f"{ndelius_url}/__admin/faults").raise_for_status()
    again = _sync(wiring)
    assert again is not None
    assert again.cases_failed == 0
    assert {e.section for e in _entries(wiring) if e.crn == "B203456"} == {
        "identity",
        "addresses",
        "mappa",
        "risk",
        "registrations",
        "managing-officer",
        "activity",
    }
    with Session(wiring.engine) as s:
        assert s.get(RetryItem, "B203456") is None


def test_manager_no_longer_needing_a_proxy_supersedes_open_entries(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    wiring = make_wiring(sqlite_url, ndelius_url)
    _sync(wiring)
    doc = case_doc("B203456")
    for m in doc["offender"]["offenderManagers"]:
        if m.get("active"):
            m["staff"]["code"] = "N07A010"  # needs no proxy
    local.put(f"{ndelius_url}/__admin/cases/B203456", json=doc).raise_for_status()
    result = _sync(wiring)
    assert result is not None
    assert result.entries_created == 0
    states = {e.status for e in _entries(wiring) if e.crn == "B203456"}
    assert states == {"superseded"}
    reasons = {e.reason for e in _entries(wiring) if e.crn == "B203456"}
    assert reasons == {"out of scope: offender manager does not need a proxy"}


@pytest.mark.parametrize("crn", sorted(OUT_OF_SCOPE))
def test_out_of_scope_cases_never_queue(
    crn: str, sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    wiring = make_wiring(sqlite_url, ndelius_url)
    _sync(wiring)
    doc = case_doc(crn)
    doc["offender"]["title"] = "Mx"  # any change: an event for this case
    local.put(f"{ndelius_url}/__admin/cases/{crn}", json=doc).raise_for_status()
    _sync(wiring)
    assert crn not in {e.crn for e in _entries(wiring)}
