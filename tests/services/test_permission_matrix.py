"""The permission matrix, extended (issue 18): the attention list, the two-person rule and
former officers. Each table says who may, and everyone else is refused with one message."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.core.staff_input import StaffInput
from bridge.errors import NotPermitted, WrongState
from bridge.store.db import session_scope
from bridge.store.models import CaseState, Entry, Staff
from bridge.wiring import Wiring
from tests.builders import ADMIN, EXPIRED_PROXY, MANAGER, PROXY, PROXY_2, MakeWiring

CRN = "G719053"  # managed by MANAGER (N07A001)
ADMIN_2, ADMIN_3 = "ADM0002", "ADM0003"
NEW_OFFICER = "N07A002"
EVERYONE = [ADMIN, ADMIN_2, PROXY, PROXY_2, EXPIRED_PROXY, MANAGER, NEW_OFFICER, "NOBODY1"]


@pytest.fixture
def w(db_url: str, ndelius_url: str, make_wiring: MakeWiring) -> Wiring:
    wiring = make_wiring(db_url, ndelius_url, synced={CRN})
    with session_scope(wiring.engine) as s:  # two more administrators, as an operator adds them
        for code in (ADMIN_2, ADMIN_3):
            s.add(Staff(code=code, name=code, roles=["admin"], updated_at=wiring.clock.now()))
    return wiring


def _allowed(call: Any) -> bool:
    try:
        call()
    except NotPermitted:
        return False
    return True


def test_only_administrators_see_the_attention_list(w: Wiring) -> None:
    may = {a for a in EVERYONE if _allowed(lambda a=a: w.admin.attention(actor=a))}
    assert may == {ADMIN, ADMIN_2}


@pytest.mark.parametrize("hidden", ["excluded", "restricted", "unclear"])
def test_a_limited_case_refuses_everyone_it_names_out(w: Wiring, hidden: str) -> None:
    """Proxies' actions and the officer's status: the lists apply to every role."""
    lists = {
        "excluded": {"excluded_from": [PROXY, MANAGER]},
        "restricted": {"restricted_to": [PROXY_2]},
        "unclear": {"restricted_to": ["*"]},  # what read_access stores for an unclear case
    }[hidden]
    with session_scope(w.engine) as s:
        row = s.get(CaseState, CRN)
        assert row is not None
        for key, value in lists.items():
            setattr(row, key, value)
        s.add(row)
    entry_id = next(r.id for r in w.queue.listing() if r.crn == CRN)
    shows = {a for a in EVERYONE if _allowed(lambda a=a: w.review.show(entry_id, actor=a))}
    status = {a for a in EVERYONE if _allowed(lambda a=a: w.status.case(CRN, actor=a))}
    expected_show = {"excluded": {PROXY_2}, "restricted": {PROXY_2}, "unclear": set()}[hidden]
    assert shows == expected_show
    assert status == set()  # the officer is excluded, not listed, or nobody is


def test_the_two_person_rule_matrix(w: Wiring, subtests: pytest.Subtests) -> None:
    """Who may approve a request ADMIN made to make ADMIN_2 a proxy: another administrator
    who is neither its requester nor the person it is for; nobody else."""
    value = StaffInput(
        code=ADMIN_2,
        name=ADMIN_2,
        roles=("admin", "proxy"),
        vetting_level="NPPV2",
        vetting_expires="2027-12-31",
    )
    change = w.admin.edit_staff(ADMIN_2, value, actor=ADMIN)
    assert change.request is not None
    for actor in EVERYONE:
        with subtests.test(approver=actor), pytest.raises(NotPermitted):
            w.privilege.approve(change.request, actor=actor)
    with session_scope(w.engine) as s:
        person = s.get(Staff, ADMIN_2)
        assert person is not None
        assert person.roles == ["admin"]
    assert w.privilege.approve(change.request, actor=ADMIN_3).outcome == "granted"
    with pytest.raises(WrongState):
        w.privilege.approve(change.request, actor=ADMIN_3)  # decided once
    with session_scope(w.engine) as s:
        person = s.get(Staff, ADMIN_2)
        assert person is not None
        assert person.roles == ["admin", "proxy"]


def test_former_officers_matrix(w: Wiring) -> None:
    """After a transfer: the new officer sees every entry, the former officer only theirs, and
    nobody else anything; excluded, the former officer sees nothing."""
    ids = [r.id for r in w.queue.listing() if r.crn == CRN]
    with session_scope(w.engine) as s:
        for entry_id in ids[1:]:
            entry = s.get(Entry, entry_id)
            assert entry is not None
            entry.on_behalf_of = NEW_OFFICER
            s.add(entry)
        row = s.get(CaseState, CRN)
        assert row is not None
        row.on_behalf_of = NEW_OFFICER
        s.add(row)

    def seen(actor: str) -> list[int] | None:
        try:
            return [e.id for e in w.status.case(CRN, actor=actor).entries]
        except NotPermitted:
            return None

    assert {a: seen(a) for a in EVERYONE} == {
        ADMIN: None, ADMIN_2: None, PROXY: None, PROXY_2: None, EXPIRED_PROXY: None,
        MANAGER: ids[:1], NEW_OFFICER: ids, "NOBODY1": None,
    }  # fmt: skip
    with session_scope(w.engine) as s:
        row = s.get(CaseState, CRN)
        assert row is not None
        row.excluded_from = [MANAGER.lower()]
        s.add(row)
    assert seen(MANAGER) is None
    assert seen(NEW_OFFICER) == ids
