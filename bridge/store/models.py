"""The tables. Timestamps are timezone-aware UTC; no table stores why someone needs a proxy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bridge.core.lifecycle import BASELINE, OPEN, OPEN_SQL, UNAPPROVED, RunStatus, State

__all__ = [
    "Attention",
    "AuditChainMark",
    "AuditEvent",
    "Baseline",
    "CaseState",
    "Entry",
    "EntryVersion",
    "JobLock",
    "Notification",
    "NotifyOptOut",
    "RetryItem",
    "SinkBreaker",
    "SignInThrottle",
    "Staff",
    "SyncCursor",
    "WorkFact",
    "WorkWeek",
    "SyncRun",
    "WebSession",
]

#: The unapproved states (what a newer change supersedes; the name is older than the life cycle).
OPEN_STATES: tuple[str, ...] = tuple(s.value for s in State if s in UNAPPROVED)
#: States in which an entry still waits for a proxy or the delivery: the queue's default view,
#: and what can be overdue. WAITING_SQL is the life cycle's `OPEN_SQL`, the condition of the
#: partial index `ix_entry_waiting` (SQLite uses a partial index only for an identical term).
WAITING_STATES: tuple[str, ...] = tuple(s.value for s in State if s in OPEN)
WAITING_SQL = OPEN_SQL
#: Case states with an exclusion or restriction list (a small share): the condition of the
#: partial index `ix_casestate_access_list`, written the same way on both databases.
ACCESS_LIST_SQL = "CAST(excluded_from AS TEXT) != '[]' OR CAST(restricted_to AS TEXT) != '[]'"
BASELINE_STATES: tuple[str, ...] = tuple(s.value for s in State if s in BASELINE)


class Staff(SQLModel, table=True):
    """A member of staff from the registry. Vetting outcomes are never stored, only dates."""

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    team: str | None = Field(default=None, max_length=16)
    vetting_level: str | None = Field(default=None, max_length=16)
    vetting_expires: date | None = None
    needs_proxy_since: date | None = None
    needs_proxy_until: date | None = None
    # The teams a `manager` sees workload figures for (issue 15); [] for everyone else.
    manages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    password_hash: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)  # where notifications go (§6)
    updated_at: datetime


class CaseState(SQLModel, table=True):
    """What the bridge last knew about a case: no content, only hashes, scope and access lists."""

    # The queue leaves out a proxy's own cases by this column, and the cases whose access list
    # keeps them out by the partial index of cases that have one (bridge.services.queue_view).
    __table_args__ = (
        Index("ix_casestate_on_behalf_of", "on_behalf_of"),
        Index(
            "ix_casestate_access_list",
            "crn",
            sqlite_where=text(ACCESS_LIST_SQL),
            postgresql_where=text(ACCESS_LIST_SQL),
        ),
    )

    crn: str = Field(primary_key=True, max_length=16)
    snapshot_hash: str | None = Field(default=None, max_length=64)
    in_scope: bool = False
    scope_reason: str = Field(default="", max_length=200)
    on_behalf_of: str | None = Field(default=None, max_length=16)
    excluded_from: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    restricted_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mapping_version: str | None = Field(default=None, max_length=32)
    last_read_at: datetime | None = None


class Entry(SQLModel, table=True):
    """One unit of proxy work: a record for one CRN + section (contract states and kinds)."""

    __table_args__ = (
        Index("ix_entry_crn_section_status", "crn", "section", "item_key", "status"),
        Index("ix_entry_on_behalf_of", "on_behalf_of"),
        # The proxy's queue (bridge.services.queue_view) is read and counted from these two
        # indexes alone, in due order, never from the rows: waiting work (the default view,
        # a partial index of only those states) and any one state (claim-next uses it too).
        Index(
            "ix_entry_waiting",
            "due_date",
            "id",
            "crn",
            "owning_force",
            "kind",
            "status",
            sqlite_where=text(WAITING_SQL),
            postgresql_where=text(WAITING_SQL),
        ),
        Index("ix_entry_status_queue", "status", "due_date", "id", "crn", "owning_force", "kind"),
        # The list of forces for the filter (a loose index scan).
        Index("ix_entry_force", "owning_force", "status", "kind"),
        # Lapsed claims, looked for before every task action and view (a range, not a scan of
        # every claimed entry).
        Index("ix_entry_claim_expiry", "status", "claimed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    crn: str = Field(max_length=16)
    section: str = Field(max_length=32)
    item_key: str = Field(default="", max_length=32)  # the nDelius contact id for `activity`
    kind: str = Field(max_length=32)
    status: str = Field(default=State.PENDING.value, max_length=16)
    version: int = 1
    xml: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str = Field(max_length=64)  # of the section as mapped (version 1)
    issues: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    diff: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: Values nDelius sent that ViSOR cannot take, by issue path (record content, proxies only;
    #: purged with the XML). Issues themselves never hold values.
    sent: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    on_behalf_of: str = Field(max_length=16)
    mapping_version: str = Field(max_length=32)
    source_occurred_at: datetime
    due_date: date
    created_at: datetime
    updated_at: datetime
    claimed_by: str | None = Field(default=None, max_length=16)
    claimed_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=500)
    visor_reference: str | None = Field(default=None, max_length=64)
    entered_at: date | None = None
    superseded_by: int | None = None
    owning_force: str | None = Field(default=None, max_length=16)  # for the queue's filter


class EntryVersion(SQLModel, table=True):
    """Every version of an entry's record: version 1 as mapped, later ones as edited."""

    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entry.id", index=True)
    version: int
    xml: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    created_by: str = Field(max_length=16)


