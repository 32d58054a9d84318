"""The store's figures for the metrics endpoint: counts only, read in one short transaction.

Each query is an aggregate over an index (entries by state, the open set by age, the retry set,
the attention list, the breakers, the last sync runs); none reads a record's content, a name or
a CRN. `bridge.services.metrics` turns the result into Prometheus series at scrape time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, literal
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.core.lifecycle import ACCEPTED_VETTING, OPEN, Role, RunStatus, State
from bridge.store.models import (
    Attention,
    Entry,
    Notification,
    RetryItem,
    SinkBreaker,
    Staff,
    SyncRun,
)

__all__ = ["AGE_BANDS", "StoreFigures", "read_figures"]

#: Age bands of open entries (from when the entry was queued): label, lower bound.
AGE_BANDS: tuple[tuple[str, timedelta], ...] = (
    ("over_28d", timedelta(days=28)),
    ("7d_to_28d", timedelta(days=7)),
    ("3d_to_7d", timedelta(days=3)),
    ("1d_to_3d", timedelta(days=1)),
    ("under_1d", timedelta(0)),
)


@dataclass(frozen=True, slots=True)
class LastRun:
    """The newest finished sync run."""

    status: str
    started_at: datetime
    finished_at: datetime
    cases: int
    failed_cases: int


@dataclass(slots=True)
class StoreFigures:
    """What the metrics endpoint reports from the store (counts and times only)."""

    entries: dict[str, int] = field(default_factory=dict)  # state -> entries
    open_by_age: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, band)
    overdue: int = 0
    oldest_open_queued_at: datetime | None = None
    runs: dict[str, int] = field(default_factory=dict)  # sync run status -> runs recorded
    last_run: LastRun | None = None
    last_success_at: datetime | None = None
    retry_set: int = 0
    attention: dict[str, int] = field(default_factory=dict)  # reason -> cases
    breakers: dict[str, tuple[bool, int]] = field(default_factory=dict)  # sink -> (open, failures)
    vetting_expiring: int = 0  # active vetted proxies whose vetting ends within the window
    notifications: dict[str, int] = field(default_factory=dict)  # outbox status -> messages


def _band(now: datetime) -> object:
    created = col(Entry.created_at)
    whens = [(created <= now - lower, literal(label)) for label, lower in AGE_BANDS[:-1]]
    return case(*whens, else_=literal(AGE_BANDS[-1][0]))


def read_figures(engine: Engine, *, now: datetime, today: date, vetting_days: int) -> StoreFigures:
    """Every figure, in one read-only transaction (a scrape is a few aggregate queries)."""
    figures = StoreFigures()
    open_states = [s.value for s in OPEN]
    with Session(engine) as s:
        for state, n in s.exec(select(Entry.status, func.count()).group_by(Entry.status)):
            figures.entries[state] = n
        band = _band(now).label("band")  # type: ignore[attr-defined]
        rows = s.exec(
            select(Entry.status, band, func.count())
            .where(col(Entry.status).in_(open_states))
            .group_by(Entry.status, band)
        )
        for state, label, n in rows:
            figures.open_by_age[(state, label)] = n
        figures.overdue = s.exec(
            select(func.count())
            .select_from(Entry)
            .where(col(Entry.status).in_(open_states), col(Entry.due_date) < today)
        ).one()
        figures.oldest_open_queued_at = s.exec(
            select(func.min(Entry.created_at)).where(
                col(Entry.status).in_([State.PENDING.value, State.CLAIMED.value])
            )
        ).one()
        for status, n in s.exec(select(SyncRun.status, func.count()).group_by(SyncRun.status)):
            figures.runs[status] = n
        last = s.exec(
            select(SyncRun)
            .where(col(SyncRun.finished_at).is_not(None))
            .order_by(col(SyncRun.id).desc())
            .limit(1)
        ).first()
        if last is not None and last.finished_at is not None:
            figures.last_run = LastRun(
                last.status,
                last.started_at,
                last.finished_at,
                last.cases_fetched,
                last.cases_failed,
            )
        figures.last_success_at = s.exec(
            select(func.max(SyncRun.finished_at)).where(
                col(SyncRun.status) == RunStatus.SUCCEEDED.value
            )
        ).one()
        figures.retry_set = s.exec(select(func.count()).select_from(RetryItem)).one()
        for reason, n in s.exec(select(Attention.reason, func.count()).group_by(Attention.reason)):
            figures.attention[reason] = n
        for breaker in s.exec(select(SinkBreaker)):
            figures.breakers[breaker.name] = (breaker.opened_at is not None, breaker.failures)
        for status, n in s.exec(
            select(Notification.status, func.count()).group_by(Notification.status)
        ):
            figures.notifications[status] = n
        figures.vetting_expiring = sum(
            1
            for staff in s.exec(select(Staff).where(col(Staff.active)))
            if Role.PROXY.value in staff.roles
            and staff.vetting_level in ACCEPTED_VETTING
            and staff.vetting_expires is not None
            and today <= staff.vetting_expires < today + timedelta(days=vetting_days)
        )
    return figures
