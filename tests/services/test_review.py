"""The proxy's review flow and its permission rules, after a real sync, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bridge.audit import verify_chain
from bridge.clock import FixedClock
from bridge.errors import BadInput, NotPermitted, VersionConflict, WrongState
from bridge.services.review import ReviewService
from bridge.services.views import EntrySummary, jsonable
from bridge.store.models import AuditEvent, Entry
from bridge.wiring import Wiring
from tests.builders import (
    ADMIN,
    EXPIRED_PROXY,
    MANAGER,
    PROXY,
    PROXY_2,
    MakeWiring,
)

UNKNOWN = "ZZZ9999"
DAY = 24 * 60 * 60


#: The cases these tests work on: plain (B203456), blocking issue (C318820), excluded
#: proxy (F600218), Unicode (G719053) and restricted (N480937). The others are removed from
#: the simulator before the first sync, which keeps each test's real sync short.
KEEP = {"B203456", "C318820", "F600218", "G719053", "N480937"}


def _synced(make_wiring: MakeWiring, db_url: str, ndelius_url: str) -> Wiring:
    """A seeded wiring as after one real first sync over the KEEP cases (the template's)."""
    w = make_wiring(db_url, ndelius_url, synced=KEEP)
    assert {r.crn for r in w.queue.listing()} == KEEP
    return w


def _entry_id(w: Wiring, crn: str, section: str) -> int:
    ids = [r.id for r in w.queue.listing() if (r.crn, r.section) == (crn, section)]
    assert len(ids) == 1, (crn, section, ids)
    return int(ids[0])


def _events(w: Wiring, action: str) -> list[AuditEvent]:
    with Session(w.engine) as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            )
        )


def _chain_is_intact(w: Wiring) -> bool:
    with Session(w.engine) as s:
        return verify_chain(s) is None


