"""What administrators do: move claims, find what nobody can act on, keep the staff registry,
watch sync runs and the retry set, requeue failed submissions, read the configuration.

Administrators manage the registry and the queue's plumbing but do not see entry content
(unless they are also current proxies, through the review service). Every action here
returns metadata only and is audited; every call checks the actor is an administrator.
"""

from __future__ import annotations

import re
from dataclasses import replace
from dataclasses import replace as replace_result
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr
from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, col, select

from bridge.audit import record, record_refusal
from bridge.clock import Clock
from bridge.config import Settings
from bridge.core.attention import AttentionReason
from bridge.core.audit_events import (
    entry_reassigned,
    entry_released,
    failures_viewed,
    registry_viewed,
)
from bridge.core.failure_text import reason_for
from bridge.core.lifecycle import (
    UNAPPROVED,
    Action,
    Role,
    State,
    allows,
    has_current_vetting,
    is_admin,
    local_date,
    may_handle,
    needs_proxy_on,
)
from bridge.core.staff_input import (
    StaffCsvInvalid,
    StaffInput,
    check_staff,
    decode_staff_csv,
    keeps_importer,
    keeps_own_admin,
    parse_staff_csv,
    privilege_grants,
    vetting_state,
)
from bridge.errors import BadInput, NotPermitted, WrongState
from bridge.services import privilege
from bridge.services import staff as registry
from bridge.services.sync.retries import RetryRow, RetrySet
from bridge.services.views import (
    AttentionRow,
    EntrySummary,
    ExpiringVetting,
    FailedSubmission,
    ImportResult,
    Setting,
    StaffChange,
    StaffRecord,
    SyncRunRow,
    Untakeable,
)
from bridge.store import entries as q
from bridge.store.db import session_scope
from bridge.store.models import Attention, CaseState, Entry, Staff, SyncRun

__all__ = ["AdminService", "masked_configuration"]