class Baseline(SQLModel, table=True):
    """The last approved/submitted/accepted content per CRN + section (+ contact): what ViSOR holds."""

    crn: str = Field(primary_key=True, max_length=16)
    section: str = Field(primary_key=True, max_length=32)
    item_key: str = Field(default="", primary_key=True, max_length=32)
    content_hash: str = Field(max_length=64)
    section_xml: str | None = Field(default=None, sa_column=Column(Text))
    entry_id: int | None = None
    updated_at: datetime


class SyncRun(SQLModel, table=True):
    """One sync run and what it did."""

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    finished_at: datetime | None = None
    full: bool = False
    status: str = Field(default=RunStatus.RUNNING.value, max_length=16)
    events_read: int = 0
    cases_fetched: int = 0
    entries_created: int = 0
    entries_superseded: int = 0
    cases_failed: int = 0
    cursor: int | None = None
    error: str | None = Field(default=None, max_length=500)


class SyncCursor(SQLModel, table=True):
    """The change-feed position, moved in the same transaction as the entries it covers."""

    name: str = Field(primary_key=True, max_length=32)
    sequence: int
    updated_at: datetime


class RetryItem(SQLModel, table=True):
    """A CRN whose read or mapping failed: kept until it succeeds, never forgotten."""

    crn: str = Field(primary_key=True, max_length=16)
    attempts: int = 0
    last_error: str = Field(default="", max_length=500)
    first_failed_at: datetime
    next_attempt_at: datetime
    occurred_at: datetime  # the change time the eventual entries are due from


class Attention(SQLModel, table=True):
    """A case a person must look at, and why (a reason code, never content); the sync adds a
    row when a read finds it and deletes the row when a later read resolves it."""

    crn: str = Field(primary_key=True, max_length=16)
    reason: str = Field(max_length=32)
    since: datetime


