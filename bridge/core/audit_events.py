"""Every audit action the bridge records, with its DPA 2018 s.62 category: one catalogue, pure.

An action's name is its **contract** string (stored in `auditevent.action`, documented in
docs/data-protection.md, read by `audit export`): it is spelled here once, in `AuditAction`. Each
action has one typed constructor named after it (`entry.viewed` → `entry_viewed`), returning an
`AuditEvent` for `bridge.audit.record` to write. Details carry ids, states, counts, dates and
reasons — never record content (no names, dates of birth, addresses or XML).

The category says what the action does to the data: *collection* (a sync read queues an entry or
adopts a case's content; staff are added or imported), *alteration* (an entry's state, holder or
fields change, claims included; a staff record, password or retry changes), *consultation*
(someone looks at an entry, a case's status, a list of cases), *disclosure* (a record leaves for
ViSOR, through a sink or keyed in by a proxy), *combination* (nDelius merged two cases), *erasure*
(a case's data deleted at nDelius's GDPR request).

Sign-in events (`sign_in`, `sign_in.failed`, `sign_in.throttled`, `sign_out`, `session.expired`)
and refusals (`access.refused`) process no case data; they are logged for security (s.66), and
s.62 has no category for them. They are filed under the nearest, *consultation*: each is a check
of a staff record and its session (who is acting, may they) that opens, ends or refuses access
to consult case data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
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
    "access_refused",
    "audit_archived",
    "audit_exported",
    "content_purged",
    "erasure_incomplete",
    "failures_viewed",
    "metadata_purged",
    "registry_viewed",
    "account_password_set",
    "case_adopted",
    "case_attention",
    "case_attention_cleared",
    "case_erased",
    "case_merged",
    "case_read_failed",
    "cases_listed",
    "entry_accepted",
    "entry_approved",
    "entry_claim_expired",
    "entry_claim_joined",
    "entry_claimed",
    "entry_edited",
    "entry_entered",
    "entry_failed",
    "entry_queued",
    "entry_reassigned",
    "entry_rejected",
    "entry_released",
    "entry_requeued",
    "entry_submitted",
    "entry_superseded",
    "entry_viewed",
    "privilege_approved",
    "privilege_declined",
    "privilege_requested",
    "retry_scheduled",
    "session_expired",
    "sign_in",
    "sign_in_failed",
    "sign_in_throttled",
    "sign_out",
    "staff_added",
    "staff_imported",
    "staff_updated",
    "status_viewed",
    "tasks_searched",
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
        (_A.SIGN_IN, _C.CONSULTATION, ""),
        (_A.SIGN_IN_FAILED, _C.CONSULTATION, "staff unknown_username"),
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
    )
}


def _event(
    action: AuditAction,
    actor: str,
    crn: str | None = None,
    entry_id: int | None = None,
    /,
    **detail: Any,
) -> AuditEvent:
    # Plain strings, as stored (a StrEnum member would do, but no adapter need know it).
    return AuditEvent(CATALOGUE[action].category.value, action.value, actor, crn, entry_id, detail)


def _given(**detail: Any) -> dict[str, Any]:
    """The optional fields that have a value."""
    return {k: v for k, v in detail.items() if v is not None}


# -- collection -----------------------------------------------------------------------------


def entry_queued(
    actor: str,
    crn: str,
    entry_id: int | None,
    *,
    section: str,
    item: str | None,
    kind: str,
    mapping_version: str,
) -> AuditEvent:
    """A sync read queued a new entry for one section (activity: one contact, `item`)."""
    detail = {"section": section, "item": item, "kind": kind, "mapping_version": mapping_version}
    return _event(_A.ENTRY_QUEUED, actor, crn, entry_id, **detail)


def case_adopted(actor: str, crn: str, *, sections: Sequence[str]) -> AuditEvent:
    """Go-live: a case already on ViSOR; what nDelius holds became the baseline, unqueued."""
    return _event(_A.CASE_ADOPTED, actor, crn, None, sections=list(sections))


def case_read_failed(actor: str, crn: str, *, attempts: int, error: str) -> AuditEvent:
    """Reading a case from nDelius failed; it is in the retry set (`error`: a hash of the
    error text kept on the retry item, never the text)."""
    return _event(_A.CASE_READ_FAILED, actor, crn, None, attempts=attempts, error=error)


def case_attention(actor: str, crn: str, *, reason: str) -> AuditEvent:
    """A sync read put the case on the attention list (`reason`: a code, see core.attention)."""
    return _event(_A.CASE_ATTENTION, actor, crn, None, reason=reason)


def case_attention_cleared(actor: str, crn: str, *, reason: str) -> AuditEvent:
    """A later read resolved it: the case left the attention list (`reason`: the one it had)."""
    return _event(_A.CASE_ATTENTION_CLEARED, actor, crn, None, reason=reason)


def staff_added(actor: str, *, staff: str) -> AuditEvent:
    """An administrator added a member of staff (their code only)."""
    return _event(_A.STAFF_ADDED, actor, staff=staff)


def staff_imported(
    actor: str, *, added: int, updated: int, deactivated: int, released: int
) -> AuditEvent:
    """The staff registry was imported from a file (counts only)."""
    counts = {"added": added, "updated": updated, "deactivated": deactivated, "released": released}
    return _event(_A.STAFF_IMPORTED, actor, **counts)


# -- alteration -----------------------------------------------------------------------------


def entry_superseded(
    actor: str, crn: str, entry_id: int | None, *, reason: str, by: int | None
) -> AuditEvent:
    """A newer read replaced an unapproved entry (`by`: the new entry), or it left scope."""
    return _event(_A.ENTRY_SUPERSEDED, actor, crn, entry_id, reason=reason, by=by)


def entry_claimed(actor: str, crn: str, entry_id: int | None) -> AuditEvent:
    """A proxy claimed a pending entry."""
    return _event(_A.ENTRY_CLAIMED, actor, crn, entry_id)


def entry_released(
    actor: str,
    crn: str,
    entry_id: int | None,
    *,
    was: str | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """A claim went back to the queue: by its proxy, an administrator (`was`: the holder), or
    because the holder left the staff registry (`reason`)."""
    return _event(_A.ENTRY_RELEASED, actor, crn, entry_id, **_given(reason=reason, was=was))


def entry_claim_expired(actor: str, crn: str, entry_id: int | None, *, was: str) -> AuditEvent:
    """A claim outlived the claim time limit and went back to the queue."""
    return _event(_A.ENTRY_CLAIM_EXPIRED, actor, crn, entry_id, was=was)


def entry_claim_joined(actor: str, crn: str, entry_id: int | None, *, holder: str) -> AuditEvent:
    """A new entry of a case a proxy has claimed was claimed for them (it joined their task)."""
    return _event(_A.ENTRY_CLAIM_JOINED, actor, crn, entry_id, holder=holder)


def entry_reassigned(
    actor: str, crn: str, entry_id: int | None, *, was: str | None, to: str
) -> AuditEvent:
    """An administrator gave an open entry to a named proxy."""
    return _event(_A.ENTRY_REASSIGNED, actor, crn, entry_id, was=was, to=to)


def entry_edited(
    actor: str, crn: str, entry_id: int | None, *, version: int, fields: Sequence[str]
) -> AuditEvent:
    """A proxy edited fields of a claimed entry (their names only, never the values)."""
    return _event(_A.ENTRY_EDITED, actor, crn, entry_id, version=version, fields=list(fields))


def entry_approved(actor: str, crn: str, entry_id: int | None, *, version: int) -> AuditEvent:
    """A proxy approved an entry at `version`."""
    return _event(_A.ENTRY_APPROVED, actor, crn, entry_id, version=version)


def entry_rejected(actor: str, crn: str, entry_id: int | None) -> AuditEvent:
    """A proxy rejected an entry (the reason is on the entry, for the offender manager)."""
    return _event(_A.ENTRY_REJECTED, actor, crn, entry_id)


def entry_failed(
    actor: str, crn: str, entry_id: int | None, *, reason_sha256: str | None
) -> AuditEvent:
    """The sink refused an entry (`reason_sha256`: a hash of the reason kept on the entry,
    never the sink's text — see core.failure_text)."""
    return _event(_A.ENTRY_FAILED, actor, crn, entry_id, reason_sha256=reason_sha256)


def entry_requeued(actor: str, crn: str, entry_id: int | None, *, version: int) -> AuditEvent:
    """A failed entry went back to approved, to be sent again."""
    return _event(_A.ENTRY_REQUEUED, actor, crn, entry_id, version=version)


def retry_scheduled(actor: str, crn: str, *, was: datetime, attempts: int) -> AuditEvent:
    """An administrator made a case in the retry set due now (`was`: when it was due)."""
    return _event(_A.RETRY_SCHEDULED, actor, crn, None, was=was.isoformat(), attempts=attempts)


def staff_updated(actor: str, *, staff: str, fields: Sequence[str]) -> AuditEvent:
    """An administrator changed a member of staff (the names of the fields changed)."""
    return _event(_A.STAFF_UPDATED, actor, staff=staff, fields=list(fields))


def account_password_set(actor: str, *, staff: str) -> AuditEvent:
    """A web sign-in password was set (their sessions end)."""
    return _event(_A.ACCOUNT_PASSWORD_SET, actor, staff=staff)


def privilege_requested(
    actor: str, *, staff: str, request: int, grants: Sequence[str]
) -> AuditEvent:
    """An administrator asked to grant a privilege (the proxy or administrator role, vetting,
    another person's password); it waits for a second administrator (the grants' names only)."""
    return _event(_A.PRIVILEGE_REQUESTED, actor, staff=staff, request=request, grants=list(grants))


def privilege_approved(
    actor: str, *, staff: str, request: int, grants: Sequence[str], requested_by: str
) -> AuditEvent:
    """A second administrator approved a privilege request: the change was applied."""
    return _event(
        _A.PRIVILEGE_APPROVED,
        actor,
        staff=staff,
        request=request,
        grants=list(grants),
        requested_by=requested_by,
    )


def privilege_declined(actor: str, *, staff: str, request: int) -> AuditEvent:
    """An administrator declined (or its requester withdrew) a privilege request."""
    return _event(_A.PRIVILEGE_DECLINED, actor, staff=staff, request=request)


# -- consultation -----------------------------------------------------------------------------


def entry_viewed(
    actor: str, crn: str, entry_id: int | None, *, version: int, purpose: str | None = None
) -> AuditEvent:
    """A proxy viewed an entry's record and diff (`purpose`: why, when given)."""
    return _event(_A.ENTRY_VIEWED, actor, crn, entry_id, version=version, **_given(purpose=purpose))


def status_viewed(actor: str, crn: str) -> AuditEvent:
    """Someone viewed a case's status (states, dates, reasons)."""
    return _event(_A.STATUS_VIEWED, actor, crn)


def cases_listed(actor: str, *, crns: Sequence[str]) -> AuditEvent:
    """An offender manager listed their cases (the CRNs shown)."""
    return _event(_A.CASES_LISTED, actor, crns=list(crns))


def tasks_searched(actor: str, *, terms: str, crns: Sequence[str]) -> AuditEvent:
    """A proxy searched tasks by name: `terms` is a keyed HMAC of the words (never the words
    themselves), `crns` the cases shown."""
    return _event(_A.TASKS_SEARCHED, actor, terms=terms, crns=list(crns))


def sign_in(actor: str) -> AuditEvent:
    """A member of staff signed in to the web pages."""
    return _event(_A.SIGN_IN, actor)


def sign_in_failed(actor: str, *, staff: str | None) -> AuditEvent:
    """A refused sign-in: the staff code tried, or only that no such username exists."""
    if staff is None:
        return _event(_A.SIGN_IN_FAILED, actor, unknown_username=True)
    return _event(_A.SIGN_IN_FAILED, actor, staff=staff)


def sign_in_throttled(
    actor: str, *, staff: str | None = None, username_hash: str | None = None
) -> AuditEvent:
    """A sign-in refused unchecked: too many failures for the username, the client address or
    everyone. `staff` when the name typed is a staff code, else only a short hash of it."""
    return _event(_A.SIGN_IN_THROTTLED, actor, **_given(staff=staff, username_hash=username_hash))


def sign_out(actor: str) -> AuditEvent:
    """A member of staff signed out."""
    return _event(_A.SIGN_OUT, actor)


def session_expired(actor: str) -> AuditEvent:
    """A web session ended unasked: idle too long, or its staff member is inactive."""
    return _event(_A.SESSION_EXPIRED, actor)


def access_refused(actor: str, *, action: str, entry_id: int | None = None) -> AuditEvent:
    """An action refused for want of permission (`action`: what was tried, e.g. `view`)."""
    return _event(_A.ACCESS_REFUSED, actor, None, entry_id, action=action)


# -- disclosure -------------------------------------------------------------------------------


def entry_submitted(
    actor: str,
    crn: str,
    entry_id: int | None,
    *,
    sink: str,
    key: str | None = None,
    resend: bool | None = None,
    version: int | None = None,
    file: str | None = None,
    sha256: str | None = None,
) -> AuditEvent:
    """An entry sent through a sink: before a visor-http request (`key`, `resend`), or after a
    file-drop write (`version`, `file`, `sha256`)."""
    detail = _given(key=key, resend=resend, version=version, file=file, sha256=sha256)
    return _event(_A.ENTRY_SUBMITTED, actor, crn, entry_id, sink=sink, **detail)


def entry_accepted(
    actor: str,
    crn: str,
    entry_id: int | None,
    *,
    sink: str,
    version: int,
    reference: str,
    replayed: bool | None = None,
) -> AuditEvent:
    """ViSOR acknowledged an entry with its reference (`replayed`: it had it already)."""
    detail = _given(sink=sink, version=version, reference=reference, replayed=replayed)
    return _event(_A.ENTRY_ACCEPTED, actor, crn, entry_id, **detail)


def entry_entered(actor: str, crn: str, entry_id: int | None, *, reference: str) -> AuditEvent:
    """A proxy keyed an entry into ViSOR by hand and recorded its reference."""
    return _event(_A.ENTRY_ENTERED, actor, crn, entry_id, reference=reference)


# -- combination and erasure -----------------------------------------------------------------


def case_merged(actor: str, crn: str, *, into: str) -> AuditEvent:
    """nDelius merged the case `crn` into `into`; its open work was superseded."""
    return _event(_A.CASE_MERGED, actor, crn, None, into=into)


def case_erased(
    actor: str,
    crn: str,
    *,
    versions: int,
    entries: int,
    baselines: int,
    case_state: int,
    retry: int,
) -> AuditEvent:
    """nDelius deleted the person (GDPR): how many rows of each kind were removed."""
    rows = {"versions": versions, "entries": entries, "baselines": baselines}
    return _event(_A.CASE_ERASED, actor, crn, None, **rows, case_state=case_state, retry=retry)


# -- the audit log itself, retention, administrators' consultations (issue 17) -----------


def audit_exported(actor: str, crn: str, *, events: int, purpose: str) -> AuditEvent:
    """An administrator exported one person's audit events (subject access; `purpose`: a code)."""
    return _event(_A.AUDIT_EXPORTED, actor, crn, None, events=events, purpose=purpose)


def audit_archived(
    actor: str, *, events: int, before: str, after_event_id: int, sha256: str
) -> AuditEvent:
    """The owner archived the events before `before`; the chain starts after `after_event_id`."""
    detail = {"events": events, "before": before, "after_event_id": after_event_id}
    return _event(_A.AUDIT_ARCHIVED, actor, None, None, **detail, sha256=sha256)


def content_purged(
    actor: str, crn: str, *, entries: int, versions: int, baselines: int, tables: Sequence[str]
) -> AuditEvent:
    """Retention removed a case's record content (counts; `tables`: registered ones)."""
    rows = {"entries": entries, "versions": versions, "baselines": baselines}
    return _event(_A.CONTENT_PURGED, actor, crn, None, **rows, tables=list(tables))


def metadata_purged(actor: str, crn: str, *, entries: int) -> AuditEvent:
    """Retention removed a case's remaining metadata after the metadata period."""
    return _event(_A.METADATA_PURGED, actor, crn, None, entries=entries)


def erasure_incomplete(actor: str, crn: str, *, step: str) -> AuditEvent:
    """An erasure could not be made physical (`step`: a code); the case is listed, not erased."""
    return _event(_A.ERASURE_INCOMPLETE, actor, crn, None, step=step)


def registry_viewed(actor: str, *, staff: int, purpose: str) -> AuditEvent:
    """An administrator consulted the staff registry (`staff`: how many records were shown)."""
    return _event(_A.REGISTRY_VIEWED, actor, None, None, staff=staff, purpose=purpose)


def failures_viewed(actor: str, *, entries: Sequence[int], purpose: str) -> AuditEvent:
    """An administrator consulted failed submissions and their (filtered) sink reasons."""
    return _event(_A.FAILURES_VIEWED, actor, None, None, entries=list(entries), purpose=purpose)
