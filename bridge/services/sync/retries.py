"""The durable retry set: CRNs whose read or mapping failed, kept until a read succeeds.

One class reads and writes it for everyone: the sync (what is due, a failure remembered with
its back-off, a recovery forgotten), `visor-bridge retries` and the administrators' sync page
(the whole set, most-failed first, with the CRNs that need attention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import AuditEvent
from bridge.core.audit_events import case_read_failed, retry_scheduled
from bridge.core.failure_text import text_digest
from bridge.store.batch_queries import delete_retry_items
from bridge.store.models import RetryItem

__all__ = ["MAX_RETRY_DELAY", "RetryCounts", "RetryRow", "RetrySet"]

#: The longest a failing CRN waits between two reads.
MAX_RETRY_DELAY = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class RetryRow:
    """One CRN in the retry set (no content: the error names what failed, not the case)."""

    crn: str
    attempts: int
    last_error: str
    first_failed_at: datetime
    next_attempt_at: datetime
    occurred_at: datetime  # the change time the eventual entries are due from
    needs_attention: bool  # failed `alert_attempts` times or more

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RetryCounts:
    size: int
    attention: int


class RetrySet:
    """Reads of the retry set (each in its own session) and the sync's writes to it."""

    def __init__(self, engine: Engine, *, alert_attempts: int, base_seconds: float = 60.0) -> None:
        self._engine = engine
        self.alert_attempts = alert_attempts
        self._base_seconds = base_seconds

    def _row(self, item: RetryItem) -> RetryRow:
        return RetryRow(
            crn=item.crn,
            attempts=item.attempts,
            last_error=item.last_error,
            first_failed_at=item.first_failed_at,
            next_attempt_at=item.next_attempt_at,
            occurred_at=item.occurred_at,
            needs_attention=item.attempts >= self.alert_attempts,
        )

    # -- reads ----------------------------------------------------------------------------

    def all(self) -> list[RetryRow]:
        """Every CRN in the set, the most-failed first (then by CRN)."""
        with Session(self._engine) as s:
            items = s.exec(
                select(RetryItem).order_by(col(RetryItem.attempts).desc(), col(RetryItem.crn))
            ).all()
            return [self._row(i) for i in items]

    def due(self, now: datetime) -> list[RetryRow]:
        """The CRNs whose next attempt has come."""
        with Session(self._engine) as s:
            items = s.exec(select(RetryItem).where(col(RetryItem.next_attempt_at) <= now)).all()
            return [self._row(i) for i in items]

    def counts(self) -> RetryCounts:
        """How many CRNs wait, and how many of them need attention."""
        with Session(self._engine) as s:
            size = s.exec(select(func.count()).select_from(RetryItem)).one()
            attention = s.exec(
                select(func.count())
                .select_from(RetryItem)
                .where(col(RetryItem.attempts) >= self.alert_attempts)
            ).one()
        return RetryCounts(size, attention)

    # -- the sync's writes, in its page transaction ---------------------------------------

    @staticmethod
    def items(session: Session, crns: Sequence[str]) -> dict[str, RetryItem]:
        """The retry items of these CRNs (those being retried), by CRN."""
        found = session.exec(select(RetryItem).where(col(RetryItem.crn).in_(crns)))
        return {item.crn: item for item in found}

    def remember_failure(
        self,
        session: Session,
        item: RetryItem | None,
        *,
        crn: str,
        error: str,
        occurred_at: datetime,
        actor: str,
        now: datetime,
    ) -> AuditEvent:
        """Put a CRN whose read failed into the set (or back off once more); its audit line."""
        if item is None:
            item = RetryItem(
                crn=crn, first_failed_at=now, next_attempt_at=now, occurred_at=occurred_at
            )
        item.attempts += 1
        item.last_error = error
        delay = timedelta(seconds=self._base_seconds * (2 ** min(item.attempts - 1, 16)))
        item.next_attempt_at = now + min(delay, MAX_RETRY_DELAY)
        session.add(item)
        # The audit log keeps a hash of the error text, never the text (it may quote a body).
        digest = text_digest(item.last_error) or ""
        return case_read_failed(actor, crn, attempts=item.attempts, error=digest)

    @staticmethod
    def make_due(session: Session, crn: str, *, actor: str, now: datetime) -> AuditEvent | None:
        """An administrator's "retry now": the CRN is due at once; its audit line, or None
        when the CRN is not in the set."""
        item = session.get(RetryItem, crn)
        if item is None:
            return None
        was, item.next_attempt_at = item.next_attempt_at, now
        session.add(item)
        return retry_scheduled(actor, crn, was=was, attempts=item.attempts)

    @staticmethod
    def forget(session: Session, crns: Sequence[str]) -> None:
        """These CRNs were read successfully: they leave the set."""
        delete_retry_items(session.connection(), crns)
