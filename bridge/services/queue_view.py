"""The proxy's queue as pages: filters, search by CRN, pagination, only cases they may handle.

Shared by the queue page and GET /api/queue, so both apply the same rules. Metadata only:
never record content (the record's XML and diff are not even read).

Built to stay fast with hundreds of thousands of entries: the total and the page's ids are read
from one covering index in due order (`ix_entry_waiting`, a partial index of waiting work, or
`ix_entry_status_queue` for one chosen state), then only the page's rows. Cases hidden from the
proxy — their own, and those whose exclusion or restriction list keeps them out, judged by the
one rule in `bridge.core.lifecycle` — are kept out of both by CRN in SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import Text, cast, func, literal_column, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlmodel import Session, col

from bridge.clock import Clock
from bridge.core.lifecycle import (
    OPEN,
    OPEN_SQL,
    Kind,
    State,
    case_allows,
    has_current_vetting,
    is_overdue,
    local_date,
)
from bridge.errors import NotPermitted
from bridge.services.views import QueueRow
from bridge.store.models import ACCESS_LIST_SQL, CaseState, Entry, Staff

__all__ = ["DUE_FILTERS", "KINDS", "STATES", "WAITING", "QueueFilters", "QueuePage", "QueueService"]

Due = Literal["overdue", "today", "week"]
DUE_FILTERS: tuple[Due, ...] = ("overdue", "today", "week")
#: States in which an entry still waits for a proxy: the queue's default, and what can be overdue.
WAITING = tuple(s.value for s in State if s in OPEN)
#: Every entry state (contract), in life-cycle order.
STATES = tuple(
    s.value
    for s in (
        State.PENDING,
        State.CLAIMED,
        State.APPROVED,
        State.SUBMITTED,
        State.ACCEPTED,
        State.REJECTED,
        State.FAILED,
        State.SUPERSEDED,
    )
)
#: Every entry kind (contract): the kind filter's choices need no query.
KINDS = tuple(k.value for k in Kind)
_EMPTY_LIST = "[]"  # how the JSON columns hold an empty access list on both databases

_COLUMNS = (
    col(Entry.id),
    col(Entry.crn),
    col(Entry.kind),
    col(Entry.section),
    col(Entry.status),
    col(Entry.on_behalf_of),
    col(Entry.created_at),
    col(Entry.due_date),
    col(Entry.issues),
    col(Entry.owning_force),
    col(Entry.claimed_by),
)


@dataclass(frozen=True)
class QueueFilters:
    """What a proxy narrowed the queue to; None means "any". `state=None` means waiting work."""

    state: str | None = None
    force: str | None = None
    due: Due | None = None
    kind: str | None = None
    crn: str | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int  # entries matching the filters that this proxy may see
    page: int
    per_page: int
    forces: list[str] = field(default_factory=list)  # choices for the force filter
    kinds: list[str] = field(default_factory=list)  # choices for the kind filter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def hidden_crns(s: Session, staff: Staff) -> list[str]:
    """CRNs `staff` may not handle: their own cases, and cases whose access list keeps them out.

    Reads the proxy's own cases by an index, and only the case states that carry an exclusion
    or restriction list (a small share of cases) as plain columns, judged by the one rule in
    `bridge.core.lifecycle`.
    """
    hidden = set(
        s.execute(
            select(col(CaseState.crn)).where(col(CaseState.on_behalf_of) == staff.code)
        ).scalars()
    )
    # Read as text and decoded only where the code could be in a list: JSON-decoding every
    # list of every such case was most of this function's time.
    listed = s.execute(
        select(
            col(CaseState.crn),
            col(CaseState.on_behalf_of),
            cast(col(CaseState.excluded_from), Text),
            cast(col(CaseState.restricted_to), Text),
        ).where(text(ACCESS_LIST_SQL))
    )
    quoted = json.dumps(staff.code)
    hidden.update(
        crn
        for crn, on_behalf_of, excluded, restricted in listed
        if not case_allows(
            staff.code,
            on_behalf_of,
            json.loads(excluded) if quoted in excluded else (),
            json.loads(restricted) if restricted != _EMPTY_LIST else (),
        )
    )
    return sorted(hidden)


def _filtered(filters: QueueFilters, today: date) -> list[ColumnElement[bool] | TextClause]:
    """The WHERE clause of the filters alone: every column is in the queue's indexes.

    Waiting work is written as the partial index's own condition (`OPEN_SQL`), so SQLite
    and PostgreSQL both see that `ix_entry_waiting` holds every row that can match.
    """
    clauses: list[ColumnElement[bool] | TextClause] = [
        col(Entry.status) == filters.state if filters.state else text(OPEN_SQL)
    ]
    if filters.force:
        clauses.append(col(Entry.owning_force) == filters.force)
    if filters.kind:
        clauses.append(col(Entry.kind) == filters.kind)
    if filters.crn:
        clauses.append(col(Entry.crn) == filters.crn.strip().upper())
    if filters.due == "overdue":
        clauses.append(col(Entry.due_date) < today)
        if filters.state:
            clauses.append(col(Entry.status).in_(WAITING))  # only waiting work is overdue
    elif filters.due == "today":
        clauses.append(col(Entry.due_date) <= today)
    elif filters.due == "week":
        clauses.append(col(Entry.due_date) <= today + timedelta(days=7))
    return clauses


def _count(s: Session, where: list[ColumnElement[bool] | TextClause]) -> int:
    return int(s.execute(select(func.count()).select_from(Entry).where(*where)).scalar_one())


def force_choices(s: Session) -> list[str]:
    """The distinct owning forces, by a loose index scan: one index probe per force.

    (`SELECT DISTINCT` would read every entry; there are only a few dozen forces.)
    """
    forces = select(func.min(col(Entry.owning_force))).cte("forces", recursive=True)
    step = select(
        select(func.min(col(Entry.owning_force)))
        .where(col(Entry.owning_force) > forces.c[0])
        .scalar_subquery()
    ).where(forces.c[0].is_not(None))
    forces = forces.union_all(step)
    rows = s.execute(select(literal_column("*")).select_from(forces)).scalars()
    return [str(v) for v in rows if v is not None]


class QueueService:
    """The queue's metadata: a proxy's page of it, and the operator's listing of every entry.

    Both read the same columns by the same indexes (`ix_entry_waiting` for waiting work,
    `ix_entry_status_queue` for one state) in the same due order; neither reads a record.
    """

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def page(
        self, *, actor: str, filters: QueueFilters, page: int = 1, per_page: int = 25
    ) -> QueuePage:
        """One page of the queue as `actor` (a currently vetted proxy) may see it."""
        today = local_date(self._clock.now())
        page, per_page = max(1, page), max(1, per_page)
        with Session(self._engine) as s:
            staff = s.get(Staff, actor)
            if staff is None or not has_current_vetting(staff, today):
                raise NotPermitted()
            hidden = hidden_crns(s, staff)
            where = _filtered(filters, today)
            # Counted from the index alone, as "all that match, less the hidden ones that
            # match": the second count probes the few hidden CRNs, where a NOT IN would test
            # every row.
            total = _count(s, where)
            if hidden:
                total -= _count(s, [*where, col(Entry.crn).in_(hidden)])
            # The page's ids in due order from the same index; then only those rows are read.
            ids = list(
                s.execute(
                    select(col(Entry.id))
                    .where(*where, *([col(Entry.crn).not_in(hidden)] if hidden else []))
                    .order_by(col(Entry.due_date), col(Entry.id))
                    .limit(per_page)
                    .offset((page - 1) * per_page)
                ).scalars()
            )
            by_id = {r.id: r for r in s.execute(select(*_COLUMNS).where(col(Entry.id).in_(ids)))}
            found = [by_id[i] for i in ids if i in by_id]
            forces = force_choices(s)
        return QueuePage(
            rows=[_row(r, today) for r in found],
            total=total,
            page=page,
            per_page=per_page,
            forces=forces,
            kinds=list(KINDS),
        )

    def listing(self, status: str | None = None) -> list[QueueRow]:
        """Every entry (or every entry in `status`), earliest due first: `visor-bridge queue
        list`, an operator's view of metadata that needs no `--as`."""
        today = local_date(self._clock.now())
        where = [col(Entry.status) == status] if status else []
        with Session(self._engine) as s:
            rows = s.execute(
                select(*_COLUMNS).where(*where).order_by(col(Entry.due_date), col(Entry.id))
            ).all()
        return [_row(r, today) for r in rows]


def _row(r: Any, today: date) -> QueueRow:
    return QueueRow(
        id=r.id,
        crn=r.crn,
        kind=r.kind,
        section=r.section,
        status=r.status,
        on_behalf_of=r.on_behalf_of,
        created_at=r.created_at,
        due_date=r.due_date,
        issues=r.issues,
        overdue=is_overdue(r.status, r.due_date, today),
        owning_force=r.owning_force,
        claimed_by=r.claimed_by,
    )