def test_claim_show_approve_and_mark_entered_then_the_manager_sees_it_accepted(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _entry_id(w, "G719053", "identity")  # managed by N07A001

    claimed = w.review.claim(entry_id, actor=PROXY)
    assert (claimed.status, claimed.id) == ("claimed", entry_id)
    assert w.review.claim(entry_id, actor=PROXY).status == "claimed"  # idempotent for the holder

    shown = w.review.show(entry_id, actor=PROXY)
    assert shown.status == "claimed"
    assert shown.version == 1
    assert "Siobhán" in (shown.xml or "")
    assert shown.issues == []
    assert {d["path"] for d in shown.diff} >= {"Surname", "Forename", "DateOfBirth"}
    assert [h.action for h in shown.history] == [
        "entry.queued",
        "entry.claimed",
        "entry.viewed",
    ]

    approved = w.review.approve(entry_id, actor=PROXY, version=1)
    assert approved.status == "approved"
    with pytest.raises(WrongState):
        w.review.approve(entry_id, actor=PROXY)  # no longer claimed

    with pytest.raises(BadInput):
        w.review.mark_entered(entry_id, actor=PROXY, reference=None)
    with pytest.raises(BadInput):
        w.review.mark_entered(entry_id, actor=PROXY, reference="VIS 1")
    with pytest.raises(BadInput):
        w.review.mark_entered(
            entry_id, actor=PROXY, reference="VIS-000123", on=clock.now().date() + timedelta(days=1)
        )
    entered = w.review.mark_entered(entry_id, actor=PROXY, reference="VIS-000123")
    assert entered.status == "accepted"
    assert w.review.show(entry_id, actor=PROXY).visor_reference == "VIS-000123"

    status = jsonable(w.status.case("G719053", actor=MANAGER))
    row = next(e for e in status["entries"] if e["id"] == entry_id)
    assert row["status"] == "accepted"
    assert row["entered_at"] == clock.now().date().isoformat()
    assert row["reason"] is None
    others = [e for e in status["entries"] if e["id"] != entry_id]
    assert others
    assert {e["status"] for e in others} == {"pending"}
    assert all(e["entered_at"] is None for e in others)

    actions = [e.action for e in _events(w, "entry.approved") + _events(w, "entry.entered")]
    assert actions == ["entry.approved", "entry.entered"]
    assert _chain_is_intact(w)


def test_approve_is_refused_while_a_blocking_issue_exists(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _entry_id(w, "C318820", "mappa")  # MAPPA category X9
    w.review.claim(entry_id, actor=PROXY)
    issues = w.review.show(entry_id, actor=PROXY).issues
    assert {(i["code"], i["path"], i["blocking"]) for i in issues} == {
        ("unknown-code", "mappa/Category", True)
    }
    with pytest.raises(WrongState, match="blocking issues"):
        w.review.approve(entry_id, actor=PROXY)
    row = next(r for r in w.queue.listing() if r.id == entry_id).listed()
    assert row["status"] == "claimed"
    assert _events(w, "entry.approved") == []


def test_reject_needs_a_reason_and_the_manager_sees_it(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _entry_id(w, "C318820", "mappa")  # managed by N07A002
    w.review.claim(entry_id, actor=PROXY)
    for reason in (None, "", "   "):
        with pytest.raises(BadInput):
            w.review.reject(entry_id, actor=PROXY, reason=reason)
    assert next(r for r in w.queue.listing() if r.id == entry_id).status == "claimed"

    reason = "MAPPA category is X9 in nDelius; please screen the case and set 1-4."
    assert w.review.reject(entry_id, actor=PROXY, reason=f"  {reason} ").status == "rejected"
    status = jsonable(w.status.case("C318820", actor="N07A002"))
    row = next(e for e in status["entries"] if e["id"] == entry_id)
    assert (row["status"], row["reason"]) == ("rejected", reason)
    with pytest.raises(WrongState):
        w.review.claim(entry_id, actor=PROXY)  # rejected is terminal


REFUSED_ACTORS = {
    "expired proxy": EXPIRED_PROXY,
    "offender manager without the proxy role": MANAGER,
    "admin": ADMIN,
    "unknown staff code": UNKNOWN,
}


def _act(w: Wiring, action: str, entry_id: int, actor: str) -> EntrySummary | None:
    if action == "show":
        return w.review.show(entry_id, actor=actor)
    if action == "claim":
        return w.review.claim(entry_id, actor=actor)
    if action == "edit":
        return w.editing.edit(entry_id, actor=actor, version=1, changes={"Surname": "Docherty"})
    if action == "reject":
        return w.review.reject(entry_id, actor=actor, reason="Not this person")
    if action == "release":
        return w.review.release(entry_id, actor=actor)
    return w.review.approve(entry_id, actor=actor)


#: What each permitted action leaves the entry as.
_AFTER = {
    "show": "pending",
    "claim": "claimed",
    "approve": "approved",
    "edit": "claimed",
    "reject": "rejected",
    "release": "pending",
}


@pytest.mark.parametrize("action", list(_AFTER))
def test_permission_matrix_only_a_currently_vetted_proxy_may_act(
    action: str,
    db_url: str,
    ndelius_url: str,
    make_wiring: MakeWiring,
    subtests: pytest.Subtests,
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _entry_id(w, "B203456", "identity")
    if action not in ("show", "claim"):
        w.review.claim(entry_id, actor=PROXY)  # so only permission can stop the others
    refusals_before = len(_events(w, "access.refused"))

    for label, actor in REFUSED_ACTORS.items():
        with subtests.test(actor=label):
            with pytest.raises(NotPermitted) as refused:
                _act(w, action, entry_id, actor)
            assert str(refused.value) == NotPermitted.MESSAGE
    # the refusals changed nothing and were each audited
    assert next(r for r in w.queue.listing() if r.id == entry_id).status == (
        "pending" if action in ("show", "claim") else "claimed"
    )
    assert len(_events(w, "access.refused")) == refusals_before + len(REFUSED_ACTORS)

    with subtests.test(actor="current proxy"):
        result = _act(w, action, entry_id, PROXY)
        assert result is not None
        assert result.status == _AFTER[action]


@pytest.mark.parametrize("action", ["show", "claim"])
def test_limited_access_cases_refuse_the_excluded_or_unlisted_proxy(
    action: str, db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    excluded = _entry_id(w, "F600218", "identity")  # excludedFrom lists N07P004
    restricted = _entry_id(w, "N480937", "identity")  # restrictedTo N07A001, N07P005, N07A050
    messages = set()
    for entry_id in (excluded, restricted):
        with pytest.raises(NotPermitted) as refused:
            _act(w, action, entry_id, PROXY)
        messages.add(str(refused.value))
    # the same message as for an entry that does not exist at all
    with pytest.raises(NotPermitted) as missing:
        _act(w, action, 999_999, PROXY)
    messages.add(str(missing.value))
    assert messages == {NotPermitted.MESSAGE}

    # N07P005 is on N480937's list and not excluded from F600218
    for entry_id in (excluded, restricted):
        assert _act(w, action, entry_id, PROXY_2) is not None


def test_vetting_that_expires_between_claim_and_approve_stops_the_approval(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _entry_id(w, "B203456", "identity")
    w.review.claim(entry_id, actor=PROXY)
    # the fixture staff file gives N07P004 a year's vetting from the clock's date
    clock.advance(365 * DAY)
    w.review.show(entry_id, actor=PROXY)  # the last day of vetting still counts
    clock.advance(DAY)
    with pytest.raises(NotPermitted):
        w.review.approve(entry_id, actor=PROXY)
    with pytest.raises(NotPermitted):
        w.review.claim_next(actor=PROXY)
    assert next(r for r in w.queue.listing() if r.id == entry_id).status == "claimed"
    assert _events(w, "entry.approved") == []
    refused = _events(w, "access.refused")[-1]
    assert (refused.actor, refused.entry_id, refused.detail) == (
        PROXY,
        entry_id,
        {"action": "approve"},
    )


def test_claim_next_takes_the_earliest_due_entry_the_proxy_may_take(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    # make F600218's and N480937's entries the most urgent in the queue
    urgent = {"F600218", "N480937"}
    with Session(w.engine) as s:
        for entry in s.exec(select(Entry).where(col(Entry.crn).in_(urgent))):
            entry.due_date = date(2026, 11, 1)
            s.add(entry)
        s.commit()

    def queue_order(allowed: set[str] | None) -> list[dict[str, Any]]:
        rows = [
            r.listed()
            for r in w.queue.listing("pending")
            if allowed is None or r.crn not in allowed
        ]
        return sorted(rows, key=lambda r: (r["due_date"], r["id"]))

    expected = queue_order(urgent)[0]  # N07P004 may take neither urgent case
    got = w.review.claim_next(actor=PROXY)
    assert got is not None
    assert got.crn not in urgent
    assert (got.id, got.status) == (expected["id"], "claimed")

    expected_2 = queue_order(None)[0]
    assert expected_2["crn"] in urgent
    got_2 = w.review.claim_next(actor=PROXY_2)
    assert got_2 is not None
    assert got_2.id == expected_2["id"]

    with pytest.raises(NotPermitted):
        w.review.claim_next(actor=EXPIRED_PROXY)
    with pytest.raises(NotPermitted):
        w.review.claim_next(actor=MANAGER)


def test_claim_next_pages_past_many_entries_it_may_not_take(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, sqlite_url, ndelius_url)
    with Session(w.engine) as s:
        for entry in s.exec(select(Entry).where(Entry.crn == "F600218")):
            entry.due_date = date(2026, 11, 1)
            s.add(entry)
        s.commit()
    tiny_batches = ReviewService(engine=w.engine, clock=clock, claim_batch=1)
    got = tiny_batches.claim_next(actor=PROXY)
    assert got is not None
    assert got.crn != "F600218"


def test_two_proxies_cannot_both_claim_one_entry(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _entry_id(w, "B203456", "identity")
    w.review.claim(entry_id, actor=PROXY)
    with pytest.raises(WrongState):
        w.review.claim(entry_id, actor=PROXY_2)
    with pytest.raises(WrongState):
        w.review.approve(entry_id, actor=PROXY_2)
    with pytest.raises(WrongState):
        w.review.release(entry_id, actor=PROXY_2)
    assert w.review.show(entry_id, actor=PROXY_2).status == "claimed"  # viewing needs no claim
    assert len(_events(w, "entry.claimed")) == 1
    # released, the other proxy may take it
    assert w.review.release(entry_id, actor=PROXY).status == "pending"
    assert w.review.claim(entry_id, actor=PROXY_2).status == "claimed"


def test_a_stale_version_is_a_conflict(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _entry_id(w, "B203456", "identity")
    w.review.claim(entry_id, actor=PROXY)
    with pytest.raises(VersionConflict):
        w.review.approve(entry_id, actor=PROXY, version=99)
    assert w.review.show(entry_id, actor=PROXY).status == "claimed"
    assert w.review.approve(entry_id, actor=PROXY, version=1).status == "approved"


def test_views_and_refusals_are_audited_and_the_chain_verifies(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _entry_id(w, "B203456", "identity")
    w.review.show(entry_id, actor=PROXY)
    w.review.show(entry_id, actor=PROXY_2)
    w.review.show(entry_id, actor=PROXY)
    viewed = _events(w, "entry.viewed")
    assert [(e.actor, e.entry_id, e.crn, e.category) for e in viewed] == [
        (PROXY, entry_id, "B203456", "consultation"),
        (PROXY_2, entry_id, "B203456", "consultation"),
        (PROXY, entry_id, "B203456", "consultation"),
    ]
    # no purpose given: the service's fixed one, never nothing (entrypoints pass their own)
    assert all(e.detail == {"version": 1, "purpose": "unstated"} for e in viewed)

    with pytest.raises(NotPermitted):
        w.review.show(entry_id, actor=MANAGER)
    with pytest.raises(NotPermitted):
        w.review.show(424_242, actor=PROXY)
    refused = _events(w, "access.refused")
    assert [(e.actor, e.entry_id, e.category, e.detail) for e in refused] == [
        (MANAGER, entry_id, "consultation", {"action": "view"}),
        (PROXY, 424_242, "consultation", {"action": "view"}),
    ]
    assert all(e.crn is None for e in refused)  # a refusal does not reveal the case
    assert len(_events(w, "entry.viewed")) == 3  # a refused view is not a view
    assert _chain_is_intact(w)


def test_entered_dates_are_the_london_day_after_midnight_in_summer(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    """00:30 on 1 July in London is 23:30 on 30 June in UTC: the proxy entered it on 1 July."""
    w = _synced(make_wiring, db_url, ndelius_url)
    ids = [r.id for r in w.queue.listing() if r.crn == "G719053" and not r.issues][:2]
    assert len(ids) == 2
    for entry_id in ids:
        w.review.claim(entry_id, actor=PROXY)
        w.review.approve(entry_id, actor=PROXY, version=1)
    clock.current = datetime(2027, 6, 30, 23, 30, tzinfo=UTC)
    london_day = date(2027, 7, 1)

    explicit = w.review.mark_entered(ids[0], actor=PROXY, reference="VIS-000201", on=london_day)
    default = w.review.mark_entered(ids[1], actor=PROXY, reference="VIS-000202")

    assert (explicit.status, default.status) == ("accepted", "accepted")
    entered = {e.id: e.entered_at for e in w.status.case("G719053", actor=MANAGER).entries}
    assert entered[ids[0]] == entered[ids[1]] == london_day
