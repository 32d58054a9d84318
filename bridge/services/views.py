"""What services hand to the entrypoints: frozen dataclasses, never store rows or loose dicts.

The CLI's `--json` output and the JSON API are contracts (ARCHITECTURE §6): `jsonable` turns a
view into plain JSON values in its fields' order, with dates and times as ISO 8601 text, so the
documents stay exactly what they were when services returned dicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

__all__ = [
    "PrivilegeRequestRow",
    "StaffChange",
    "AttentionRow",
    "AuditExportRow",
    "AuditVerification",
    "ChainAnchor",
    "CaseStatus",
    "CaseSummary",
    "EditableSection",
    "EditedEntry",
    "ExpiringVetting",
    "FailedSubmission",
    "EntryShown",
    "EntrySummary",
    "HistoryItem",
    "ImportResult",
    "Person",
    "QueueRow",
    "RequeueAll",
    "Setting",
    "StaffRecord",
    "StatusEntry",
    "Untakeable",
    "jsonable",
]


def jsonable(value: Any) -> Any:
    """A view (or a list or dict of them) as JSON values: dataclasses become objects in field
    order, dates and times ISO 8601 text, enums their value; everything else as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Person:
    """A member of staff as the entrypoints see them: who, in which roles (no password hash)."""

    code: str
    name: str
    roles: list[str]
    team: str | None = None
    active: bool = True
    vetting_level: str | None = None
    vetting_expires: date | None = None
    needs_proxy_since: date | None = None
    needs_proxy_until: date | None = None

    @classmethod
    def of(cls, staff: Any) -> Person:
        """From anything with a staff row's attributes."""
        return cls(
            code=staff.code,
            name=staff.name,
            roles=list(staff.roles),
            team=staff.team,
            active=staff.active,
            vetting_level=staff.vetting_level,
            vetting_expires=staff.vetting_expires,
            needs_proxy_since=staff.needs_proxy_since,
            needs_proxy_until=staff.needs_proxy_until,
        )


# -- the offender manager's view --------------------------------------------------------------


@dataclass(frozen=True)
class StatusEntry:
    """One entry of a case as its offender manager sees it: states, dates, reasons only."""

    id: int
    section: str
    kind: str
    status: str
    created_at: datetime
    due_date: date
    entered_at: date | None
    reason: str | None  # a return's or a supersession's reason; never a sink's message


@dataclass(frozen=True)
class CaseStatus:
    """`visor-bridge status --json`, GET /api/cases/{crn}/status and the case page."""

    crn: str
    entries: list[StatusEntry]


@dataclass(frozen=True)
class CaseSummary:
    """One row of "My cases": counts by state and the latest entry date (never content)."""

    crn: str
    waiting: int
    with_proxy: int
    returned: int
    entered_on: date | None
    latest_reason: str | None
    overdue: int = 0  # open entries past their due date
    next_due: date | None = None  # the earliest due date of an open entry
    unopened: int = 0  # returns (not since replaced) the officer has not opened the case for


@dataclass(frozen=True)
class CasePage:
    """The officer's case page: the case's status and what the page says of each entry."""

    status: CaseStatus
    overdue: frozenset[int]  # ids of open entries past their due date
    replaced: frozenset[int]  # ids of returned entries a newer one for their part replaced


# -- the queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntrySummary:
    """An entry's metadata as entry actions print it (the keys of `queue list` without
    `overdue`); never record content."""

    id: int
    crn: str
    kind: str
    section: str
    status: str
    on_behalf_of: str
    created_at: datetime
    due_date: date
    issues: list[dict[str, Any]]

    @classmethod
    def of(cls, entry: Any) -> EntrySummary:
        """From anything with an entry row's attributes."""
        return cls(
            id=entry.id,
            crn=entry.crn,
            kind=entry.kind,
            section=entry.section,
            status=entry.status,
            on_behalf_of=entry.on_behalf_of,
            created_at=entry.created_at,
            due_date=entry.due_date,
            issues=list(entry.issues or []),
        )


@dataclass(frozen=True)
class HistoryItem:
    """One audit event of an entry, as its page and `entry show` list them."""

    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class EntryShown(EntrySummary):
    """An entry with its record for a permitted proxy (`entry show --json`): an audited view."""

    xml: str | None
    diff: list[dict[str, Any]]
    version: int
    reason: str | None
    visor_reference: str | None
    entered_at: date | None
    claimed_by: str | None
    owning_force: str | None
    history: list[HistoryItem]
    #: Values nDelius sent that ViSOR cannot take, by issue path (shown beside their issues).
    sent: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EditableSection:
    """What an edit form starts from: the entry's section, its record as it stands, its issues."""

    section: str
    xml: str | None
    issues: list[dict[str, Any]]