class AdminService:
    """Claims moved by an administrator; cases no proxy may take; vetting about to lapse."""

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def _require_admin(self, actor: str, action: str) -> None:
        """Before any transaction opens (a refusal is audited in its own)."""
        with Session(self._engine) as s:
            allowed = is_admin(s.get(Staff, actor))
        if not allowed:
            record_refusal(self._engine, actor, action, at=self._clock.now())
            raise NotPermitted()

    def force_release(self, entry_id: int, *, actor: str) -> EntrySummary:
        """Put a claimed entry back in the queue (the claimant is away, say)."""
        now = self._clock.now()
        self._require_admin(actor, "force-release")
        with session_scope(self._engine) as s:
            entry = q.get_entry(s, entry_id)
            if entry is None:
                raise NotPermitted()
            if not allows(entry.status, Action.RELEASE):
                raise WrongState(
                    f"Entry {entry_id} is {entry.status}; only a claim can be released."
                )
            was = entry.claimed_by
            q.unclaim(entry, now=now)
            s.add(entry)
            record(
                s,
                entry_released(actor, entry.crn, entry.id, was=was),
                at=now,
            )
            return EntrySummary.of(entry)

    def reassign(self, entry_id: int, *, to: str, actor: str) -> EntrySummary:
        """Give an open entry to a named proxy, who must be allowed to take it today."""
        now = self._clock.now()
        self._require_admin(actor, "reassign")
        with session_scope(self._engine) as s:
            entry = q.get_entry(s, entry_id)
            if entry is None:
                raise NotPermitted()
            if entry.status not in UNAPPROVED:
                raise WrongState(f"Entry {entry_id} is {entry.status}; only open entries move.")
            target = s.get(Staff, to)
            if not has_current_vetting(target, local_date(now)):
                raise BadInput(f"{to} is not a proxy with current vetting.")
            assert target is not None
            if not may_handle(target, q.case_state(s, entry.crn), local_date(now)):
                raise BadInput(f"{to} may not work on this case (limited access or their own).")
            was = entry.claimed_by
            entry.status, entry.claimed_by, entry.claimed_at, entry.updated_at = (
                State.CLAIMED,
                to,
                now,
                now,
            )
            s.add(entry)
            record(
                s,
                entry_reassigned(actor, entry.crn, entry.id, was=was, to=to),
                at=now,
            )
            return EntrySummary.of(entry)

    def untakeable(self, *, actor: str) -> list[Untakeable]:
        """Cases with open entries that no current proxy may take (so someone acts on them)."""
        self._require_admin(actor, "untakeable")
        with Session(self._engine) as s:
            return [row for row, _since in self._untakeable(s)]

    def _untakeable(self, s: Session) -> list[tuple[Untakeable, datetime]]:
        """Each untakeable case, with when its oldest open entry was queued."""
        today = local_date(self._clock.now())
        proxies = [p for p in s.exec(select(Staff)).all() if has_current_vetting(p, today)]
        # Each CRN with open work, its count, its oldest and its case state, in one query.
        rows = s.exec(
            select(Entry.crn, func.count(), func.min(Entry.created_at), CaseState)
            .outerjoin(CaseState, col(CaseState.crn) == col(Entry.crn))
            .where(col(Entry.status).in_(UNAPPROVED))
            .group_by(col(Entry.crn), col(CaseState.crn))
            .order_by(col(Entry.crn))
        ).all()
        out = []
        for crn, count, oldest, case in rows:
            if any(may_handle(p, case, today) for p in proxies):
                continue
            why = _why(case, proxies)
            out.append((Untakeable(crn=crn, open_entries=count, why=why), _utc(oldest)))
        return out

    def attention(self, *, actor: str) -> list[AttentionRow]:
        """Cases a person must look at, the longest-waiting first (reason codes, no content).

        The sync keeps the list (`bridge.core.attention`); untakeable cases join it here, as
        `untakeable` since their oldest open entry was queued. A case on the list for another
        reason is shown once, with that reason (it is the one to fix first).
        """
        self._require_admin(actor, "attention")
        with Session(self._engine) as s:
            kept = s.exec(select(Attention)).all()
            rows = {a.crn: AttentionRow(a.crn, a.reason, _utc(a.since)) for a in kept}
            for row, since in self._untakeable(s):
                rows.setdefault(
                    row.crn, AttentionRow(row.crn, AttentionReason.UNTAKEABLE.value, since)
                )
        return sorted(rows.values(), key=lambda r: (r.since, r.crn))

    def expiring_vetting(self, *, actor: str, days: int = 30) -> list[ExpiringVetting]:
        """Proxies whose vetting lapses within `days` (or has lapsed): renew before it stops them."""
        today = local_date(self._clock.now())
        horizon = today + timedelta(days=days)
        self._require_admin(actor, "expiring-vetting")
        with Session(self._engine) as s:
            rows = s.exec(
                select(Staff)
                .where(col(Staff.active), col(Staff.vetting_expires).is_not(None))
                .order_by(col(Staff.vetting_expires))
            ).all()
            return [
                ExpiringVetting(
                    code=p.code,
                    vetting_level=p.vetting_level,
                    expires=p.vetting_expires,
                    expired=p.vetting_expires is not None and p.vetting_expires < today,
                )
                for p in rows
                if Role.PROXY in p.roles
                and p.vetting_expires is not None
                and p.vetting_expires <= horizon
            ]

    # -- the staff registry ---------------------------------------------------------------

    def staff_registry(self, *, actor: str) -> list[StaffRecord]:
        """Everyone in the registry (active first), with their vetting state as of today.
        A consultation of staff records: audited (`registry.viewed`)."""
        now = self._clock.now()
        today = local_date(now)
        self._require_admin(actor, "staff-registry")
        with session_scope(self._engine) as s:
            people = s.exec(select(Staff).order_by(col(Staff.active).desc(), col(Staff.code))).all()
            out = [_person(p, today) for p in people]
            record(s, registry_viewed(actor, staff=len(out), purpose="admin:staff"), at=now)
            return out

    def staff_member(self, code: str, *, actor: str) -> StaffRecord | None:
        today = local_date(self._clock.now())
        self._require_admin(actor, "staff-member")
        with Session(self._engine) as s:
            person = s.get(Staff, code)
            return _person(person, today) if person is not None else None

    def add_staff(self, value: StaffInput, *, actor: str) -> StaffChange:
        """A new member of staff; `StaffInvalid` (nothing saved) lists the problems. Someone
        added with the proxy or administrator role, or vetting, is held for a second
        administrator (`bridge.services.privilege`)."""
        now = self._clock.now()
        self._require_admin(actor, "staff-add")
        with session_scope(self._engine) as s:
            row, problems = check_staff(value)
            if not problems and s.get(Staff, row["code"]) is None:
                grants = privilege_grants(None, row)
                if grants:
                    held = privilege.hold(
                        s, code=row["code"], kind=privilege.STAFF, grants=grants, change=row,
                        actor=actor, now=now,
                    )  # fmt: skip
                    return StaffChange(row["code"], held.id)
            return StaffChange(registry.add_staff(s, value, now=now, actor=actor).code)

    def edit_staff(self, code: str, value: StaffInput, *, actor: str) -> StaffChange:
        """Change one person; a change that grants privilege is held for a second
        administrator, the rest applies at once."""
        now = self._clock.now()
        self._require_admin(actor, "staff-edit")
        with session_scope(self._engine) as s:
            old = s.get(Staff, code)
            row, problems = check_staff(replace(value, code=code))
            problems += keeps_own_admin(row, actor)
            if old is not None and not problems:
                grants = privilege_grants(old, row)
                if grants:
                    held = privilege.hold(
                        s, code=code, kind=privilege.STAFF, grants=grants, change=row,
                        actor=actor, now=now,
                    )  # fmt: skip
                    return StaffChange(code, held.id)
            return StaffChange(registry.edit_staff(s, code, value, now=now, actor=actor).code)

    def import_staff_csv(self, data: bytes, *, actor: str, replace: bool = False) -> ImportResult:
        """Import a staff CSV all or nothing, like `visor-bridge staff import [--replace]`."""
        now = self._clock.now()
        self._require_admin(actor, "staff-import")
        rows = parse_staff_csv(decode_staff_csv(data))
        problems = keeps_importer(rows, actor=actor, replace=replace)
        if problems:
            raise StaffCsvInvalid(problems)
        with session_scope(self._engine) as s:
            now_rows: list[tuple[dict[str, Any], list[str]]] = []
            held: list[tuple[dict[str, Any], list[str]]] = []
            for row in rows:  # a row granting privilege waits for a second administrator
                grants = privilege_grants(s.get(Staff, row["code"]), row)
                (held if grants else now_rows).append((row, grants))
            for row, grants in held:
                privilege.hold(
                    s, code=row["code"], kind=privilege.STAFF, grants=grants, change=row,
                    actor=actor, now=now,
                )  # fmt: skip
            result = registry.import_staff(
                s,
                [row for row, _ in now_rows],
                now=now,
                actor=actor,
                replace=replace,
                keep=frozenset(row["code"] for row, _ in held),
            )
            return replace_result(result, held=len(held))

    # -- sync runs and the retry set ------------------------------------------------------

    def sync_runs(self, *, actor: str, limit: int = 50) -> list[SyncRunRow]:
        """The newest sync runs and what each did."""
        self._require_admin(actor, "sync-runs")
        with Session(self._engine) as s:
            runs = s.exec(select(SyncRun).order_by(col(SyncRun.id).desc()).limit(limit)).all()
            return [SyncRunRow(**run.model_dump()) for run in runs]

    def retry_set(self, *, actor: str, alert_attempts: int) -> list[RetryRow]:
        """CRNs whose read failed, the most-failed first; `needs_attention` at `alert_attempts`."""
        self._require_admin(actor, "retry-set")
        return RetrySet(self._engine, alert_attempts=alert_attempts).all()

    def retry_now(self, crn: str, *, actor: str) -> None:
        """Make a CRN in the retry set due now, so the next sync run reads it again."""
        now = self._clock.now()
        self._require_admin(actor, "retry-now")
        with session_scope(self._engine) as s:
            event = RetrySet.make_due(s, crn, actor=actor, now=now)
            if event is None:
                raise BadInput(f"{crn} is not in the retry set (it may have been read since).")
            record(s, event, at=now)

    # -- failed submissions ---------------------------------------------------------------

    def failed_submissions(self, *, actor: str) -> list[FailedSubmission]:
        """Entries the sink refused: metadata, and the reason as an administrator may see it
        (the sink's filtered text for one who is also a current proxy, else the fixed
        phrase; core.failure_text). Audited as a consultation (`failures.viewed`)."""
        now = self._clock.now()
        self._require_admin(actor, "failed-submissions")
        with session_scope(self._engine) as s:
            proxy = has_current_vetting(s.get(Staff, actor), local_date(now))
            rows = (
                s.connection()
                .execute(
                    sql_select(
                        col(Entry.id),
                        col(Entry.crn),
                        col(Entry.section),
                        col(Entry.kind),
                        col(Entry.version),
                        col(Entry.updated_at),
                        col(Entry.reason),
                    )
                    .where(col(Entry.status) == State.FAILED)
                    .order_by(col(Entry.id))
                )
                .mappings()
                .all()
            )
            out = [
                FailedSubmission(
                    **{
                        **row,
                        "reason": reason_for(
                            State.FAILED, row["reason"], proxy=proxy, shown=frozenset()
                        ),
                    }
                )
                for row in rows
            ]
            ids = [f.id for f in out]
            record(s, failures_viewed(actor, entries=ids, purpose="admin:failures"), at=now)
            return out

    # -- configuration --------------------------------------------------------------------

    def configuration(self, settings: Settings, *, actor: str) -> list[Setting]:
        """The settings in force, secrets masked (see `masked_configuration`)."""
        self._require_admin(actor, "configuration")
        return masked_configuration(settings)


