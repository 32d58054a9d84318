"""Queries for the administrators' page of held tasks: who holds which case, since when.
Callers own the transaction. Metadata only (never the record)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from bridge.core.audit_events import AuditAction
from bridge.core.lifecycle import Role, State
from bridge.store.models import AuditEvent, Entry, Staff

__all__ = ["held_rows", "held_since", "proxies"]

_CLAIM_EVENTS = (
    AuditAction.ENTRY_CLAIMED,
    AuditAction.ENTRY_CLAIM_JOINED,
    AuditAction.ENTRY_REASSIGNED,
    AuditAction.ENTRY_RELEASED,
    AuditAction.ENTRY_CLAIM_EXPIRED,
)


def held_rows(s: Session, *, manual: bool) -> list[Any]:
    """Every entry that holds its case for someone (claimed; approved too with the manual
    sink) as plain rows (crn, id, section, status, claimed_by, claimed_at), by CRN then id."""
    states = [State.CLAIMED.value] + ([State.APPROVED.value] if manual else [])
    return list(
        s.execute(
            select(
                col(Entry.crn),
                col(Entry.id),
                col(Entry.section),
                col(Entry.status),
                col(Entry.claimed_by),
                col(Entry.claimed_at),
            )
            .where(col(Entry.status).in_(states), col(Entry.claimed_by).is_not(None))
            .order_by(col(Entry.crn), col(Entry.id))
        ).all()
    )


def held_since(s: Session, crn: str, staff: str) -> datetime | None:
    """When `staff`'s current hold on the case began: the oldest claim (or reassignment to
    them) since their last release, lapse or a colleague's claim, read from the case's audit
    events (`ix_audit_crn`). None when the log names none."""
    rows = s.execute(
        select(
            col(AuditEvent.action),
            col(AuditEvent.actor),
            col(AuditEvent.detail),
            col(AuditEvent.at),
        )
        .where(col(AuditEvent.crn) == crn, col(AuditEvent.action).in_(_CLAIM_EVENTS))
        .order_by(col(AuditEvent.id).desc())
        .limit(200)
    ).all()
    since: datetime | None = None
    for action, actor, detail, at in rows:
        detail = detail or {}
        gained = (
            (action == AuditAction.ENTRY_CLAIMED and actor == staff)
            or detail.get("to") == staff
            or detail.get("holder") == staff
        )
        if gained:
            since = at
        elif (
            detail.get("was") == staff
            or action == AuditAction.ENTRY_CLAIMED
            or (action == AuditAction.ENTRY_RELEASED and actor == staff)
        ):
            break
    return since


def proxies(s: Session) -> list[Staff]:
    """Every active member of staff with the proxy role (vetting is checked by the caller)."""
    people = s.execute(select(Staff).where(col(Staff.active)).order_by(col(Staff.code))).scalars()
    return [p for p in people if Role.PROXY in (p.roles or [])]