@dataclass(frozen=True)
class EditedEntry(EntrySummary):
    """`entry edit --json`: the entry's metadata, its new version and its diff."""

    version: int
    diff: list[dict[str, Any]]


@dataclass(frozen=True)
class QueueRow:
    """An entry's queue metadata (the contract keys of `queue list`), never record content."""

    id: int
    crn: str
    kind: str
    section: str
    status: str
    on_behalf_of: str
    created_at: datetime
    due_date: date
    issues: list[dict[str, Any]]
    overdue: bool
    owning_force: str | None = field(default=None, compare=False)
    claimed_by: str | None = field(default=None, compare=False)

    def listed(self) -> dict[str, Any]:
        """The `queue list --json` object: the metadata and `overdue`."""
        out = jsonable(self)
        del out["owning_force"], out["claimed_by"]
        return dict(out)


# -- failed submissions and the staff registry --------------------------------------------------


@dataclass(frozen=True)
class RequeueAll:
    """`visor-bridge entry requeue --all-failed --json`."""

    requeued: list[int]
    not_permitted: int


@dataclass(frozen=True)
class StaffRecord:
    """A registry row for administrators (no password hash; no vetting outcome is stored)."""

    code: str
    name: str
    roles: list[str]
    team: str | None
    vetting_level: str | None
    vetting_expires: date | None
    vetting_state: str | None  # "expired", "expiring_soon", "current", or None
    needs_proxy_since: date | None
    needs_proxy_until: date | None
    needs_proxy_now: bool
    active: bool
    has_password: bool
    manages: list[str] = field(default_factory=list)  # a manager's teams (issue 15)
    email: str | None = None  # where notifications go (issue 16)


@dataclass(frozen=True)
class StaffChange:
    """What an administrator's change to a member of staff did: applied at once, or held as a
    privilege request (`request`) for a second administrator to approve."""

    code: str
    request: int | None = None


@dataclass(frozen=True)
class PrivilegeRequestRow:
    """A privilege change waiting for a second administrator (no password, no hash)."""

    id: int
    staff: str
    name: str | None
    kind: str
    grants: list[str]
    requested_by: str
    requested_at: datetime
    outcome: str | None
    decided_by: str | None


@dataclass(frozen=True)
class SyncRunRow:
    """One sync run and what it did (the administrators' sync page)."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    full: bool
    status: str
    events_read: int
    cases_fetched: int
    entries_created: int
    entries_superseded: int
    cases_failed: int
    cursor: int | None
    error: str | None


@dataclass(frozen=True)
class Untakeable:
    """A case with open entries that no current proxy may take, and why."""

    crn: str
    open_entries: int
    why: str


@dataclass(frozen=True)
class AttentionRow:
    """A case a person must look at (`admin attention`, **contract** keys): its CRN, the reason
    code (`bridge.core.attention.AttentionReason`) and since when (a UTC datetime)."""

    crn: str
    reason: str
    since: datetime


@dataclass(frozen=True)
class ExpiringVetting:
    """A proxy whose vetting lapses soon (or has lapsed)."""

    code: str
    vetting_level: str | None
    expires: date | None
    expired: bool


@dataclass(frozen=True)
class FailedSubmission:
    """An entry the sink refused: metadata and the masked reason, never the record."""

    id: int
    crn: str
    section: str
    kind: str
    version: int
    updated_at: datetime
    reason: str | None


@dataclass(frozen=True)
class Setting:
    """One setting as its BRIDGE_ name, the value shown, and whether it was masked."""

    name: str
    value: str
    masked: bool


@dataclass(frozen=True)
class ImportResult:
    """`visor-bridge staff import --json`: what one import did."""

    added: int = 0
    updated: int = 0
    deactivated: int = 0
    released: int = 0
    #: Rows held for a second administrator (the web's import only; the file import has none).
    held: int = 0


# -- the audit log (issue 17) -----------------------------------------------------------------


@dataclass(frozen=True)
class AuditVerification:
    """`visor-bridge audit verify --json`: the chain intact or not, and where it broke."""

    ok: bool
    events: int
    first_bad: int | None
    anchors: int = 0  # anchors written outside the database that were checked


@dataclass(frozen=True)
class ChainAnchor:
    """The chain's head as noted outside the database."""

    at: datetime
    events: int
    last_id: int | None
    head: str | None
    key_id: str


@dataclass(frozen=True)
class AuditExportRow:
    """One event of `visor-bridge audit export --crn` (subject access)."""

    id: int
    at: datetime
    actor: str
    action: str
    category: str
    crn: str | None
    entry_id: int | None
    purpose: str | None
    detail: dict[str, Any]
