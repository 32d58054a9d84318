"""The entry life cycle (ARCHITECTURE §3) and who may handle a case: one module, pure.

Every state, kind, section and role is spelled here once, as a `StrEnum` (a member *is* its
contract string, so it compares, hashes, serialises and stores as the plain word). The state sets,
the allowed transitions, the overdue rule and the "may this member of staff handle this case"
rule are data and functions over plain values: the store, the services, the web pages and the CLI
call these instead of repeating the words (tests/core/test_lifecycle_words.py keeps it so).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "ACCEPTED_VETTING",
    "BASELINE",
    "LONDON",
    "OPEN",
    "OPEN_SQL",
    "REMOVALS",
    "TERMINAL",
    "TRANSITIONS",
    "UNAPPROVED",
    "Action",
    "CaseAccess",
    "Kind",
    "Role",
    "RunStatus",
    "Section",
    "StaffFacts",
    "State",
    "allows",
    "case_allows",
    "has_current_vetting",
    "is_admin",
    "is_overdue",
    "local_date",
    "HIDDEN",
    "lists_allow",
    "may_handle",
    "needs_proxy_on",
    "state_after",
]


class State(StrEnum):
    """An entry's state (**contract**: the names)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    FAILED = "failed"


class Kind(StrEnum):
    """What an entry asks a proxy to do in ViSOR (**contract**)."""

    NOMINAL_CREATE = "nominal-create"
    NOMINAL_UPDATE = "nominal-update"
    ACTIVITY = "activity"
    ACTIVITY_WITHDRAWN = "activity-withdrawn"
    MAPPA_ENDED = "mappa-ended"


class Section(StrEnum):
    """The ViSOR record's sections (**contract**), in the order a proxy works through them."""

    IDENTITY = "identity"
    ALIASES = "aliases"
    ADDRESSES = "addresses"
    MAPPA = "mappa"
    RISK = "risk"
    REGISTRATIONS = "registrations"
    MANAGING_OFFICER = "managing-officer"
    ACTIVITY = "activity"


class Role(StrEnum):
    """A member of staff's roles in the registry."""

    PROXY = "proxy"
    OFFENDER_MANAGER = "offender_manager"
    MANAGER = "manager"
    ADMIN = "admin"


