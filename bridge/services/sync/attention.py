"""The sync's side of the attention list: a page's cases join it, change reason or leave it.

A case joins (audited `case.attention`) when a read finds a reason a person must look at it
(`bridge.core.attention`), and leaves (audited `case.attention_cleared`) when a later read of
it succeeds with no reason. A transient failure changes nothing: the retry set reads the case
again, and the list keeps what the last conclusive read found. Untakeable cases are not kept
here: the administrators' listing works them out when it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from bridge.audit import AuditEvent
from bridge.core.attention import AttentionReason
from bridge.core.audit_events import SYNC, case_attention, case_attention_cleared
from bridge.store import outbox
from bridge.store.models import Attention

__all__ = ["PageAttention"]


class PageAttention:
    """The attention rows of one page's CRNs, loaded with one query, changed in its transaction."""

    def __init__(
        self,
        session: Session,
        crns: Sequence[str],
        *,
        now: datetime,
        audit: Callable[[AuditEvent], None],
    ) -> None:
        self._session = session
        self._now = now
        self._audit = audit
        found = session.exec(select(Attention).where(col(Attention.crn).in_(crns)))
        self._rows: dict[str, Attention] = {row.crn: row for row in found}

    def note(self, crn: str, reason: AttentionReason | None) -> None:
        """What a conclusive read of `crn` found: a reason to look at it, or none."""
        row = self._rows.get(crn)
        if reason is None:
            if row is not None:
                self._session.delete(row)
                del self._rows[crn]
                self._audit(case_attention_cleared(SYNC, crn, reason=row.reason))
            return
        if row is not None and row.reason == reason.value:
            return  # still the same: `since` stays when it first joined for this reason
        if row is None:
            row = Attention(crn=crn, reason=reason.value, since=self._now)
            self._rows[crn] = row
        else:
            row.reason, row.since = reason.value, self._now
        self._session.add(row)
        self._audit(case_attention(SYNC, crn, reason=reason.value))
        outbox.on_attention(self._session, crn, reason=reason.value, now=self._now)
