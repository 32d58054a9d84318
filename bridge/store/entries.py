"""Queries over entries, baselines and case state. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from bridge.core.ids import possible_entry_id
from bridge.core.lifecycle import UNAPPROVED, State
from bridge.store.models import Baseline, CaseState, Entry, EntryVersion

__all__ = [
    "Access",
    "after_in_queue",
    "baseline_for",
    "case_state",
    "claim_if",
    "entries_for_crn",
    "get_entry",
    "list_entries",
    "open_entries_for_crn",
    "open_entry",
    "pending_candidates",
    "versions_of",
]


def get_entry(session: Session, entry_id: int) -> Entry | None:
    """The entry, or None (also for an id no entry can have: looked up nowhere)."""
    return session.get(Entry, entry_id) if possible_entry_id(entry_id) else None


def open_entry(session: Session, crn: str, section: str, item_key: str = "") -> Entry | None:
    """The one pending or claimed entry for a CRN + section (+ contact id for activity), if any."""
    stmt = select(Entry).where(
        Entry.crn == crn,
        Entry.section == section,
        Entry.item_key == item_key,
        col(Entry.status).in_(UNAPPROVED),
    )
    return session.exec(stmt.order_by(col(Entry.id).desc())).first()


def open_entries_for_crn(session: Session, crn: str) -> Sequence[Entry]:
    stmt = select(Entry).where(Entry.crn == crn, col(Entry.status).in_(UNAPPROVED))
    return session.exec(stmt.order_by(col(Entry.id))).all()


def entries_for_crn(session: Session, crn: str) -> Sequence[Entry]:
    return session.exec(select(Entry).where(Entry.crn == crn).order_by(col(Entry.id))).all()


def baseline_for(session: Session, crn: str, section: str, item_key: str = "") -> Baseline | None:
    return session.get(Baseline, (crn, section, item_key))


def case_state(session: Session, crn: str) -> CaseState | None:
    return session.get(CaseState, crn)


def case_states(session: Session, crns: set[str]) -> dict[str, CaseState]:
    """The case states of several CRNs in one query."""
    if not crns:
        return {}
    rows = session.exec(select(CaseState).where(col(CaseState.crn).in_(sorted(crns))))
    return {c.crn: c for c in rows}


@dataclass(frozen=True, slots=True)
class Access:
    """A case's access lists as the rules read them (`core.lifecycle.CaseAccess`)."""

    on_behalf_of: str | None
    excluded_from: list[str]
    restricted_to: list[str]


def list_entries(session: Session, status: str | None = None) -> Sequence[Entry]:
    stmt = select(Entry)
    if status is not None:
        stmt = stmt.where(Entry.status == status)
    return session.exec(stmt.order_by(col(Entry.id))).all()


def after_in_queue(after: tuple[object, object]) -> ColumnElement[bool]:
    """Entries after (due date, id) `after` in queue order (due date, then id); values or
    bound parameters."""
    due, last_id = after
    return (col(Entry.due_date) > due) | ((col(Entry.due_date) == due) & (col(Entry.id) > last_id))


def pending_candidates(
    session: Session, *, limit: int, after: tuple[object, int] | None
) -> Sequence[Entry]:
    """Pending entries in queue order (due date, then id), a page at a time."""
    stmt = select(Entry).where(col(Entry.status) == State.PENDING)
    if after is not None:
        stmt = stmt.where(after_in_queue(after))
    return session.exec(stmt.order_by(col(Entry.due_date), col(Entry.id)).limit(limit)).all()


def claim_if(session: Session, entry_id: int, *, staff: str, now: datetime) -> bool:
    """Atomically move one entry from pending to claimed; False if someone else got it first."""
    stmt = (
        update(Entry)
        .where(col(Entry.id) == entry_id, col(Entry.status) == State.PENDING)
        .values(status=State.CLAIMED.value, claimed_by=staff, claimed_at=now, updated_at=now)
        .returning(col(Entry.id))
    )
    claimed = session.execute(stmt).scalar_one_or_none() is not None
    if claimed:
        entry = session.get(Entry, entry_id)
        if entry is not None:
            session.refresh(entry)
    return claimed


def claim_first_of(
    session: Session, entry_ids: Sequence[int], *, staff: str, now: datetime
) -> int | None:
    """Claim the earliest-due still-pending entry among `entry_ids` in one statement.

    On PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so concurrent claimers
    pass over rows another transaction is claiming instead of queueing behind them; SQLite
    serialises writers (BEGIN IMMEDIATE), so the plain statement is already atomic.
    """
    if not entry_ids:
        return None
    pick = (
        select(col(Entry.id))
        .where(col(Entry.id).in_(entry_ids), col(Entry.status) == State.PENDING)
        .order_by(col(Entry.due_date), col(Entry.id))
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(Entry)
        .where(col(Entry.id) == pick.scalar_subquery())
        .values(status=State.CLAIMED.value, claimed_by=staff, claimed_at=now, updated_at=now)
        .returning(col(Entry.id))
    )
    return session.execute(stmt).scalar_one_or_none()


def expire_claims(
    session: Session, *, before: datetime, now: datetime
) -> list[tuple[int, str, str]]:
    """Claims taken before `before` go back to pending; returns (id, crn, former claimant)."""
    stmt = (
        update(Entry)
        .where(col(Entry.status) == State.CLAIMED, col(Entry.claimed_at) < before)
        .values(status=State.PENDING.value, claimed_by=None, claimed_at=None, updated_at=now)
        .returning(col(Entry.id), col(Entry.crn), col(Entry.claimed_by))
    )
    # RETURNING gives the new values; the claimant is read first for the audit line.
    # (A read first, too, so the common case — nothing expired — writes nothing.)
    holders = dict(
        session.execute(
            select(col(Entry.id), col(Entry.claimed_by)).where(
                col(Entry.status) == State.CLAIMED, col(Entry.claimed_at) < before
            )
        ).all()
    )
    if not holders:
        return []
    return [(int(i), str(crn), str(holders.get(i) or "")) for i, crn, _ in session.execute(stmt)]


def versions_of(session: Session, entry_id: int) -> Sequence[EntryVersion]:
    stmt = select(EntryVersion).where(EntryVersion.entry_id == entry_id)
    return session.exec(stmt.order_by(col(EntryVersion.version))).all()


def unclaim(entry: Entry, *, now: datetime) -> None:
    """Back to the queue: pending, nobody's claim."""
    entry.status, entry.claimed_by, entry.claimed_at, entry.updated_at = (
        State.PENDING,
        None,
        None,
        now,
    )
