"""Every audit action the bridge records, with its DPA 2018 s.62 category: one catalogue, pure.

An action's name is its **contract** string (stored in `auditevent.action`, documented in
docs/data-handling.md, read by `audit export`): it is spelled here once. Each action has one
typed constructor, named after it (dots as underscores: `entry.viewed` → `entry_viewed`), which
returns an `AuditEvent` for `bridge.audit.record` to write. Details carry ids, states, counts,
dates and reasons — never record content (no names, dates of birth, addresses or XML).

The s.62 categories are those of the Act (collection, alteration, consultation, disclosure,
combination, erasure), chosen by what the action does to the data:

- *collection*: data comes in — a sync read queues an entry or adopts a case's content as the
  baseline (and a read that failed); staff are added or imported from a file.
- *alteration*: an entry's state, holder or fields change (claim, release, approve, edit…); a
  staff record or password changes; a retry is rescheduled.
- *consultation*: someone looks — an entry's record and diff, a case's status, a list of cases.
- *disclosure*: a record leaves for ViSOR — through a sink, or keyed in by a proxy.
- *combination*: nDelius merged two cases, so one person's records are combined.
- *erasure*: a case's data is deleted (GDPR deletion from nDelius).

Sign-in events (`sign_in`, `sign_in.failed`, `sign_in.throttled`, `sign_out`,
`session.expired`) and refusals (`access.refused`) process no case data; they are logged for
security (s.66). s.62 has no category for them, so they are filed under the nearest,
*consultation*: each is a check of a staff record and its session (who is acting, may they)
that opens, ends or refuses access to consult case data. Claiming an entry is an *alteration*
(its state and holder change); the content is consulted when it is viewed (`entry.viewed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ANONYMOUS",
    "CATALOGUE",
    "CLI",
    "DEMO",
    "REVIEW",
    "SUBMIT",
    "SYNC",
    "ActionSpec",
    "AuditEvent",
    "Category",
    "access_refused",
    "account_password_set",
    "case_adopted",
    "case_erased",
    "case_merged",
    "case_read_failed",
    "cases_listed",
    "entry_accepted",
    "entry_approved",
    "entry_claim_expired",
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
ANONYMOUS = "web:anonymous"  #: a sign-in attempt, before anyone is signed in


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One event to record (a row of `auditevent` without its time and chain values).

    Attributes:
        category: the s.62 category (a `Category` word).
        action: the catalogue name, e.g. `entry.viewed`.
        actor: a staff code, or one of the system actors above.
        crn: the case, if any.
        entry_id: the entry, if any.
        detail: ids, states, counts and reasons only.
    """

    category: str
    action: str
    actor: str
    crn: str | None = None
    entry_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def resolved(self, entry_id: int | None, **detail: Any) -> AuditEvent:
        """The same event once its entry's id is known (the sync writes entries in bulk)."""
        return AuditEvent(
            self.category,
            self.action,
            self.actor,
            self.crn,
            entry_id,
            {**self.detail, **detail} if detail else self.detail,
        )


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action of the catalogue: its name, category and the detail fields it may carry."""

    name: str
    category: Category
    fields: tuple[str, ...] = ()

    def event(
        self, actor: str, crn: str | None = None, entry_id: int | None = None, /, **detail: Any
    ) -> AuditEvent:
        return AuditEvent(self.category, self.name, actor, crn, entry_id, detail)


CATALOGUE: dict[str, ActionSpec] = {}


def _action(name: str, category: Category, *fields: str) -> ActionSpec:
    spec = ActionSpec(name, category, fields)
    assert name not in CATALOGUE, f"{name} is catalogued twice"
    CATALOGUE[name] = spec
    return spec


_C = Category
_ENTRY_QUEUED = _action("entry.queued", _C.COLLECTION, "section", "item", "kind", "mapping_version")
_CASE_ADOPTED = _action("case.adopted", _C.COLLECTION, "sections")
_CASE_READ_FAILED = _action("case.read_failed", _C.COLLECTION, "attempts", "error")
_STAFF_ADDED = _action("staff.added", _C.COLLECTION, "staff")
_STAFF_IMPORTED = _action(
    "staff.imported", _C.COLLECTION, "added", "updated", "deactivated", "released"
)
_ENTRY_SUPERSEDED = _action("entry.superseded", _C.ALTERATION, "reason", "by")
_ENTRY_CLAIMED = _action("entry.claimed", _C.ALTERATION)
_ENTRY_RELEASED = _action("entry.released", _C.ALTERATION, "was", "reason")
_ENTRY_CLAIM_EXPIRED = _action("entry.claim_expired", _C.ALTERATION, "was")
_ENTRY_REASSIGNED = _action("entry.reassigned", _C.ALTERATION, "was", "to")
_ENTRY_EDITED = _action("entry.edited", _C.ALTERATION, "version", "fields")
_ENTRY_APPROVED = _action("entry.approved", _C.ALTERATION, "version")
_ENTRY_REJECTED = _action("entry.rejected", _C.ALTERATION)
_ENTRY_FAILED = _action("entry.failed", _C.ALTERATION, "reason")
_ENTRY_REQUEUED = _action("entry.requeued", _C.ALTERATION, "version")
_RETRY_SCHEDULED = _action("retry.scheduled", _C.ALTERATION, "was", "attempts")
_STAFF_UPDATED = _action("staff.updated", _C.ALTERATION, "staff", "fields")
_ACCOUNT_PASSWORD_SET = _action("account.password_set", _C.ALTERATION, "staff")
_ENTRY_VIEWED = _action("entry.viewed", _C.CONSULTATION, "version", "purpose")
_STATUS_VIEWED = _action("status.viewed", _C.CONSULTATION)
_CASES_LISTED = _action("cases.listed", _C.CONSULTATION, "crns")
_SIGN_IN = _action("sign_in", _C.CONSULTATION)
_SIGN_IN_FAILED = _action("sign_in.failed", _C.CONSULTATION, "staff", "unknown_username")
_SIGN_IN_THROTTLED = _action("sign_in.throttled", _C.CONSULTATION, "staff")
_SIGN_OUT = _action("sign_out", _C.CONSULTATION)
_SESSION_EXPIRED = _action("session.expired", _C.CONSULTATION)
_ACCESS_REFUSED = _action("access.refused", _C.CONSULTATION, "action")
_ENTRY_SUBMITTED = _action(
    "entry.submitted", _C.DISCLOSURE, "sink", "key", "resend", "version", "file", "sha256"
)
_ENTRY_ACCEPTED = _action(
    "entry.accepted", _C.DISCLOSURE, "sink", "version", "reference", "replayed", "file", "sha256"
)
_ENTRY_ENTERED = _action("entry.entered", _C.DISCLOSURE, "reference")
_CASE_MERGED = _action("case.merged", _C.COMBINATION, "into")
_CASE_ERASED = _action(
    "case.erased", _C.ERASURE, "versions", "entries", "baselines", "case_state", "retry"
)


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
    return _ENTRY_QUEUED.event(
        actor, crn, entry_id, section=section, item=item, kind=kind, mapping_version=mapping_version
    )


def case_adopted(actor: str, crn: str, *, sections: Sequence[str]) -> AuditEvent:
    """Go-live: a case already on ViSOR; what nDelius holds became the baseline, unqueued."""
    return _CASE_ADOPTED.event(actor, crn, None, sections=list(sections))


def case_read_failed(actor: str, crn: str, *, attempts: int, error: str) -> AuditEvent:
    """Reading a case from nDelius failed; it is in the retry set (`error`: the error class)."""
    return _CASE_READ_FAILED.event(actor, crn, None, attempts=attempts, error=error)


def staff_added(actor: str, *, staff: str) -> AuditEvent:
    """An administrator added a member of staff (their code only)."""
    return _STAFF_ADDED.event(actor, staff=staff)


def staff_imported(
    actor: str, *, added: int, updated: int, deactivated: int, released: int
) -> AuditEvent:
    """The staff registry was imported from a file (counts only)."""
    return _STAFF_IMPORTED.event(
        actor, added=added, updated=updated, deactivated=deactivated, released=released
    )


# -- alteration -----------------------------------------------------------------------------


def entry_superseded(
    actor: str, crn: str, entry_id: int | None, *, reason: str, by: int | None
) -> AuditEvent:
    """A newer read replaced an unapproved entry (`by`: the new entry), or it left scope."""
    return _ENTRY_SUPERSEDED.event(actor, crn, entry_id, reason=reason, by=by)


def entry_claimed(actor: str, crn: str, entry_id: int | None) -> AuditEvent:
    """A proxy claimed a pending entry."""
    return _ENTRY_CLAIMED.event(actor, crn, entry_id)


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
    return _ENTRY_RELEASED.event(actor, crn, entry_id, **_given(reason=reason, was=was))


def entry_claim_expired(actor: str, crn: str, entry_id: int | None, *, was: str) -> AuditEvent:
    """A claim outlived the claim time limit and went back to the queue."""
    return _ENTRY_CLAIM_EXPIRED.event(actor, crn, entry_id, was=was)


def entry_reassigned(
    actor: str, crn: str, entry_id: int | None, *, was: str | None, to: str
) -> AuditEvent:
    """An administrator gave an open entry to a named proxy."""
    return _ENTRY_REASSIGNED.event(actor, crn, entry_id, was=was, to=to)


def entry_edited(
    actor: str, crn: str, entry_id: int | None, *, version: int, fields: Sequence[str]
) -> AuditEvent:
    """A proxy edited fields of a claimed entry (their names only, never the values)."""
    return _ENTRY_EDITED.event(actor, crn, entry_id, version=version, fields=list(fields))


def entry_approved(actor: str, crn: str, entry_id: int | None, *, version: int) -> AuditEvent:
    """A proxy approved an entry at `version`."""
    return _ENTRY_APPROVED.event(actor, crn, entry_id, version=version)


def entry_rejected(actor: str, crn: str, entry_id: int | None) -> AuditEvent:
    """A proxy rejected an entry (the reason is on the entry, for the offender manager)."""
    return _ENTRY_REJECTED.event(actor, crn, entry_id)


def entry_failed(actor: str, crn: str, entry_id: int | None, *, reason: str | None) -> AuditEvent:
    """The sink refused an entry (`reason`: ViSOR's messages, quoted values masked)."""
    return _ENTRY_FAILED.event(actor, crn, entry_id, reason=reason)


def entry_requeued(actor: str, crn: str, entry_id: int | None, *, version: int) -> AuditEvent:
    """A failed entry went back to approved, to be sent again."""
    return _ENTRY_REQUEUED.event(actor, crn, entry_id, version=version)


def retry_scheduled(actor: str, crn: str, *, was: datetime, attempts: int) -> AuditEvent:
    """An administrator made a case in the retry set due now (`was`: when it was due)."""
    return _RETRY_SCHEDULED.event(actor, crn, None, was=was.isoformat(), attempts=attempts)


def staff_updated(actor: str, *, staff: str, fields: Sequence[str]) -> AuditEvent:
    """An administrator changed a member of staff (the names of the fields changed)."""
    return _STAFF_UPDATED.event(actor, staff=staff, fields=list(fields))


def account_password_set(actor: str, *, staff: str) -> AuditEvent:
    """A web sign-in password was set (their sessions end)."""
    return _ACCOUNT_PASSWORD_SET.event(actor, staff=staff)


# -- consultation -----------------------------------------------------------------------------


def entry_viewed(
    actor: str, crn: str, entry_id: int | None, *, version: int, purpose: str | None = None
) -> AuditEvent:
    """A proxy viewed an entry's record and diff (`purpose`: why, when given)."""
    return _ENTRY_VIEWED.event(actor, crn, entry_id, version=version, **_given(purpose=purpose))


def status_viewed(actor: str, crn: str) -> AuditEvent:
    """Someone viewed a case's status (states, dates, reasons)."""
    return _STATUS_VIEWED.event(actor, crn)


def cases_listed(actor: str, *, crns: Sequence[str]) -> AuditEvent:
    """An offender manager listed their cases (the CRNs shown)."""
    return _CASES_LISTED.event(actor, crns=list(crns))


def sign_in(actor: str) -> AuditEvent:
    """A member of staff signed in to the web pages."""
    return _SIGN_IN.event(actor)


def sign_in_failed(actor: str, *, staff: str | None) -> AuditEvent:
    """A refused sign-in: the staff code tried, or only that no such username exists."""
    if staff is None:
        return _SIGN_IN_FAILED.event(actor, unknown_username=True)
    return _SIGN_IN_FAILED.event(actor, staff=staff)


def sign_in_throttled(actor: str, *, staff: str) -> AuditEvent:
    """A sign-in refused unchecked: too many failures for the username or client address."""
    return _SIGN_IN_THROTTLED.event(actor, staff=staff)


def sign_out(actor: str) -> AuditEvent:
    """A member of staff signed out."""
    return _SIGN_OUT.event(actor)


def session_expired(actor: str) -> AuditEvent:
    """A web session ended unasked: idle too long, or its staff member is inactive."""
    return _SESSION_EXPIRED.event(actor)


def access_refused(actor: str, *, action: str, entry_id: int | None = None) -> AuditEvent:
    """An action refused for want of permission (`action`: what was tried, e.g. `view`)."""
    return _ACCESS_REFUSED.event(actor, None, entry_id, action=action)


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
    return _ENTRY_SUBMITTED.event(actor, crn, entry_id, sink=sink, **detail)


def entry_accepted(
    actor: str,
    crn: str,
    entry_id: int | None,
    *,
    sink: str,
    version: int,
    reference: str,
    replayed: bool | None = None,
    file: str | None = None,
    sha256: str | None = None,
) -> AuditEvent:
    """ViSOR acknowledged an entry with its reference (`replayed`: it had it already)."""
    detail = _given(replayed=replayed, file=file, sha256=sha256)
    return _ENTRY_ACCEPTED.event(
        actor, crn, entry_id, sink=sink, version=version, reference=reference, **detail
    )


def entry_entered(actor: str, crn: str, entry_id: int | None, *, reference: str) -> AuditEvent:
    """A proxy keyed an entry into ViSOR by hand and recorded its reference."""
    return _ENTRY_ENTERED.event(actor, crn, entry_id, reference=reference)


# -- combination and erasure -----------------------------------------------------------------


def case_merged(actor: str, crn: str, *, into: str) -> AuditEvent:
    """nDelius merged the case `crn` into `into`; its open work was superseded."""
    return _CASE_MERGED.event(actor, crn, None, into=into)


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
    return _CASE_ERASED.event(
        actor,
        crn,
        None,
        versions=versions,
        entries=entries,
        baselines=baselines,
        case_state=case_state,
        retry=retry,
    )
