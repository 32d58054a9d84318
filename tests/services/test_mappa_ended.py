"""Deregistration: pending work is superseded; content already on ViSOR gets one mappa-ended entry."""

from __future__ import annotations

from sqlmodel import Session, select

from bridge.core.record import NS, section_of
from bridge.store.models import Baseline, Entry
from bridge.wiring import Wiring
from tests.builders import PROXY, MakeWiring, case_doc, only_cases, sync_json
from tests.loopback import local

CRN = "B203456"


def _entries(wiring: Wiring) -> list[Entry]:
    with Session(wiring.engine) as s:
        return list(s.exec(select(Entry).where(Entry.crn == CRN).order_by(Entry.id)))


def _deregister(ndelius_url: str) -> None:
    doc = case_doc(CRN)
    for registration in doc["registrations"]:
        if registration["type"]["code"] == "MAPP":
            registration.update(active=False, endDate="2026-11-20", deregisteringNotes="Ended")
    local.put(f"{ndelius_url}/__admin/cases/{CRN}", json=doc).raise_for_status()


def _approve(wiring: Wiring, entry: Entry) -> None:
    assert entry.id is not None
    wiring.review.claim(entry.id, actor=PROXY)
    wiring.review.approve(entry.id, actor=PROXY)


def test_deregistration_without_anything_on_visor_only_supersedes(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    only_cases(ndelius_url, {CRN})
    wiring = make_wiring(db_url, ndelius_url)
    sync_json(wiring)
    pending = len(_entries(wiring))
    _deregister(ndelius_url)

    result = sync_json(wiring)
    assert (result["entries_created"], result["entries_superseded"]) == (0, pending)
    reasons = {e.reason for e in _entries(wiring)}
    assert reasons == {"out of scope: no active MAPPA registration"}


def test_deregistration_after_entry_asks_once_to_end_mappa_on_visor(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    only_cases(ndelius_url, {CRN})
    wiring = make_wiring(db_url, ndelius_url)
    sync_json(wiring)
    mappa = next(e for e in _entries(wiring) if e.section == "mappa")
    _approve(wiring, mappa)
    others = [e for e in _entries(wiring) if e.status == "pending"]
    _deregister(ndelius_url)

    result = sync_json(wiring)
    assert (result["entries_created"], result["entries_superseded"]) == (1, len(others))
    ended = _entries(wiring)[-1]
    assert (ended.section, ended.kind, ended.status) == ("mappa", "mappa-ended", "pending")
    assert ended.on_behalf_of == "N02A003"
    assert not any(i["blocking"] for i in ended.issues)
    assert ended.xml is not None
    section = section_of(ended.xml)
    assert section.findtext(f"{{{NS}}}EndDate") == "2026-11-20"
    assert section.findtext(f"{{{NS}}}Category") == "3"

    again = sync_json(wiring)
    assert (again["entries_created"], again["entries_superseded"]) == (0, 0)

    _approve(wiring, ended)
    with Session(wiring.engine) as s:
        assert s.get(Baseline, (CRN, "mappa", "")) is None
    last = sync_json(wiring)
    assert (last["entries_created"], last["entries_superseded"]) == (0, 0)
