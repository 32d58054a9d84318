"""Reads for the workload pages (issue 15): the weekly rollup and the backlog's groups.

Each page reads at most a few thousand pre-summed rows through an index: never a year of
facts (docs/BENCHMARKS.md has the times with 100,000 entries).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlmodel import Session

from bridge.core.workload import ENTERED, ENTRY
from bridge.core.workload_figures import (
    MIN_PEOPLE,
    Closed,
    Opened,
    ReportRow,
    Total,
    WeekRow,
    minutes,
)
from bridge.store.models import WorkFact, WorkWeek

__all__ = [
    "closed_since",
    "entered_since",
    "group_totals",
    "open_entries",
    "proxy_weeks",
    "week_rows",
]

_F = WorkFact.__table__  # type: ignore[attr-defined]
_W = WorkWeek.__table__  # type: ignore[attr-defined]


def week_rows(
    s: Session,
    *,
    first: date,
    last: date,
    role: str | None = None,
    teams: Collection[str] | None = None,
    providers: Collection[str] | None = None,
    staff: str | None = None,
) -> list[WeekRow]:
    """Rollup rows for the weeks from `first` to `last` (Mondays), narrowed as asked."""
    stmt = select(_W).where(_W.c.week >= first, _W.c.week <= last)
    if role is not None:
        stmt = stmt.where(_W.c.role == role)
    if teams is not None:
        stmt = stmt.where(_W.c.team.in_(sorted(teams)))
    if providers is not None:
        stmt = stmt.where(func.substr(_W.c.team, 1, 3).in_(sorted(providers)))
    if staff is not None:
        stmt = stmt.where(_W.c.staff == staff)
    return [
        WeekRow(
            r.week, r.role, r.staff, r.team, r.tasks, r.entries, r.seconds, r.overdue, r.returned
        )
        for r in s.connection().execute(stmt)
    ]


def open_entries(s: Session) -> list[Opened]:
    """Entries still open, grouped by the week they were queued and their due date."""
    stmt = (
        select(_F.c.start_week, _F.c.due_date, func.count())
        .where(_F.c.kind == ENTRY, _F.c.week.is_(None))
        .group_by(_F.c.start_week, _F.c.due_date)
    )
    return [Opened(w, d, n) for w, d, n in s.connection().execute(stmt)]


def closed_since(s: Session, first: date) -> list[Closed]:
    """Entries closed in the week of `first` or later, grouped."""
    cols = (_F.c.week, _F.c.start_week, _F.c.due_date, _F.c.ended, _F.c.overdue)
    stmt = select(*cols, func.count()).where(_F.c.kind == ENTRY, _F.c.week >= first).group_by(*cols)
    return [
        Closed(start, due, week, ended, bool(late), n)
        for week, start, due, ended, late, n in s.connection().execute(stmt)
    ]


def entered_since(s: Session, staff: str, since: datetime, week: date) -> int:
    """Entries `staff` entered at or after `since` (within the week of `week`)."""
    stmt = select(func.count()).where(
        _F.c.staff == staff, _F.c.kind == ENTERED, _F.c.week == week, _F.c.ended_at >= since
    )
    return int(s.connection().execute(stmt).scalar_one())


def _scoped(stmt: Any, first: date, last: date, role: str, teams: Collection[str] | None) -> Any:
    stmt = stmt.where(_W.c.week >= first, _W.c.week <= last, _W.c.role == role)
    if teams is not None:
        stmt = stmt.where(_W.c.team.in_(sorted(teams)))
    return stmt


_SUMS = (
    func.sum(_W.c.tasks),
    func.sum(_W.c.entries),
    func.sum(_W.c.seconds),
    func.sum(_W.c.overdue),
    func.sum(_W.c.returned),
)


def proxy_weeks(
    s: Session, *, first: date, last: date, teams: Collection[str] | None
) -> list[ReportRow]:
    """One row per proxy per week (summed over teams), summed in the database."""
    stmt = _scoped(select(_W.c.staff, _W.c.week, *_SUMS), first, last, "proxy", teams)
    stmt = stmt.group_by(_W.c.week, _W.c.staff).order_by(_W.c.week, _W.c.staff)
    return [
        ReportRow(staff, week, int(t), int(e), minutes(int(sec)), int(o), int(r))
        for staff, week, t, e, sec, o, r in s.connection().execute(stmt)
    ]


def group_totals(
    s: Session,
    *,
    first: date,
    last: date,
    by: str,
    role: str = "proxy",
    teams: Collection[str] | None = None,
    providers: Collection[str] | None = None,
    hide_small: bool = False,
) -> list[Total]:
    """Totals by `by` ("team", "provider" or "staff") over the weeks, with how many people
    each covers; with `hide_small`, a total over fewer than MIN_PEOPLE people is hidden."""
    key = {
        "team": _W.c.team,
        "provider": func.substr(_W.c.team, 1, 3),
        "staff": _W.c.staff,
    }[by]
    stmt = _scoped(select(key, func.count(distinct(_W.c.staff)), *_SUMS), first, last, role, teams)
    if providers is not None:
        stmt = stmt.where(func.substr(_W.c.team, 1, 3).in_(sorted(providers)))
    stmt = stmt.group_by(key).order_by(key)
    return [
        Total(
            str(k),
            int(people),
            int(t),
            int(e),
            minutes(int(sec)),
            int(o),
            int(r),
            hide_small and int(people) < MIN_PEOPLE,
        )
        for k, people, t, e, sec, o, r in s.connection().execute(stmt)
    ]
