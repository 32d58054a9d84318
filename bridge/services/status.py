"""What an offender manager may see about their cases: states, dates and reasons — never content.

One view of a case serves `visor-bridge status`, GET /api/cases/{crn}/status and the case
page, with one rule (ARCHITECTURE §6, docs/data-protection.md "Who sees what"): an active offender
manager whom the case's access lists do not keep out (exclusion, restriction, a hidden case)
sees it, and
- the case's current officer (`CaseState.on_behalf_of`) sees every entry of it;
- a former officer sees only the entries made on their behalf (never the new officer's
  entries, nor the reasons given on them).
Proxies and administrators are refused like anyone else. Reasons are shown only for returned
(`rejected`) and `superseded` entries: a `failed` entry's reason comes from the sink and stays
with the proxies and administrators.

The queries here select only metadata columns (never `xml`, `diff` or `issues`), so record
content does not even leave the database for these views. Every view is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record, record_refusal
from bridge.clock import Clock
from bridge.core.audit_events import cases_listed, status_viewed
from bridge.core.failure_text import reason_for
from bridge.core.ids import possible_crn
from bridge.core.lifecycle import (
    OPEN,
    Role,
    StaffFacts,
    State,
    is_overdue,
    lists_allow,
    local_date,
)
from bridge.errors import NotPermitted
from bridge.services.views import CasePage, CaseStatus, CaseSummary, StatusEntry
from bridge.store import entries as q
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, CaseState, Entry, Staff

__all__ = ["REASONED", "StatusService"]

#: The states whose reason an offender manager sees (a return, or why it was superseded).
REASONED = frozenset({State.REJECTED, State.SUPERSEDED})
_REFUSED = "Not permitted: no such case, or you may not see it."
_OPEN_STATES = frozenset(s.value for s in OPEN)


def _is_manager(staff: StaffFacts | None) -> bool:
    return staff is not None and staff.active and Role.OFFENDER_MANAGER in staff.roles


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.strip().upper() == b.strip().upper()


def _lists_allow(actor: str, case: CaseState | None) -> bool:
    """The case's access lists let `actor` see it (no state held: no lists to keep them out)."""
    return case is None or lists_allow(actor, case.excluded_from, case.restricted_to)


class StatusService:
    """The offender manager's views of their cases."""

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def case(self, crn: str, *, actor: str) -> CaseStatus:
        """The case's entries (oldest first) for the officer who manages it, audited as a
        consultation; anyone else, and a case with no entries, get one audited refusal."""
        return self.case_page(crn, actor=actor).status

    def case_page(self, crn: str, *, actor: str) -> CasePage:
        """`case`, with which entries are overdue and which returns a newer entry replaced
        (a return stays in the history; the page says it is dealt with)."""
        now = self._clock.now()
        if not possible_crn(crn):  # a CRN that cannot exist: refused as an unknown one
            record_refusal(self._engine, actor, "status", at=now)
            raise NotPermitted(_REFUSED)
        with session_scope(self._engine) as s:
            staff = s.get(Staff, actor)
            case_row = q.case_state(s, crn)
            rows = (
                s.connection()
                .execute(
                    sql_select(
                        col(Entry.id),
                        col(Entry.section),
                        col(Entry.kind),
                        col(Entry.status),
                        col(Entry.created_at),
                        col(Entry.due_date),
                        col(Entry.entered_at),
                        col(Entry.reason),
                        col(Entry.on_behalf_of),
                        col(Entry.item_key),
                    )
                    .where(col(Entry.crn) == crn)
                    .order_by(col(Entry.id))
                )
                .all()
            )
            replaced = _replaced(rows)
            current = case_row is not None and _same(case_row.on_behalf_of, actor)
            if not (_is_manager(staff) and _lists_allow(actor, case_row)):
                rows = []
            elif not current:  # a former officer: their own entries' states only
                rows = [row for row in rows if _same(row.on_behalf_of, actor)]
            if rows:
                record(s, status_viewed(actor, crn), at=now)
                today = local_date(now)
                status = CaseStatus(
                    crn=crn,
                    entries=[
                        StatusEntry(
                            id=row.id,
                            section=row.section,
                            kind=row.kind,
                            status=row.status,
                            created_at=row.created_at,
                            due_date=_as_date(row.due_date) or row.due_date,
                            entered_at=_as_date(row.entered_at),
                            reason=reason_for(row.status, row.reason, proxy=False, shown=REASONED),
                        )
                        for row in rows
                    ],
                )
                return CasePage(
                    status=status,
                    overdue=frozenset(
                        r.id for r in rows if is_overdue(r.status, _as_date(r.due_date), today)
                    ),
                    replaced=frozenset(r.id for r in rows if r.id in replaced),
                )
        record_refusal(self._engine, actor, "status", at=now)
        raise NotPermitted(_REFUSED)

    def my_cases(self, *, actor: str) -> list[CaseSummary]:
        """One row per CRN with entries on `actor`'s behalf: counts by state, last entry date,
        and the newest return's reason. The list is a consultation of those cases, audited
        with their CRNs only."""
        now = self._clock.now()
        with session_scope(self._engine) as s:
            if _is_manager(s.get(Staff, actor)):
                out = _summaries(s, actor, local_date(now))
                states = q.case_states(s, {row.crn for row in out})
                out = [row for row in out if _lists_allow(actor, states.get(row.crn))]
                crns = [row.crn for row in out]
                record(
                    s,
                    cases_listed(actor, crns=crns),
                    at=now,
                )
                return out
        record_refusal(self._engine, actor, "cases", at=now)
        raise NotPermitted("Not permitted: only an offender manager has a list of cases.")


