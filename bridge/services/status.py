"""What an offender manager may see about their case: states, dates and reasons — never content.

The queries here select only metadata columns (never `xml`, `diff` or `issues`), so record
content does not even leave the database for these views.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, func
from sqlalchemy import case as when
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bridge.audit import record, record_refusal
from bridge.clock import Clock
from bridge.core.audit_events import cases_listed, status_viewed
from bridge.core.lifecycle import is_admin, local_date, may_handle
from bridge.errors import NotPermitted
from bridge.store import entries as q
from bridge.store.db import session_scope
from bridge.store.models import Entry, Staff

__all__ = ["OFFICER_STATES", "case_status", "managed_case", "my_cases"]

#: Entry states in the officer's words (DOMAIN.md: pending / with a proxy / entered / returned).
OFFICER_STATES = {
    "pending": "Waiting",
    "claimed": "With a proxy",
    "approved": "Approved",
    "submitted": "Sent to ViSOR",
    "accepted": "Entered",
    "rejected": "Returned",
    "failed": "Failed",
    "superseded": "Superseded",
}


def case_status(engine: Engine, clock: Clock, *, crn: str, actor: str) -> dict[str, Any]:
    """The status view of one case for its offender manager (or an admin or permitted proxy)."""
    now = clock.now()
    with session_scope(engine) as s:
        staff = s.get(Staff, actor)
        case = q.case_state(s, crn)
        entries = q.entries_for_crn(s, crn)
        manages = (
            staff is not None
            and staff.active
            and (
                (case is not None and case.on_behalf_of == actor)
                or any(e.on_behalf_of == actor for e in entries)
            )
        )
        proxy = may_handle(staff, case, local_date(now))
        if (case is None and not entries) or not (manages or proxy or is_admin(staff)):
            refused = True
        else:
            refused = False
            record(s, status_viewed(actor, crn), at=now)
            return {
                "crn": crn,
                "entries": [
                    {
                        "id": e.id,
                        "section": e.section,
                        "kind": e.kind,
                        "status": e.status,
                        "created_at": e.created_at.isoformat(),
                        "due_date": e.due_date.isoformat(),
                        "entered_at": e.entered_at.isoformat() if e.entered_at else None,
                        "reason": e.reason,
                    }
                    for e in entries
                ],
            }
    if refused:
        record_refusal(engine, actor, "status", at=now)
    raise NotPermitted("Not permitted: no such case, or you may not see it.")


def _is_manager(staff: Staff | None) -> bool:
    return staff is not None and staff.active and "offender_manager" in staff.roles


def my_cases(engine: Engine, clock: Clock, *, actor: str) -> list[dict[str, Any]]:
    """One row per CRN with entries on `actor`'s behalf: counts by state, last entry date.

    Rows: crn, waiting, with_proxy, returned (counts), entered_on (latest date or None),
    latest_reason (of the newest return, written by the proxy for the officer). The list is
    a consultation of those cases, audited with their CRNs only.
    """
    now = clock.now()
    with session_scope(engine) as s:
        if _is_manager(s.get(Staff, actor)):
            mine = col(Entry.on_behalf_of) == actor  # ix_entry_on_behalf_of

            def count(status: str) -> Any:
                return func.sum(when((col(Entry.status) == status, 1), else_=0), type_=Integer)

            rows = (
                s.connection()
                .execute(
                    sql_select(
                        col(Entry.crn),
                        count("pending"),
                        count("claimed"),
                        count("rejected"),
                        func.max(col(Entry.entered_at)),
                    )
                    .where(mine)
                    .group_by(col(Entry.crn))
                    .order_by(col(Entry.crn))
                )
                .all()
            )
            reasons: dict[str, str | None] = {}
            for crn, reason in s.exec(
                select(Entry.crn, Entry.reason)
                .where(mine, col(Entry.status) == "rejected")
                .order_by(col(Entry.id))
            ):
                reasons[crn] = reason  # the newest return wins
            out = [
                {
                    "crn": crn,
                    "waiting": int(waiting or 0),
                    "with_proxy": int(with_proxy or 0),
                    "returned": int(returned or 0),
                    "entered_on": _as_date(entered),
                    "latest_reason": reasons.get(crn),
                }
                for crn, waiting, with_proxy, returned, entered in rows
            ]
            record(
                s,
                cases_listed(actor, crns=[row["crn"] for row in out]),
                at=now,
            )
            return out
    record_refusal(engine, actor, "cases", at=now)
    raise NotPermitted("Not permitted: only an offender manager has a list of cases.")


def managed_case(engine: Engine, clock: Clock, *, crn: str, actor: str) -> dict[str, Any]:
    """A case's entries (newest first) for the officer who manages it; anyone else is refused.

    Unlike `case_status`, a proxy or administrator who does not manage the case is refused
    too: this is the officer's own view. Each entry: id, section, kind, status, state (the
    officer's word), created_at, due_date, entered_at, and reason (for a return only).
    """
    now = clock.now()
    with session_scope(engine) as s:
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
                )
                .where(col(Entry.crn) == crn)
                .order_by(col(Entry.id).desc())
            )
            .all()
        )
        manages = _is_manager(staff) and (
            (case_row is not None and case_row.on_behalf_of == actor)
            or any(row.on_behalf_of == actor for row in rows)
        )
        if manages and rows:
            record(s, status_viewed(actor, crn), at=now)
            return {
                "crn": crn,
                "entries": [
                    {
                        "id": row.id,
                        "section": row.section,
                        "kind": row.kind,
                        "status": row.status,
                        "state": OFFICER_STATES.get(row.status, row.status),
                        "created_at": row.created_at,
                        "due_date": _as_date(row.due_date),
                        "entered_at": _as_date(row.entered_at),
                        "reason": row.reason if row.status == "rejected" else None,
                    }
                    for row in rows
                ],
            }
    record_refusal(engine, actor, "status", at=now)
    raise NotPermitted("Not permitted: no such case, or you may not see it.")


def _as_date(value: date | datetime | str | None) -> date | None:
    """Dates as dates on both databases (an aggregate may come back as text on SQLite)."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(value[:10])
