"""Workload (issue 15): what each audited step of proxy work means as facts. Pure.

An audit event about an entry's claim, decision or entry becomes one or more `Op`s:
start an interval (`hold`: a proxy holds the entry; `await`: approved, waiting to be entered;
`entry`: the entry is in the queue), end one, or note a fact that happened at one instant
(`entered`, `returned`). `bridge.store.workfacts` applies them to the `workfact` table and the
weekly rollup, for live events and for the back-fill alike, so both give the same figures.

Handling time is the sum of the intervals a proxy held an entry (claim to release, expiry,
reassignment, supersession or decision), plus approval to "entered in ViSOR" when the same
proxy did both. Intervals are measured between aware UTC instants, so a claim that spans
midnight or a clock change in Europe/London counts its real length; it counts in the ISO week
(Europe/London) in which it ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bridge.core.audit_catalogue import AuditAction
from bridge.core.lifecycle import LONDON, State

__all__ = [
    "AWAIT",
    "ENTERED",
    "ENTRY",
    "HOLD",
    "INTERVALS",
    "RETURNED",
    "WORK_ACTIONS",
    "End",
    "Mark",
    "Op",
    "Start",
    "local_day",
    "ops_for",
    "week_of",
]

HOLD, AWAIT, ENTRY = "hold", "await", "entry"  # intervals
ENTERED, RETURNED = "entered", "returned"  # instants
INTERVALS = (HOLD, AWAIT, ENTRY)


@dataclass(frozen=True, slots=True)
class Start:
    """An interval of `kind` begins for `staff` (None for `entry`)."""

    kind: str
    staff: str | None


@dataclass(frozen=True, slots=True)
class End:
    """The open interval of `kind` ends, for the reason `ended`. For `await`, the time counts
    as handling only when `by` is the approver (`by=None`: a sink delivered it, none counts)."""

    kind: str
    ended: str
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    """A fact at one instant: `entered` or `returned` by `staff` (None: the approver)."""

    kind: str
    staff: str | None


Op = Start | End | Mark

_A = AuditAction
_CLAIMED, _APPROVED = State.CLAIMED.value, State.APPROVED.value
_REJECTED, _SUPERSEDED = State.REJECTED.value, State.SUPERSEDED.value
#: Fixed meanings; the claims that name a holder (`claim_joined`, `reassigned`) are below.
_FIXED: dict[str, list[Op]] = {
    _A.ENTRY_QUEUED: [Start(ENTRY, None)],
    _A.ENTRY_RELEASED: [End(HOLD, "released")],
    _A.ENTRY_CLAIM_EXPIRED: [End(HOLD, "expired")],
    _A.ENTRY_ACCEPTED: [End(AWAIT, "delivered"), Mark(ENTERED, None), End(ENTRY, ENTERED)],
    _A.ENTRY_SUPERSEDED: [End(HOLD, _SUPERSEDED), End(AWAIT, _SUPERSEDED), End(ENTRY, _SUPERSEDED)],
}
#: What each audited action means for the work (actions not here mean nothing for it).
WORK_ACTIONS = frozenset(
    {
        *_FIXED,
        _A.ENTRY_CLAIMED,
        _A.ENTRY_CLAIM_JOINED,
        _A.ENTRY_REASSIGNED,
        _A.ENTRY_APPROVED,
        _A.ENTRY_REJECTED,
        _A.ENTRY_ENTERED,
    }
)


def ops_for(action: str, actor: str, detail: Mapping[str, Any]) -> list[Op]:
    """The work `action` by `actor` (with its audit `detail`) means for its entry."""
    if action in _FIXED:
        return _FIXED[action]
    if action == _A.ENTRY_CLAIMED:
        return [End(HOLD, _CLAIMED), Start(HOLD, actor)]
    if action == _A.ENTRY_CLAIM_JOINED:
        return [Start(HOLD, str(detail.get("holder") or actor))]
    if action == _A.ENTRY_REASSIGNED:
        return [End(HOLD, "reassigned"), Start(HOLD, str(detail.get("to") or actor))]
    if action == _A.ENTRY_APPROVED:
        return [End(HOLD, _APPROVED), Start(AWAIT, actor)]
    if action == _A.ENTRY_REJECTED:
        return [End(HOLD, _REJECTED), Mark(RETURNED, actor), End(ENTRY, _REJECTED)]
    if action == _A.ENTRY_ENTERED:
        return [End(AWAIT, ENTERED, by=actor), Mark(ENTERED, actor), End(ENTRY, ENTERED)]
    return []


def local_day(at: datetime) -> date:
    """The date in Europe/London at the aware instant `at`."""
    return at.astimezone(LONDON).date()


def week_of(at: datetime | date) -> date:
    """The Monday of the ISO week (Europe/London) that `at` falls in."""
    day = local_day(at) if isinstance(at, datetime) else at
    return day - timedelta(days=day.weekday())
