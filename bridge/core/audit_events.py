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

from collections.abc import Sequence
from datetime import datetime

from bridge.core.audit_catalogue import (
    ANONYMOUS,
    CATALOGUE,
    CLI,
    DEMO,
    RETENTION,
    REVIEW,
    SUBMIT,
    SYNC,
    ActionSpec,
    AuditAction,
    AuditEvent,
    Category,
)
from bridge.core.audit_catalogue import event as _event
from bridge.core.audit_catalogue import given as _given

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
    "workload_viewed",
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

_A = AuditAction


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


def sign_in(actor: str, *, method: str | None = None) -> AuditEvent:
    """A member of staff signed in to the web pages (`method`: `oidc` for single sign-on;
    absent for a local password)."""
    return _event(_A.SIGN_IN, actor, **_given(method=method))


def sign_in_failed(
    actor: str, *, staff: str | None, method: str | None = None, reason: str | None = None
) -> AuditEvent:
    """A refused sign-in: the staff code tried, or only that no such username exists.
    Single sign-on adds `method` (`oidc`) and a `reason` from a fixed vocabulary (an unknown
    staff code, a deactivated person, or why the provider's answer was refused)."""
    extra = _given(method=method, reason=reason)
    if staff is None:
        if reason not in (None, "unknown_staff"):
            return _event(_A.SIGN_IN_FAILED, actor, **extra)  # nobody was named
        return _event(_A.SIGN_IN_FAILED, actor, unknown_username=True, **extra)
    return _event(_A.SIGN_IN_FAILED, actor, staff=staff, **extra)


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


def workload_viewed(
    actor: str, *, view: str, teams: Sequence[str], staff: int, weeks: int
) -> AuditEvent:
    """Someone looked at or exported workload figures (issue 15): which view (`my-work`,
    `workload`, `backlog`, `csv`, `json`, `cli`), the teams it covered, how many people's rows
    and weeks it showed. Counts and team codes only: no names, no CRNs."""
    return _event(
        _A.WORKLOAD_VIEWED,
        actor,
        None,
        None,
        view=view,
        teams=list(teams),
        staff=staff,
        weeks=weeks,
    )
