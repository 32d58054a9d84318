"""Queries over entries, baselines and case state. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bridge.store.models import OPEN_STATES, Baseline, CaseState, Entry, EntryVersion

__all__ = [
    "baseline_for",
    "baselines_for_crn",
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
    return session.get(Entry, entry_id)


def open_entry(session: Session, crn: str, section: str, item_key: str = "") -> Entry | None:
    """The one pending or claimed entry for a CRN + section (+ contact id for activity), if any."""
    stmt = select(Entry).where(
        Entry.crn == crn,
        Entry.section == section,
        Entry.item_key == item_key,
        col(Entry.status).in_(OPEN_STATES),
    )
    return session.exec(stmt.order_by(col(Entry.id).desc())).first()


def open_entries_for_crn(session: Session, crn: str) -> Sequence[Entry]:
    stmt = select(Entry).where(Entry.crn == crn, col(Entry.status).in_(OPEN_STATES))
    return session.exec(stmt.order_by(col(Entry.id))).all()


def entries_for_crn(session: Session, crn: str) -> Sequence[Entry]:
    return session.exec(select(Entry).where(Entry.crn == crn).order_by(col(Entry.id))).all()


def baseline_for(session: Session, crn: str, section: str, item_key: str = "") -> Baseline | None:
    return session.get(Baseline, (crn, section, item_key))


def baselines_for_crn(session: Session, crn: str) -> Sequence[Baseline]:
    return session.exec(select(Baseline).where(Baseline.crn == crn)).all()


def case_state(session: Session, crn: str) -> CaseState | None:
    return session.get(CaseState, crn)


def list_entries(session: Session, status: str | None = None) -> Sequence[Entry]:
    stmt = select(Entry)
    if status is not None:
        stmt = stmt.where(Entry.status == status)
    return session.exec(stmt.order_by(col(Entry.id))).all()


def pending_candidates(
    session: Session, *, limit: int, after: tuple[object, int] | None
) -> Sequence[Entry]:
    """Pending entries in queue order (due date, then id), a page at a time."""
    stmt = select(Entry).where(Entry.status == "pending")
    if after is not None:
        due, last_id = after
        stmt = stmt.where(
            (col(Entry.due_date) > due) | ((col(Entry.due_date) == due) & (col(Entry.id) > last_id))
        )
    return session.exec(stmt.order_by(col(Entry.due_date), col(Entry.id)).limit(limit)).all()


def claim_if(session: Session, entry_id: int, *, staff: str, now: datetime) -> bool:
    """Atomically move one entry from pending to claimed; False if someone else got it first."""
    stmt = (
        update(Entry)
        .where(col(Entry.id) == entry_id, col(Entry.status) == "pending")
        .values(status="claimed", claimed_by=staff, claimed_at=now, updated_at=now)
        .returning(col(Entry.id))
    )
    claimed = session.execute(stmt).scalar_one_or_none() is not None
    if claimed:
        entry = session.get(Entry, entry_id)
        if entry is not None:
            session.refresh(entry)
    return claimed


def versions_of(session: Session, entry_id: int) -> Sequence[EntryVersion]:
    stmt = select(EntryVersion).where(EntryVersion.entry_id == entry_id)
    return session.exec(stmt.order_by(col(EntryVersion.version))).all()
