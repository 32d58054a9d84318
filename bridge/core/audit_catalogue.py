"""The audit catalogue: every action's contract name, its DPA 2018 s.62 category and the detail
fields it may carry; the system actors; the `AuditEvent` a constructor returns. Pure.

`bridge.core.audit_events` holds one typed constructor per action and says what each category
means; this module is what they share (split out to keep each module single-purpose).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "ANONYMOUS",
    "CATALOGUE",
    "CLI",
    "DEMO",
    "RETENTION",
    "REVIEW",
    "SUBMIT",
    "SYNC",
    "ActionSpec",
    "AuditAction",
    "AuditEvent",
    "Category",
    "event",
    "given",
]


class Category(StrEnum):
    """The kind of processing (DPA 2018 s.62(1)); stored as the plain word."""

    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    COMBINATION = "combination"
    ERASURE = "erasure"


# -- actors that are not a member of staff (staff act under their staff code) ---------------

SYNC = "system:sync"  #: the sync (queueing, superseding, adoption, merges, erasure)
SUBMIT = "system:submit"  #: delivery to ViSOR through a sink
REVIEW = "system:review"  #: claims expiring on their own
CLI = "system:cli"  #: an operator's shell command with no `--as` (staff import, passwords)
DEMO = "system:demo"  #: the demo's set-up
RETENTION = "system:retention"  #: the retention job (content and metadata periods)
ANONYMOUS = "web:anonymous"  #: a sign-in attempt, before anyone is signed in


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One event to record: a row of `auditevent` without its time and chain values.

    `category` is a `Category` word, `action` an `AuditAction`, `actor` a staff code or one of
    the system actors above; `detail` holds ids, states, counts and reasons only.
    """

    category: str
    action: str
    actor: str
    crn: str | None = None
    entry_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def resolved(self, entry_id: int | None, **detail: Any) -> AuditEvent:
        """The same event once its entry's id is known (the sync writes entries in bulk)."""
        return replace(self, entry_id=entry_id, detail={**self.detail, **detail})


