"""Queries over case tasks (every open entry of one CRN, ARCHITECTURE §3). Callers own the
transaction.

The listing reads each task's earliest due date from the partial index of open work
(`ix_entry_waiting`: due date, id, CRN, … of only the open states) grouped by CRN, so one
page of tasks costs one pass over that index; only the page's entries are then read, by CRN
(`ix_entry_crn_section_status`). Who holds a case is read from the claimed (and, with the
manual sink, approved) entries through `ix_entry_status_queue`, a small share of the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlmodel import Session, col

from bridge.core.lifecycle import OPEN, OPEN_SQL, State
from bridge.store.models import Entry, Staff

__all__ = [
    "claim_pending",
    "claims",
    "held_crns",
    "holders",
    "open_entries",
    "page_details",
    "release_claimed",
    "renew",
    "staff_of",
    "task_page",
]

Where = list[ColumnElement[bool] | TextClause]


def _holding(manual: bool) -> list[str]:
    """The states in which an entry holds its case for its `claimed_by`."""
    return [State.CLAIMED.value, State.APPROVED.value] if manual else [State.CLAIMED.value]


def holders(s: Session, crns: Sequence[str], *, manual: bool) -> dict[str, str]:
    """Who holds each of these cases (a claimed entry's claimant first, else an approver)."""
    if not crns:
        return {}
    rows = s.execute(
        select(col(Entry.crn), col(Entry.status), col(Entry.claimed_by)).where(
            col(Entry.status).in_(_holding(manual)),
            col(Entry.crn).in_(list(crns)),
            col(Entry.claimed_by).is_not(None),
        )
    ).all()
    out: dict[str, str] = {}
    for crn, _status, by in sorted(rows, key=lambda r: r[1] != State.CLAIMED):
        out.setdefault(crn, by)
    return out


def held_crns(s: Session, staff: str, *, manual: bool) -> list[str]:
    """The cases `staff` holds."""
    rows = s.execute(
        select(col(Entry.crn))
        .where(col(Entry.status).in_(_holding(manual)), col(Entry.claimed_by) == staff)
        .distinct()
    ).scalars()
    return sorted(rows)


def open_entries(s: Session, crn: str) -> list[Entry]:
    """Every open entry of the case, oldest first."""
    stmt = (
        select(Entry)
        .where(col(Entry.crn) == crn, col(Entry.status).in_([x.value for x in OPEN]))
        .order_by(col(Entry.id))
    )
    return list(s.execute(stmt).scalars())


def claim_pending(s: Session, crn: str, *, staff: str, now: datetime) -> list[int]:
    """Claim every pending entry of the case for `staff` in one statement; their ids."""
    stmt = (
        update(Entry)
        .where(col(Entry.crn) == crn, col(Entry.status) == State.PENDING)
        .values(status=State.CLAIMED.value, claimed_by=staff, claimed_at=now, updated_at=now)
        .returning(col(Entry.id))
    )
    return sorted(int(i) for i in s.execute(stmt).scalars())


def renew(s: Session, crn: str, *, staff: str, now: datetime, since: datetime) -> int:
    """Extend every claim `staff` has on the case (they are working on it) that was taken or
    renewed at `since` or later: a lapsed claim is not revived (claim the case again)."""
    stmt = (
        update(Entry)
        .where(
            col(Entry.crn) == crn,
            col(Entry.status) == State.CLAIMED,
            col(Entry.claimed_by) == staff,
            col(Entry.claimed_at) >= since,
        )
        .values(claimed_at=now)
        .returning(col(Entry.id))
    )
    return len(list(s.execute(stmt).scalars()))


def release_claimed(
    s: Session, crn: str, *, now: datetime, staff: str | None = None
) -> list[tuple[int, str]]:
    """Every claimed entry of the case (of `staff`, when given) back to pending: (id, holder)."""
    where = [col(Entry.crn) == crn, col(Entry.status) == State.CLAIMED]
    if staff is not None:
        where.append(col(Entry.claimed_by) == staff)
    was = dict(s.execute(select(col(Entry.id), col(Entry.claimed_by)).where(*where)).all())
    if not was:
        return []
    s.execute(
        update(Entry)
        .where(col(Entry.id).in_(list(was)))
        .values(status=State.PENDING.value, claimed_by=None, claimed_at=None, updated_at=now)
    )
    return sorted((int(i), str(by or "")) for i, by in was.items())


def task_page(
    s: Session,
    where: Where,
    *,
    limit: int | None,
    offset: int = 0,
) -> tuple[list[tuple[str, date]], int]:
    """Tasks (CRN, earliest due date) matching `where` (over open entries), earliest due
    first, and how many match in all. One GROUP BY over the partial index of open work."""
    base = [text(OPEN_SQL), *where]
    grouped = (
        select(col(Entry.crn), func.min(col(Entry.due_date)).label("due"))
        .where(*base)
        .group_by(col(Entry.crn))
    )
    stmt = grouped.order_by(text("due"), col(Entry.crn))
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = [(str(crn), due) for crn, due in s.execute(stmt).all()]
    if limit is None:
        return rows, len(rows)
    total = s.execute(
        select(func.count()).select_from(
            select(col(Entry.crn)).where(*base).group_by(col(Entry.crn)).subquery()
        )
    ).scalar_one()
    return rows, int(total)


def page_details(s: Session, crns: Sequence[str]) -> dict[str, list[Any]]:
    """The open entries of these cases as plain rows (section, status, claimed_by, issues,
    due_date, id), by CRN; never the record."""
    out: dict[str, list[Any]] = {c: [] for c in crns}
    chunk = 900
    for i in range(0, len(crns), chunk):
        rows = s.execute(
            select(
                col(Entry.crn),
                col(Entry.id),
                col(Entry.section),
                col(Entry.status),
                col(Entry.claimed_by),
                col(Entry.issues),
                col(Entry.due_date),
            ).where(text(OPEN_SQL), col(Entry.crn).in_(list(crns[i : i + chunk])))
        ).all()
        for row in rows:
            out[row.crn].append(row)
    return out


def claims(s: Session) -> list[tuple[int, str, str]]:
    """Every claimed entry: (id, CRN, holder), by `ix_entry_status_queue`."""
    rows = s.execute(
        select(col(Entry.id), col(Entry.crn), col(Entry.claimed_by)).where(
            col(Entry.status) == State.CLAIMED
        )
    ).all()
    return [(int(i), str(c), str(by or "")) for i, c, by in rows]


def staff_of(s: Session, codes: set[str]) -> list[Staff]:
    """The registry rows of these staff codes."""
    if not codes:
        return []
    return list(s.execute(select(Staff).where(col(Staff.code).in_(sorted(codes)))).scalars())
