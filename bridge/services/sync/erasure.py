"""GDPR erasure of one case: every stored byte of its content goes; one erasure audit line stays.

nDelius sends `probation-case.deleted.gdpr` when a person's record must be erased. The
visor-bridge then deletes the case's entries (every version), baselines, case state and retry
item in the sync's transaction, and records an `erasure` audit event holding only counts.
The audit trail of earlier processing is kept as the law requires (DPA 2018 s.62): it
holds CRNs, ids, states and reasons, never record content.

Deleting a row does not by itself remove its bytes from the database file, so after the
transaction `scrub` makes the deletion physical: SQLite runs with `secure_delete=ON`
(freed pages are zeroed) and the write-ahead log is checkpointed and truncated, so no old
page image survives there; PostgreSQL rewrites the tables that held content
(`VACUUM FULL`), which drops the dead tuples with the old file.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import ColumnElement, delete, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record
from bridge.core.audit_events import case_erased
from bridge.store.models import Attention, Baseline, CaseState, Entry, EntryVersion, RetryItem

__all__ = ["CONTENT_TABLES", "erase_case", "scrub"]

log = structlog.get_logger(__name__)

#: The tables that can hold record content (rewritten by `scrub` on PostgreSQL).
CONTENT_TABLES = ("entryversion", "entry", "baseline", "casestate", "retryitem")


def erase_case(session: Session, crn: str, *, now: datetime, actor: str) -> dict[str, int]:
    """Delete everything stored for `crn` in the caller's transaction; return the counts."""
    entry_ids = list(session.exec(select(Entry.id).where(Entry.crn == crn)).all())
    counts = {
        "versions": _delete(session, EntryVersion, col(EntryVersion.entry_id).in_(entry_ids))
        if entry_ids
        else 0,
        "entries": _delete(session, Entry, col(Entry.crn) == crn),
        "baselines": _delete(session, Baseline, col(Baseline.crn) == crn),
        "case_state": _delete(session, CaseState, col(CaseState.crn) == crn),
        "retry": _delete(session, RetryItem, col(RetryItem.crn) == crn),
    }
    _delete(session, Attention, col(Attention.crn) == crn)  # a reason code: nothing to count
    event = case_erased(actor, crn, **counts)
    record(session, event, at=now)
    log.info(event.action, crn=crn, entries=counts["entries"])
    return counts


def _delete(session: Session, table: type, where: ColumnElement[bool]) -> int:
    result = session.execute(delete(table).where(where))
    return int(getattr(result, "rowcount", 0) or 0)


def scrub(engine: Engine) -> None:
    """Make deletions physical (run after the erasing transaction has committed)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in CONTENT_TABLES:
                conn.execute(text(f'VACUUM FULL "{table}"'))
        return
    raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run in one
    try:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
