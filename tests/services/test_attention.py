"""The attention list: cases a person must look at join it from a sync read and leave it once
a later read resolves them; untakeable cases are listed with them (issue 13, item 3)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.errors import NotPermitted
from bridge.store.models import AuditEvent, RetryItem, Staff
from bridge.wiring import Wiring
from tests.builders import ADMIN, PROXY, PROXY_2, MakeWiring, case_doc, only_cases, sync_json
from tests.loopback import local

CRN = "B203456"
OFFENDER_ALL = f"/secure/offenders/crn/{CRN}/all"


def _listed(w: Wiring) -> dict[str, str]:
    return {row.crn: row.reason for row in w.admin.attention(actor=ADMIN)}


def _audited(w: Wiring, action: str) -> list[tuple[str | None, dict[str, Any]]]:
    with Session(w.engine) as s:
        rows = s.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
        return [(r.crn, dict(r.detail)) for r in rows]


def _two_open_managers(doc: dict[str, Any]) -> dict[str, Any]:
    """Two offender-manager records with no toDate and no `active` flag: no current officer."""
    first = doc["offender"]["offenderManagers"][0]
    first.pop("active", None)
    first.pop("toDate", None)
    second = copy.deepcopy(first)
    second["staff"]["code"] = "N02A099"
    doc["offender"]["offenderManagers"] = [first, second]
    return doc


def _put(ndelius_url: str, doc: dict[str, Any]) -> None:
    local.put(f"{ndelius_url}/__admin/cases/{CRN}", json=doc).raise_for_status()


def _fault(ndelius_url: str, **spec: Any) -> None:
    local.post(f"{ndelius_url}/__admin/faults", json={"path": OFFENDER_ALL, **spec})


def test_a_mappa_case_with_no_determinable_officer_joins_and_leaves_once_fixed(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    only_cases(ndelius_url, {CRN})
    w = make_wiring(db_url, ndelius_url)
    sync_json(w)
    assert _listed(w) == {}

    _put(ndelius_url, _two_open_managers(case_doc(CRN)))
    sync_json(w)
    rows = w.admin.attention(actor=ADMIN)
    assert [(r.crn, r.reason) for r in rows] == [(CRN, "officer_undetermined")]
    assert rows[0].since.tzinfo is not None
    assert _audited(w, "case.attention") == [(CRN, {"reason": "officer_undetermined"})]

    sync_json(w)  # read again, still undetermined: listed once, audited once
    _put(ndelius_url, _two_open_managers(case_doc(CRN)) | {"contacts": []})
    sync_json(w)
    assert _listed(w) == {CRN: "officer_undetermined"}
    assert len(_audited(w, "case.attention")) == 1

    _put(ndelius_url, case_doc(CRN))  # one manager marked active again
    sync_json(w)
    assert _listed(w) == {}
    assert _audited(w, "case.attention_cleared") == [(CRN, {"reason": "officer_undetermined"})]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"status": 403}, "refused"),
        ({"status": 404}, "not_found"),
        ({"status": 200, "body": "{not json"}, "unreadable"),
    ],
)
def test_a_read_failing_for_a_non_transient_reason_joins(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring, fault: dict[str, Any], reason: str
) -> None:
    only_cases(ndelius_url, {CRN})
    _fault(ndelius_url, **fault)
    w = make_wiring(sqlite_url, ndelius_url)
    result = sync_json(w)
    assert result["cases_failed"] == 1
    assert _listed(w) == {CRN: reason}
    with Session(w.engine) as s:
        assert s.get(RetryItem, CRN) is not None  # still read again, as every failure is

    local.delete(f"{ndelius_url}/__admin/faults").raise_for_status()
    _put(ndelius_url, case_doc(CRN))  # a change event: the case is read again, and reads
    sync_json(w)
    assert _listed(w) == {}


def test_a_transient_fault_does_not_join(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    only_cases(ndelius_url, {CRN})
    _fault(ndelius_url, status=503)
    w = make_wiring(sqlite_url, ndelius_url)
    assert sync_json(w)["cases_failed"] == 1
    assert _listed(w) == {}
    assert _audited(w, "case.attention") == []


def test_untakeable_cases_are_listed_and_only_administrators_see_the_list(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = make_wiring(db_url, ndelius_url, synced={"B203456", "F600218", "N480937"})
    assert _listed(w) == {}
    with Session(w.engine) as s:  # only N07P004 is a current proxy now
        staff = s.get(Staff, PROXY_2)
        assert staff is not None
        staff.vetting_expires = clock.now().date() - timedelta(days=1)
        s.add(staff)
        s.commit()
    rows = w.admin.attention(actor=ADMIN)
    assert {(r.crn, r.reason) for r in rows} == {
        ("F600218", "untakeable"),
        ("N480937", "untakeable"),
    }
    assert all(r.since.tzinfo is not None for r in rows)
    with pytest.raises(NotPermitted):
        w.admin.attention(actor=PROXY)
    assert _audited(w, "access.refused")[-1] == (None, {"action": "attention"})
