"""The append-only, hash-chained audit writer (DPA 2018 Part 3, s.62).

The events are built by the typed constructors of `bridge.core.audit_events`, the one
catalogue of actions and their s.62 categories. Events hold who, when, which case and entry,
and ids — never record content. The writer is called inside the same transaction as the
change it records, so an action and its audit line are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.core.audit_events import AuditEvent, Category, access_refused
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent as AuditRow

__all__ = [
    "GENESIS",
    "Audit",
    "AuditEvent",
    "Category",
    "record",
    "record_many",
    "record_refusal",
    "verify_chain",
]

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x61756474  # serialises chain appends across PostgreSQL sessions
_INSERT = insert(AuditRow).returning(col(AuditRow.id))
_INSERT_MANY = insert(AuditRow)

#: The event to record; built by the typed constructors of `bridge.core.audit_events` (the
#: catalogue of actions). `Audit` is its old name, kept for the tests and the bench.
Audit = AuditEvent


def _digest(prev: str, at: datetime, event: AuditEvent) -> str:
    payload = json.dumps(
        [
            prev,
            at.isoformat(),
            event.category,
            event.action,
            event.actor,
            event.crn,
            event.entry_id,
            event.detail,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _chain_head(session: Session) -> str:
    """The hash to chain from, read once per transaction (appends then follow in memory).

    On PostgreSQL the first append of a transaction takes a transaction-level advisory lock,
    so concurrent writers append one transaction at a time and the chain never forks.
    """
    transaction = session.get_transaction()
    cached = session.info.get("audit_head")
    if cached is not None and cached[0] is transaction:
        return str(cached[1])
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_AUDIT_LOCK))  # type: ignore[call-overload]
    last = session.exec(select(AuditRow.hash).order_by(col(AuditRow.id).desc()).limit(1)).first()
    return last or GENESIS


def _row(prev: str, at: datetime, event: AuditEvent) -> dict[str, Any]:
    """The audit row for `event` chained after `prev`."""
    return {
        "at": at,
        "actor": event.actor,
        "category": event.category,
        "action": event.action,
        "crn": event.crn,
        "entry_id": event.entry_id,
        "detail": event.detail,
        "prev_hash": prev,
        "hash": _digest(prev, at, event),
    }


def record(session: Session, event: AuditEvent, *, at: datetime) -> int:
    """Append `event` to the log in the caller's transaction; return its id.

    A plain INSERT rather than an ORM object: the sync writes one per entry, and building
    model objects cost more than the statement.
    """
    prev = _chain_head(session)
    row = _row(prev, at, event)
    # One compiled statement on the session's connection: no ORM flush or bookkeeping.
    new_id = session.connection().execute(_INSERT, row).scalar_one()
    session.info["audit_head"] = (session.get_transaction(), row["hash"])
    assert new_id is not None
    return int(new_id)


def record_many(session: Session, events: Sequence[tuple[AuditEvent, datetime]]) -> None:
    """Append several events, in order, in the caller's transaction: one statement for all.

    The chain is worked out in memory from the transaction's head (as `record` does, one
    after another), so the rows and hashes are exactly those of calling `record` for each
    event in turn; the sync writes a page's events this way instead of one INSERT each.
    """
    if not events:
        return
    prev = _chain_head(session)
    rows = []
    for event, at in events:
        rows.append(_row(prev, at, event))
        prev = rows[-1]["hash"]
    # Inserted in list order, so ids follow the chain (verify_chain walks it by id).
    session.connection().execute(_INSERT_MANY, rows)
    session.info["audit_head"] = (session.get_transaction(), prev)


def record_refusal(
    engine: Engine, actor: str, action: str, *, at: datetime, entry_id: int | None = None
) -> None:
    """Record a refused action in a transaction of its own (the refused one rolled back)."""
    with session_scope(engine) as s:
        record(s, access_refused(actor, action=action, entry_id=entry_id), at=at)


def verify_chain(session: Session) -> int | None:
    """The id of the first event whose hash does not follow from its predecessor, or None."""
    prev = GENESIS
    for row in session.exec(select(AuditRow).order_by(col(AuditRow.id))):
        event = AuditEvent(row.category, row.action, row.actor, row.crn, row.entry_id, row.detail)
        if row.prev_hash != prev or row.hash != _digest(prev, row.at, event):
            return row.id
        prev = row.hash
    return None