class AuditAction(StrEnum):
    """Every action the bridge records (**contract**: the names; stored and documented)."""

    ENTRY_QUEUED = "entry.queued"
    CASE_ADOPTED = "case.adopted"
    CASE_READ_FAILED = "case.read_failed"
    STAFF_ADDED = "staff.added"
    STAFF_IMPORTED = "staff.imported"
    ENTRY_SUPERSEDED = "entry.superseded"
    ENTRY_CLAIMED = "entry.claimed"
    ENTRY_RELEASED = "entry.released"
    ENTRY_CLAIM_EXPIRED = "entry.claim_expired"
    ENTRY_CLAIM_JOINED = "entry.claim_joined"
    ENTRY_REASSIGNED = "entry.reassigned"
    ENTRY_EDITED = "entry.edited"
    ENTRY_APPROVED = "entry.approved"
    ENTRY_REJECTED = "entry.rejected"
    ENTRY_FAILED = "entry.failed"
    ENTRY_REQUEUED = "entry.requeued"
    RETRY_SCHEDULED = "retry.scheduled"
    STAFF_UPDATED = "staff.updated"
    ACCOUNT_PASSWORD_SET = "account.password_set"  # noqa: S105 - an action, not a password
    ENTRY_VIEWED = "entry.viewed"
    STATUS_VIEWED = "status.viewed"
    CASES_LISTED = "cases.listed"
    TASKS_SEARCHED = "tasks.searched"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in.failed"
    SIGN_IN_THROTTLED = "sign_in.throttled"
    SIGN_OUT = "sign_out"
    SESSION_EXPIRED = "session.expired"
    ACCESS_REFUSED = "access.refused"
    ENTRY_SUBMITTED = "entry.submitted"
    ENTRY_ACCEPTED = "entry.accepted"
    ENTRY_ENTERED = "entry.entered"
    CASE_MERGED = "case.merged"
    CASE_ERASED = "case.erased"
    CASE_ATTENTION = "case.attention"
    CASE_ATTENTION_CLEARED = "case.attention_cleared"
    # issue 17: the audit log itself, retention, administrators' consultations
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_ARCHIVED = "audit.archived"
    CONTENT_PURGED = "content.purged"
    METADATA_PURGED = "metadata.purged"
    ERASURE_INCOMPLETE = "erasure.incomplete"
    REGISTRY_VIEWED = "registry.viewed"
    FAILURES_VIEWED = "failures.viewed"
    PRIVILEGE_REQUESTED = "privilege.requested"
    PRIVILEGE_APPROVED = "privilege.approved"
    PRIVILEGE_DECLINED = "privilege.declined"
    # issue 15: the workload pages and exports
    WORKLOAD_VIEWED = "workload.viewed"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action of the catalogue: its name, category and the detail fields it may carry."""

    name: AuditAction
    category: Category
    fields: tuple[str, ...] = ()


_A, _C = AuditAction, Category
#: action → its category and detail fields (in the table, the fields separated by spaces).
CATALOGUE: Mapping[AuditAction, ActionSpec] = {
    action: ActionSpec(action, category, tuple(fields.split()))
    for action, category, fields in (
        (_A.ENTRY_QUEUED, _C.COLLECTION, "section item kind mapping_version"),
        (_A.CASE_ADOPTED, _C.COLLECTION, "sections"),
        (_A.CASE_READ_FAILED, _C.COLLECTION, "attempts error"),
        (_A.CASE_ATTENTION, _C.COLLECTION, "reason"),
        (_A.CASE_ATTENTION_CLEARED, _C.COLLECTION, "reason"),
        (_A.STAFF_ADDED, _C.COLLECTION, "staff"),
        (_A.STAFF_IMPORTED, _C.COLLECTION, "added updated deactivated released"),
        (_A.ENTRY_SUPERSEDED, _C.ALTERATION, "reason by"),
        (_A.ENTRY_CLAIMED, _C.ALTERATION, ""),
        (_A.ENTRY_RELEASED, _C.ALTERATION, "was reason"),
        (_A.ENTRY_CLAIM_EXPIRED, _C.ALTERATION, "was"),
        (_A.ENTRY_CLAIM_JOINED, _C.ALTERATION, "holder"),
        (_A.ENTRY_REASSIGNED, _C.ALTERATION, "was to"),
        (_A.ENTRY_EDITED, _C.ALTERATION, "version fields"),
        (_A.ENTRY_APPROVED, _C.ALTERATION, "version"),
        (_A.ENTRY_REJECTED, _C.ALTERATION, ""),
        (_A.ENTRY_FAILED, _C.ALTERATION, "reason_sha256"),
        (_A.ENTRY_REQUEUED, _C.ALTERATION, "version"),
        (_A.RETRY_SCHEDULED, _C.ALTERATION, "was attempts"),
        (_A.STAFF_UPDATED, _C.ALTERATION, "staff fields"),
        (_A.ACCOUNT_PASSWORD_SET, _C.ALTERATION, "staff"),
        (_A.PRIVILEGE_REQUESTED, _C.ALTERATION, "staff request grants"),
        (_A.PRIVILEGE_APPROVED, _C.ALTERATION, "staff request grants requested_by"),
        (_A.PRIVILEGE_DECLINED, _C.ALTERATION, "staff request"),
        (_A.ENTRY_VIEWED, _C.CONSULTATION, "version purpose"),
        (_A.STATUS_VIEWED, _C.CONSULTATION, ""),
        (_A.CASES_LISTED, _C.CONSULTATION, "crns"),
        (_A.TASKS_SEARCHED, _C.CONSULTATION, "terms crns"),
        (_A.SIGN_IN, _C.CONSULTATION, "method"),
        (_A.SIGN_IN_FAILED, _C.CONSULTATION, "staff unknown_username method reason"),
        (_A.SIGN_IN_THROTTLED, _C.CONSULTATION, "staff username_hash"),
        (_A.SIGN_OUT, _C.CONSULTATION, ""),
        (_A.SESSION_EXPIRED, _C.CONSULTATION, ""),
        (_A.ACCESS_REFUSED, _C.CONSULTATION, "action"),
        (_A.ENTRY_SUBMITTED, _C.DISCLOSURE, "sink key resend version file sha256"),
        (_A.ENTRY_ACCEPTED, _C.DISCLOSURE, "sink version reference replayed"),
        (_A.ENTRY_ENTERED, _C.DISCLOSURE, "reference"),
        (_A.CASE_MERGED, _C.COMBINATION, "into"),
        (_A.CASE_ERASED, _C.ERASURE, "versions entries baselines case_state retry"),
        (_A.AUDIT_EXPORTED, _C.CONSULTATION, "events purpose"),
        (_A.AUDIT_ARCHIVED, _C.ERASURE, "events before after_event_id sha256"),
        (_A.CONTENT_PURGED, _C.ERASURE, "entries versions baselines tables"),
        (_A.METADATA_PURGED, _C.ERASURE, "entries"),
        (_A.ERASURE_INCOMPLETE, _C.ERASURE, "step"),
        (_A.REGISTRY_VIEWED, _C.CONSULTATION, "staff purpose"),
        (_A.FAILURES_VIEWED, _C.CONSULTATION, "entries purpose"),
        (_A.WORKLOAD_VIEWED, _C.CONSULTATION, "view teams staff weeks"),
    )
}


def event(
    action: AuditAction,
    actor: str,
    crn: str | None = None,
    entry_id: int | None = None,
    /,
    **detail: Any,
) -> AuditEvent:
    # Plain strings, as stored (a StrEnum member would do, but no adapter need know it).
    return AuditEvent(CATALOGUE[action].category.value, action.value, actor, crn, entry_id, detail)


def given(**detail: Any) -> dict[str, Any]:
    """The optional fields that have a value."""
    return {k: v for k, v in detail.items() if v is not None}