def _person(p: Staff, today: date) -> StaffRecord:
    return StaffRecord(
        code=p.code,
        name=p.name,
        roles=list(p.roles),
        team=p.team,
        vetting_level=p.vetting_level,
        vetting_expires=p.vetting_expires,
        vetting_state=vetting_state(p, today),
        needs_proxy_since=p.needs_proxy_since,
        needs_proxy_until=p.needs_proxy_until,
        needs_proxy_now=needs_proxy_on(p, today),
        active=p.active,
        has_password=p.password_hash is not None,
        manages=list(p.manages or []),
        email=p.email,
    )


#: Query parameters whose value is a secret (libpq's `password`, `sslpassword`, API keys...).
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key", re.IGNORECASE)


def _mask_url(value: str) -> str:
    """A URL with any password replaced by ***: in its user part, and in any query parameter
    that names a password, secret, token or key (`?password=...`)."""
    if "://" not in value:
        return value
    try:
        shown = make_url(value).render_as_string(hide_password=True)
    except ArgumentError:
        parts = urlsplit(value)
        shown = value
        if parts.password is not None:
            host = parts.hostname or ""
            netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
            shown = urlunsplit(parts._replace(netloc=netloc))
    parts = urlsplit(shown)
    if not parts.query:
        return shown
    query = [
        (k, "***" if _SECRET_PARAM.search(k) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def masked_configuration(settings: Settings) -> list[Setting]:
    """Every setting as its BRIDGE_ name, the value shown and whether it was masked.

    Secrets show only as "Set"/"Not set".

    A secret's value never leaves here, nor a password inside a URL; nothing else in the
    settings is secret.
    """
    rows = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        masked = isinstance(value, SecretStr)
        if isinstance(value, SecretStr):
            shown = "Set" if value.get_secret_value() else "Not set"
        else:
            shown = _mask_url(value) if isinstance(value, str) else _plain(value)
        rows.append(Setting(name=f"BRIDGE_{name.upper()}", value=shown, masked=masked))
    return rows


def _plain(value: Any) -> str:
    if value is None:
        return "Not set"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _utc(value: datetime) -> datetime:
    """A stored time as aware UTC (SQLite hands an aggregate back without its zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _why(case: CaseState | None, proxies: list[Staff]) -> str:
    if not proxies:
        return "no proxy has current vetting"
    if case is not None and case.restricted_to:
        return "limited access: restricted to staff who are not current proxies"
    if case is not None and case.excluded_from:
        return "limited access: every current proxy is excluded"
    return "every current proxy manages this case"
