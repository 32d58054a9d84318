"""The attention list's rules: which cases a person must look at, and why (reason codes only).

A case joins when the sync reads it and finds an active MAPPA registration whose current
offender manager cannot be told (so it would otherwise leave scope unseen), or when its
documents cannot be read for a reason other than a transient fault. It leaves when a later
read resolves it. Untakeable cases (open entries no current proxy may take) are listed with
them, worked out when the list is read. A reason is a code, never content.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bridge.core.prepared import PreparedCase
from bridge.core.scope import NO_MANAGER
from bridge.errors import SourceDataError, SourceError, SourceNotFound, Transient

__all__ = ["AttentionReason", "ReadFailure", "case_reason", "failure_reason", "read_failure"]


class AttentionReason(StrEnum):
    """Why a case is on the attention list (**contract**: the `reason` of `admin attention`)."""

    #: An active MAPPA registration, but no offender manager marked `active` and not exactly
    #: one open allocation (several with no `toDate`, or none).
    OFFICER_UNDETERMINED = "officer_undetermined"
    #: nDelius answered 404 for the case (deleted or merged there, or a wrong CRN in the feed).
    NOT_FOUND = "not_found"
    #: nDelius refused the read with another 4xx (403, 400, ...), not 401 or 429.
    REFUSED = "refused"
    #: nDelius sent a body that is not the JSON, or not the shape, the reader needs.
    UNREADABLE = "unreadable"
    #: A limited-access flag with no usable list, or a list that cannot be parsed: the case is
    #: hidden from everyone (fail closed) until nDelius sends lists the bridge can apply.
    ACCESS_UNCLEAR = "access_unclear"
    #: Open entries that no current proxy may take (worked out when the list is read).
    UNTAKEABLE = "untakeable"
    #: The case was erased but making it physical failed (the SQLite WAL could not be
    #: truncated, a drop file could not be removed): retried by the retention job.
    ERASURE_INCOMPLETE = "erasure_incomplete"


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """Why a case's read failed: the error text (no content) and, when a person must look,
    the attention reason (None for a transient fault)."""

    error: str
    attention: AttentionReason | None = None


def case_reason(prepared: PreparedCase) -> AttentionReason | None:
    """Why a case read successfully needs a person; None when it does not."""
    if prepared.access_unclear:
        return AttentionReason.ACCESS_UNCLEAR
    if not prepared.scope.in_scope and prepared.scope.reason == NO_MANAGER:
        return AttentionReason.OFFICER_UNDETERMINED
    return None


def read_failure(exc: SourceError) -> ReadFailure:
    """A failed read as an outcome: its error (at most 500 characters) and attention reason."""
    return ReadFailure(str(exc)[:500], failure_reason(exc))


def failure_reason(exc: SourceError) -> AttentionReason | None:
    """Why a failed read needs a person; None for a transient fault (the retry set's)."""
    if isinstance(exc, Transient):
        return None
    if isinstance(exc, SourceNotFound):
        return AttentionReason.NOT_FOUND
    if isinstance(exc, SourceDataError):
        return AttentionReason.UNREADABLE
    if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 429):
        return AttentionReason.REFUSED
    return None
