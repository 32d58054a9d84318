"""Activity entries follow nDelius contacts: one per contact, dropped or withdrawn when it goes."""

from __future__ import annotations

from sqlmodel import Session, select

from bridge.store.models import Baseline, Entry
from bridge.wiring import Wiring
from tests.builders import PROXY, MakeWiring, case_doc, only_cases, sync_json
from tests.loopback import local

CRN = "B203456"  # two ViSOR-flagged contacts, managed by an officer who needs a proxy


def _activity(wiring: Wiring) -> list[Entry]:
    with Session(wiring.engine) as s:
        stmt = select(Entry).where(Entry.crn == CRN, Entry.section == "activity")
        return list(s.exec(stmt.order_by(Entry.id)))


def _drop_contact(ndelius_url: str, contact_id: str) -> None:
    doc = case_doc(CRN)
    doc["contacts"] = [c for c in doc["contacts"] if str(c["id"]) != contact_id]
    local.put(f"{ndelius_url}/__admin/cases/{CRN}", json=doc).raise_for_status()


def test_each_flagged_contact_is_its_own_entry_keyed_by_contact_id(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    only_cases(ndelius_url, {CRN})
    wiring = make_wiring(db_url, ndelius_url)
    sync_json(wiring)
    flagged = sorted(
        str(c["id"])
        for c in case_doc(CRN)["contacts"]
        if c.get("visorContact") or c.get("visorExported")
    )
    entries = _activity(wiring)
    assert sorted(e.item_key for e in entries) == flagged
    assert {e.kind for e in entries} == {"activity"}
    # an edited note changes that contact's entry only
    doc = case_doc(CRN)
    target = next(c for c in doc["contacts"] if str(c["id"]) == flagged[0])
    target["notes"] = "Updated after the MAPPA meeting."
    local.put(f"{ndelius_url}/__admin/cases/{CRN}", json=doc).raise_for_status()
    result = sync_json(wiring)
    assert (result["entries_created"], result["entries_superseded"]) == (1, 1)
    pending = [e for e in _activity(wiring) if e.status == "pending"]
    assert sorted(e.item_key for e in pending) == flagged


def test_a_deleted_contact_supersedes_its_pending_entry(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    only_cases(ndelius_url, {CRN})
    wiring = make_wiring(db_url, ndelius_url)
    sync_json(wiring)
    gone = _activity(wiring)[0]
    _drop_contact(ndelius_url, gone.item_key)

    result = sync_json(wiring)
    assert (result["entries_created"], result["entries_superseded"]) == (0, 1)
    after = {e.id: e for e in _activity(wiring)}
    assert after[gone.id].status == "superseded"
    assert after[gone.id].reason == "contact deleted or no longer flagged for ViSOR in nDelius"
    assert [e.status for e in after.values() if e.id != gone.id] == ["pending"]


def test_a_deleted_contact_already_entered_asks_for_a_withdrawal_once(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    only_cases(ndelius_url, {CRN})
    wiring = make_wiring(db_url, ndelius_url)
    sync_json(wiring)
    entered = _activity(wiring)[0]
    assert entered.id is not None
    wiring.review.claim(entered.id, actor=PROXY)
    wiring.review.approve(entered.id, actor=PROXY)
    _drop_contact(ndelius_url, entered.item_key)

    result = sync_json(wiring)
    assert result["entries_created"] == 1
    withdrawal = _activity(wiring)[-1]
    assert (withdrawal.kind, withdrawal.item_key, withdrawal.status) == (
        "activity-withdrawn",
        entered.item_key,
        "pending",
    )
    assert withdrawal.xml is not None
    assert "<Kind>activity-withdrawn</Kind>" in withdrawal.xml
    assert not any(i["blocking"] for i in withdrawal.issues)
    assert withdrawal.diff
    assert all(change["after"] is None for change in withdrawal.diff)
    # asking again changes nothing while the withdrawal is open
    again = sync_json(wiring)
    assert (again["entries_created"], again["entries_superseded"]) == (0, 0)

    assert withdrawal.id is not None
    wiring.review.claim(withdrawal.id, actor=PROXY)
    wiring.review.approve(withdrawal.id, actor=PROXY)
    with Session(wiring.engine) as s:
        assert s.get(Baseline, (CRN, "activity", entered.item_key)) is None
    # once withdrawn from ViSOR, nothing more is asked
    last = sync_json(wiring)
    assert (last["entries_created"], last["entries_superseded"]) == (0, 0)