class PrivilegeRequest(SQLModel, table=True):
    """A change to someone's privilege that waits for a second administrator (issue 18): a
    proxy or administrator role granted, vetting recorded, or another person's password set.

    `change` holds what approval applies: the checked staff record (dates as ISO text) or, for
    a password, its hash (never the password). `outcome` is None while it waits, then
    `granted` or `declined`.
    """

    __table_args__ = (Index("ix_privilegerequest_outcome", "outcome"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_code: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    grants: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    change: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requested_by: str = Field(max_length=16)
    requested_at: datetime
    outcome: str | None = Field(default=None, max_length=16)
    decided_by: str | None = Field(default=None, max_length=16)
    decided_at: datetime | None = None


class JobLock(SQLModel, table=True):
    """Last run of a scheduled job, so only one instance runs each tick."""

    name: str = Field(primary_key=True, max_length=32)
    last_run: datetime | None = None
    holder: str | None = Field(default=None, max_length=100)


class SinkBreaker(SQLModel, table=True):
    """A sink's circuit breaker, shared by every `visor-bridge submit` process and instance."""

    name: str = Field(primary_key=True, max_length=32)
    failures: int = 0  # consecutive deliveries the sink could not take
    opened_at: datetime | None = None  # set while open; half-open once the cool-down has passed
    updated_at: datetime


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained log of processing (DPA 2018 s.62): ids only, no content."""

    __table_args__ = (Index("ix_audit_crn", "crn"), Index("ix_audit_entry", "entry_id"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=32)
    category: str = Field(
        max_length=16
    )  # collection|alteration|consultation|disclosure|combination|erasure|access
    action: str = Field(max_length=48)
    crn: str | None = Field(default=None, max_length=16)
    entry_id: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # The key that signed `hash` (HMAC-SHA-256, see core.audit_chain); NULL before 0003.
    key_id: str | None = Field(default=None, max_length=16)


class AuditChainMark(SQLModel, table=True):
    """Where the audit chain starts: the keyed chain's first event (`keyed`, written by
    migration 0003) and each archive's new start (`archived`, by `audit archive`). The
    application's role may only read it (PostgreSQL); its rows are never changed."""

    id: int | None = Field(default=None, primary_key=True)
    mark: str = Field(max_length=16)  # keyed | archived
    after_event_id: int  # events up to this id are legacy (keyed) or removed (archived)
    head: str = Field(max_length=64)  # the chain value of that event
    events: int = 0  # how many events an archive removed
    at: datetime


class WebSession(SQLModel, table=True):
    """A signed-in browser. Only a hash of the cookie's token is stored; sign-out deletes the row."""

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_code: str = Field(max_length=16, index=True)
    created_at: datetime
    last_seen_at: datetime


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins per username and per client address, to slow down guessing."""

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    first_failed_at: datetime
    locked_until: datetime | None = None


class HeldForm(SQLModel, table=True):
    """A form a proxy sent after their session had ended: held for the same person for a
    short while (30 minutes) and offered again after they sign in, so nothing typed is lost.

    `fields` is what the form sent (never the CSRF token): record content, so the row is erased
    with its case and purged by retention; it is never logged or audited.
    """

    __table_args__ = (
        Index("ix_heldform_staff_code", "staff_code"),
        Index("ix_heldform_crn", "crn"),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_code: str = Field(max_length=16)
    crn: str = Field(max_length=16)
    path: str = Field(max_length=500)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    expires_at: datetime


class WorkFact(SQLModel, table=True):
    """One fact of proxy work (issue 15), observed from the audit events as they are written
    (bridge.store.workfacts) — never recomputed from audit details, never record content.

    kind `hold`: a proxy held an entry (claim → release, expiry, reassignment, decision or
    supersession); `await`: approved, waiting to be entered (counts as handling only when the
    approver entered it); `entered` / `returned`: an entry entered in ViSOR / returned to its
    officer; `entry`: an entry's life in the queue (queued → closed), for the backlog. An open
    interval has `ended_at` NULL. `week` is the Monday (Europe/London) of `ended_at`.
    """

    __table_args__ = (
        Index("ix_workfact_open", "entry_id", "kind", "ended_at"),
        Index("ix_workfact_crn", "crn"),
        Index("ix_workfact_staff", "staff", "kind", "week", "crn"),
        Index("ix_workfact_backlog", "kind", "week", "start_week", "due_date", "ended", "overdue"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    crn: str = Field(max_length=16)
    entry_id: int
    staff: str | None = Field(default=None, max_length=16)
    team: str = Field(default="", max_length=16)
    officer: str | None = Field(default=None, max_length=16)
    officer_team: str = Field(default="", max_length=16)
    started_at: datetime
    start_week: date
    ended_at: datetime | None = None
    week: date | None = None
    ended: str | None = Field(default=None, max_length=16)
    seconds: int = 0
    due_date: date | None = None
    overdue: bool = False


class WorkWeek(SQLModel, table=True):
    """Per ISO week (Europe/London), person and team: the week's work, kept up to date in the
    transaction of each fact so the workload pages read a few hundred rows, not a year of facts.
    `role` `proxy`: what the proxy did; `officer`: the work done on an officer's cases. Counts
    only: no CRN, no entry id."""

    week: date = Field(primary_key=True)
    role: str = Field(primary_key=True, max_length=8)
    staff: str = Field(primary_key=True, max_length=16)
    team: str = Field(primary_key=True, max_length=16)
    tasks: int = 0
    entries: int = 0
    seconds: int = 0
    overdue: int = 0
    returned: int = 0
    holds: int = 0


class Notification(SQLModel, table=True):
    """The GOV.UK Notify outbox (issue 16): one message to one person, written in the same
    transaction as its cause (or by the daily job), delivered by the sender.

    `dedupe` makes a cause write at most one row (an entry's return, one officer's overdue
    message a day). `status`: queued → sending (the sender is about to call Notify) → sent,
    failed (a permanent refusal, `reason` says why) or skipped (no address, turned off).
    `reference` is what Notify was given: unique across database resets, looked up before a
    `sending` row is sent again. `personalisation` is content-free (bridge.core.notify_kinds).
    """

    __table_args__ = (
        UniqueConstraint("dedupe", name="uq_notification_dedupe"),
        Index("ix_notification_status", "status", "id"),
        Index("ix_notification_crn", "crn"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    dedupe: str = Field(max_length=160)
    recipient: str | None = Field(default=None, max_length=16)  # a staff code
    mailbox: str | None = Field(default=None, max_length=320)  # the proxies' team mailbox
    crn: str | None = Field(default=None, max_length=16)
    personalisation: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(default="queued", max_length=16)
    attempts: int = 0
    reference: str | None = Field(default=None, max_length=64)
    notify_id: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None


class NotifyOptOut(SQLModel, table=True):
    """A kind of message a person turned off on their Notifications page."""

    staff_code: str = Field(primary_key=True, max_length=16)
    kind: str = Field(primary_key=True, max_length=32)
    updated_at: datetime