def _replaced(rows: Sequence[Any]) -> set[int]:
    """Returned entries with a newer entry for the same section (and contact) of the case."""
    newest: dict[tuple[str, str, str], int] = {}
    for row in rows:
        key = (getattr(row, "crn", ""), row.section, row.item_key)
        newest[key] = max(newest.get(key, 0), row.id)
    return {
        row.id
        for row in rows
        if row.status == State.REJECTED
        and newest[(getattr(row, "crn", ""), row.section, row.item_key)] > row.id
    }


def _summaries(s: Session, actor: str, today: date) -> list[CaseSummary]:
    """Counts per case from the officer's entries' metadata (states, dates; never content)."""
    rows = (
        s.connection()
        .execute(
            sql_select(
                col(Entry.id),
                col(Entry.crn),
                col(Entry.section),
                col(Entry.item_key),
                col(Entry.status),
                col(Entry.due_date),
                col(Entry.entered_at),
                col(Entry.reason),
                col(Entry.updated_at),
            )
            .where(col(Entry.on_behalf_of) == actor)  # ix_entry_on_behalf_of
            .order_by(col(Entry.id))
        )
        .all()
    )
    replaced = _replaced(rows)
    returns = [r for r in rows if r.status == State.REJECTED and r.id not in replaced]
    opened = _opened(s, actor, {r.crn for r in returns})
    by_crn: dict[str, list[Any]] = {}
    for row in rows:
        by_crn.setdefault(row.crn, []).append(row)
    out = []
    for crn, mine in sorted(by_crn.items()):
        open_dues = [_as_date(r.due_date) for r in mine if r.status in _OPEN_STATES]
        entered = [d for r in mine if (d := _as_date(r.entered_at)) is not None]
        back = [r for r in returns if r.crn == crn]
        seen = opened.get(crn)
        out.append(
            CaseSummary(
                crn=crn,
                waiting=sum(1 for r in mine if r.status == State.PENDING),
                with_proxy=sum(1 for r in mine if r.status == State.CLAIMED),
                returned=len(back),
                entered_on=max(entered) if entered else None,
                latest_reason=back[-1].reason if back else None,
                overdue=sum(1 for d in open_dues if d is not None and d < today),
                next_due=min((d for d in open_dues if d is not None), default=None),
                unopened=sum(
                    1 for r in back if seen is None or _aware(seen) < _aware(r.updated_at)
                ),
            )
        )
    return out


def _opened(s: Session, actor: str, crns: set[str]) -> dict[str, datetime]:
    """When `actor` last opened each case's page (its audited consultation)."""
    if not crns:
        return {}
    rows = s.exec(
        select(AuditEvent.crn, func.max(AuditEvent.at))
        .where(
            AuditEvent.actor == actor,
            AuditEvent.action == status_viewed(actor, "").action,
            col(AuditEvent.crn).in_(sorted(crns)),
        )
        .group_by(col(AuditEvent.crn))
    ).all()
    return {crn: at for crn, at in rows if crn is not None and at is not None}


def _aware(value: datetime | str) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _as_date(value: date | datetime | str | None) -> date | None:
    """Dates as dates on both databases (an aggregate may come back as text on SQLite)."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(value[:10])
