"""The entry life cycle and the one "may this member of staff handle this case" rule."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest

from bridge.core.lifecycle import (
    BASELINE,
    OPEN,
    OPEN_SQL,
    TERMINAL,
    TRANSITIONS,
    UNAPPROVED,
    Action,
    Kind,
    Section,
    State,
    allows,
    case_allows,
    has_current_vetting,
    is_admin,
    is_overdue,
    local_date,
    may_handle,
    needs_proxy_on,
    state_after,
)

TODAY = date(2026, 12, 3)


@dataclass(frozen=True)
class Person:
    code: str = "N07P004"
    roles: list[str] = field(default_factory=lambda: ["proxy"])
    active: bool = True
    vetting_level: str | None = "NPPV2"
    vetting_expires: date | None = date(2027, 6, 30)
    needs_proxy_since: date | None = None
    needs_proxy_until: date | None = None


@dataclass(frozen=True)
class Case:
    on_behalf_of: str | None = "N07A001"
    excluded_from: list[str] = field(default_factory=list)
    restricted_to: list[str] = field(default_factory=list)


def test_state_sets_are_the_contract() -> None:
    assert {s.value for s in UNAPPROVED} == {"pending", "claimed"}
    assert {s.value for s in OPEN} == {"pending", "claimed", "approved", "failed"}
    assert {s.value for s in TERMINAL} == {"accepted", "rejected", "superseded"}
    assert {s.value for s in BASELINE} == {"approved", "submitted", "accepted"}
    # Every state is open, terminal or in flight to ViSOR (submitted) — and only one of those.
    assert OPEN | TERMINAL | {State.SUBMITTED} == set(State)
    assert not OPEN & TERMINAL
    assert OPEN_SQL == "status IN ('pending', 'claimed', 'approved', 'failed')"


def test_contract_words() -> None:
    assert [s.value for s in Section] == [
        "identity", "aliases", "addresses", "mappa", "risk", "registrations",
        "managing-officer", "activity",
    ]  # fmt: skip
    assert {k.value for k in Kind} == {
        "nominal-create", "nominal-update", "activity", "activity-withdrawn", "mappa-ended",
    }  # fmt: skip
    assert State.PENDING == "pending"  # a member is its contract string


def test_terminal_states_allow_nothing_and_every_transition_is_reachable() -> None:
    for (state, _), to in TRANSITIONS.items():
        assert state not in TERMINAL
        assert to != state
    for state in TERMINAL:
        assert not any(allows(state, action) for action in Action)
    reached = {State.PENDING} | set(TRANSITIONS.values())
    assert reached == set(State)


def test_transitions_follow_the_diagram() -> None:
    assert state_after("pending", Action.CLAIM) is State.CLAIMED
    assert state_after("claimed", Action.RELEASE) is State.PENDING
    assert state_after("failed", Action.REQUEUE) is State.APPROVED
    assert not allows("pending", Action.APPROVE)  # claim first
    assert not allows("approved", Action.SUPERSEDE)  # only unapproved entries are superseded
    with pytest.raises(ValueError, match="an entry that is rejected cannot approve"):
        state_after("rejected", Action.APPROVE)


@pytest.mark.parametrize(
    ("state", "due", "today", "overdue"),
    [
        ("pending", date(2026, 12, 2), TODAY, True),
        ("failed", date(2026, 12, 2), TODAY, True),  # failed is open: delivery still owes it
        ("pending", TODAY, TODAY, False),  # due today is not yet overdue
        ("accepted", date(2026, 1, 1), TODAY, False),
        ("submitted", date(2026, 1, 1), TODAY, False),
        ("pending", None, TODAY, False),
    ],
)
def test_overdue(state: str, due: date | None, today: date, overdue: bool) -> None:
    assert is_overdue(state, due, today) is overdue


def test_today_is_the_date_in_london() -> None:
    # 23:30 UTC on a summer evening is already tomorrow in London.
    assert local_date(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == date(2026, 7, 2)
    assert local_date(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("person", "case", "allowed"),
    [
        (Person(), Case(), True),
        (Person(), None, True),
        (Person(roles=["offender_manager"]), Case(), False),
        (Person(active=False), Case(), False),
        (Person(vetting_level="NPPV1"), Case(), False),
        (Person(vetting_level=None), Case(), False),
        (Person(vetting_expires=date(2026, 12, 2)), Case(), False),
        (Person(vetting_expires=TODAY), Case(), True),  # valid through its last day
        (Person(vetting_expires=None), Case(), False),
        (Person(), Case(excluded_from=["N07P004"]), False),
        (Person(), Case(excluded_from=[" n07p004 "]), False),  # codes compare normalised
        (Person(), Case(restricted_to=["N07P009"]), False),
        (Person(), Case(restricted_to=["n07p004"]), True),
        (Person(), Case(on_behalf_of="N07P004"), False),  # never their own case
    ],
)
def test_may_handle(person: Person, case: Case | None, allowed: bool) -> None:
    assert may_handle(person, case, TODAY) is allowed


def test_no_staff_may_handle_nothing() -> None:
    assert not may_handle(None, Case(), TODAY)
    assert not has_current_vetting(None, TODAY)
    assert not is_admin(None)


def test_case_allows_reads_plain_columns() -> None:
    assert case_allows("N07P004", None, [], [])
    assert not case_allows("N07P004", "n07p004", [], [])


def test_admin_and_needing_a_proxy() -> None:
    admin = Person(roles=["admin"])
    assert is_admin(admin)
    assert not is_admin(replace(admin, active=False))
    om = Person(roles=["offender_manager"], needs_proxy_since=date(2026, 1, 1))
    assert needs_proxy_on(om, TODAY)
    assert not needs_proxy_on(replace(om, needs_proxy_until=date(2026, 12, 2)), TODAY)
    assert not needs_proxy_on(replace(om, needs_proxy_since=date(2026, 12, 4)), TODAY)