class RunStatus(StrEnum):
    """How a sync run ended (the `status` of `visor-bridge sync --json`)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    SKIPPED = "skipped"
    #: A sync run's own record only (`SyncRun.status`): asked to stop between pages, or found
    #: still marked running by the next run (it was killed).
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"


#: What a newer change supersedes: one of these per CRN + section (activity: per contact).
UNAPPROVED: frozenset[State] = frozenset({State.PENDING, State.CLAIMED})
#: A proxy or the delivery still owes something: the queue's default view, what can be overdue.
OPEN: frozenset[State] = frozenset({State.PENDING, State.CLAIMED, State.APPROVED, State.FAILED})
#: Nothing more happens to these.
TERMINAL: frozenset[State] = frozenset({State.ACCEPTED, State.REJECTED, State.SUPERSEDED})
#: Content a proxy has approved: the baseline the next change is compared with.
BASELINE: frozenset[State] = frozenset({State.APPROVED, State.SUBMITTED, State.ACCEPTED})
#: Kinds that take something out of ViSOR rather than put something in.
REMOVALS: frozenset[Kind] = frozenset({Kind.ACTIVITY_WITHDRAWN, Kind.MAPPA_ENDED})

#: The open set as SQL, word for word the condition of the partial index `ix_entry_waiting`
#: (SQLite uses a partial index only for an identical term). Sorted so it never drifts.
OPEN_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in State if s in OPEN))


class Action(StrEnum):
    """What moves an entry from one state to another."""

    CLAIM = "claim"
    RELEASE = "release"
    APPROVE = "approve"
    REJECT = "reject"
    SUBMIT = "submit"
    ACCEPT = "accept"
    FAIL = "fail"
    REQUEUE = "requeue"
    SUPERSEDE = "supersede"


#: The allowed transitions (ARCHITECTURE §3) as data: (from, action) → to. Release also covers a
#: claim's expiry; `accept` is the sink's acknowledgement or a proxy's `mark-entered`.
TRANSITIONS: Mapping[tuple[State, Action], State] = {
    (State.PENDING, Action.CLAIM): State.CLAIMED,
    (State.CLAIMED, Action.RELEASE): State.PENDING,
    (State.CLAIMED, Action.APPROVE): State.APPROVED,
    (State.CLAIMED, Action.REJECT): State.REJECTED,
    (State.APPROVED, Action.SUBMIT): State.SUBMITTED,
    (State.APPROVED, Action.ACCEPT): State.ACCEPTED,
    (State.SUBMITTED, Action.ACCEPT): State.ACCEPTED,
    (State.APPROVED, Action.FAIL): State.FAILED,
    (State.SUBMITTED, Action.FAIL): State.FAILED,
    (State.FAILED, Action.REQUEUE): State.APPROVED,
    (State.PENDING, Action.SUPERSEDE): State.SUPERSEDED,
    (State.CLAIMED, Action.SUPERSEDE): State.SUPERSEDED,
}


def allows(state: str, action: Action) -> bool:
    """May an entry in `state` take `action`?"""
    return (State(state), action) in TRANSITIONS


def state_after(state: str, action: Action) -> State:
    """The state `action` leads to; ValueError for a transition the life cycle does not have."""
    try:
        return TRANSITIONS[(State(state), action)]
    except KeyError:
        raise ValueError(f"an entry that is {state} cannot {action}") from None


#: The overdue rule and the dates people see use the calendar in England and Wales.
LONDON = ZoneInfo("Europe/London")


def local_date(now: datetime) -> date:
    """Today in England and Wales at the aware instant `now`."""
    return now.astimezone(LONDON).date()


def is_overdue(state: str, due: date | None, today: date) -> bool:
    """Open and today (Europe/London) is after its due date."""
    return due is not None and state in OPEN and today > due


# -- who may handle a case ------------------------------------------------------------------

#: Police vetting levels that allow ViSOR access (NPPV level 2 and above).
ACCEPTED_VETTING = frozenset({"NPPV2", "NPPV3"})


class StaffFacts(Protocol):
    """What the rules read of a member of staff (a `Staff` row satisfies it)."""

    @property
    def code(self) -> str: ...
    @property
    def roles(self) -> list[str]: ...
    @property
    def active(self) -> bool: ...
    @property
    def vetting_level(self) -> str | None: ...
    @property
    def vetting_expires(self) -> date | None: ...
    @property
    def needs_proxy_since(self) -> date | None: ...
    @property
    def needs_proxy_until(self) -> date | None: ...


class CaseAccess(Protocol):
    """What the rules read of a case (a `CaseState` row satisfies it)."""

    @property
    def on_behalf_of(self) -> str | None: ...
    @property
    def excluded_from(self) -> list[str]: ...
    @property
    def restricted_to(self) -> list[str]: ...


def has_current_vetting(staff: StaffFacts | None, today: date) -> bool:
    """An active proxy whose vetting is at an accepted level and has not expired today."""
    return (
        staff is not None
        and staff.active
        and Role.PROXY in staff.roles
        and staff.vetting_level in ACCEPTED_VETTING
        and staff.vetting_expires is not None
        and staff.vetting_expires >= today
    )


def _norm(code: str) -> str:
    return code.strip().upper()


#: The one entry of a hidden case's `restricted_to` (bridge.core.scope.read_access): it matches
#: nobody, not even a code spelt "*" (staff codes are letters and digits anyway).
HIDDEN = "*"


def lists_allow(code: str, excluded_from: Collection[str], restricted_to: Collection[str]) -> bool:
    """The case's access lists alone (everyone, officers too): not excluded, and not kept out
    by a non-empty restriction list. Codes compare trimmed and upper-cased; a hidden case's
    list (`bridge.core.scope.HIDDEN`) matches nobody."""
    who = _norm(code)
    if HIDDEN in restricted_to or who in {_norm(c) for c in excluded_from}:
        return False
    return not restricted_to or who in {_norm(c) for c in restricted_to}


def case_allows(
    code: str,
    on_behalf_of: str | None,
    excluded_from: Collection[str],
    restricted_to: Collection[str],
) -> bool:
    """The case's own part of the rule, over plain columns (for queries that read no rows):
    not excluded, not restricted away, not their own case. Staff codes compare trimmed and
    upper-cased, as nDelius's exclusion lists are not always in the registry's case."""
    if not lists_allow(code, excluded_from, restricted_to):
        return False
    return on_behalf_of is None or _norm(on_behalf_of) != _norm(code)


def may_handle(staff: StaffFacts | None, case: CaseAccess | None, today: date) -> bool:
    """The one rule: may this member of staff handle this case's ViSOR content today?

    Role (proxy), vetting current on `today` and not excluded and not restricted away and not the
    case they manage. A case the bridge holds no state for has no access lists to break.
    """
    if not has_current_vetting(staff, today):
        return False
    assert staff is not None
    if case is None:
        return True
    return case_allows(staff.code, case.on_behalf_of, case.excluded_from, case.restricted_to)


def is_admin(staff: StaffFacts | None) -> bool:
    return staff is not None and staff.active and Role.ADMIN in staff.roles


def needs_proxy_on(staff: StaffFacts, today: date) -> bool:
    """The offender manager needs a proxy on `today` (dates only; never why)."""
    since, until = staff.needs_proxy_since, staff.needs_proxy_until
    return (
        staff.active and since is not None and since <= today and (until is None or until >= today)
    )
