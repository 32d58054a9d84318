"""The proxy's work: list, claim, view, release, approve, reject and mark entries as entered.

Every rule is checked here at the moment of each action (vetting can expire between a
claim and an approval), and every transition commits together with its audit event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record, record_refusal
from bridge.clock import Clock
from bridge.core.audit_events import (
    REVIEW,
    entry_approved,
    entry_claim_expired,
    entry_claimed,
    entry_entered,
    entry_rejected,
    entry_released,
    entry_viewed,
)
from bridge.core.ids import storable_entry_id
from bridge.core.issues import has_blocking, issues_from_json
from bridge.core.lifecycle import (
    REMOVALS,
    Action,
    State,
    allows,
    has_current_vetting,
    local_date,
    may_handle,
    state_after,
)
from bridge.core.purposes import purpose_code
from bridge.core.record import section_of, to_xml
from bridge.errors import BadInput, NotPermitted, VersionConflict, WrongState
from bridge.services.views import EditableSection, EntryShown, EntrySummary, HistoryItem
from bridge.store import entries as q
from bridge.store import outbox
from bridge.store.db import session_scope
from bridge.store.models import AuditEvent, Baseline, Entry, Staff
from bridge.store.tasks import holders
from bridge.store.tasks import renew as renew_claims

__all__ = ["ReviewService"]

_VISOR_REFERENCE = re.compile(r"[A-Z0-9][A-Z0-9/-]{3,31}")


class ReviewService:
    """Queue and entry actions for proxies; `actor` is always a staff code."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        claim_batch: int = 50,
        claim_ttl: timedelta = timedelta(minutes=30),
        purpose_required: bool = False,
        manual_sink: bool = True,
    ) -> None:
        """`manual_sink`: approved entries wait for a proxy to key them in, so their approver
        holds the case until then (ARCHITECTURE §3 "Case tasks")."""
        self._purpose_required = purpose_required
        self._manual = manual_sink
        self._engine = engine
        self._clock = clock
        self._claim_batch = claim_batch
        self._claim_ttl = claim_ttl

    @property
    def claim_ttl(self) -> timedelta:
        """How long a claim lasts unless the holder works on the case."""
        return self._claim_ttl

    def expire_claims(self, s: Session, now: datetime) -> int:
        """Claims older than the claim time limit go back to the queue (audited)."""
        expired = q.expire_claims(s, before=now - self._claim_ttl, now=now)
        for entry_id, crn, holder in expired:
            record(s, entry_claim_expired(REVIEW, crn, entry_id, was=holder), at=now)
        return len(expired)

    # -- guards -------------------------------------------------------------------

    @contextmanager
    def guarded(
        self, actor: str, entry_id: int, action: str
    ) -> Iterator[tuple[Session, Entry, datetime]]:
        """A transaction in which `actor` may act on `entry_id`, or NotPermitted (audited)."""
        now = self._clock.now()
        try:
            with session_scope(self._engine) as s:
                staff = s.get(Staff, actor)
                entry = q.get_entry(s, entry_id)
                if entry is None or not may_handle(
                    staff, q.case_state(s, entry.crn), local_date(now)
                ):
                    raise NotPermitted()
                yield s, entry, now
        except NotPermitted:
            record_refusal(
                self._engine, actor, action, at=now, entry_id=storable_entry_id(entry_id)
            )
            raise

    # -- reading --------------------------------------------------------------------

    def show(
        self,
        entry_id: int,
        *,
        actor: str,
        purpose: str | None = None,
        default_purpose: str = "unstated",
    ) -> EntryShown:
        """The entry with its record, diff, version and history; recorded as a consultation.

        The consultation records why: a purpose code (core.purposes; free text becomes a
        hash), or `default_purpose`, the fixed one the entrypoint's route or command implies;
        configuration can require the person to give one.
        """
        if self._purpose_required and not (purpose or "").strip():
            raise BadInput("Say why you are viewing this entry (--purpose); it is recorded.")
        why = purpose_code(purpose, default_purpose)
        with self.guarded(actor, entry_id, "view") as (s, entry, now):
            renew_claims(
                s, entry.crn, staff=actor, now=now, since=now - self._claim_ttl
            )  # the holder is working on it
            event = entry_viewed(actor, entry.crn, entry.id, version=entry.version, purpose=why)
            record(s, event, at=now)  # written at the commit: it ends the history shown
            rows = s.exec(
                select(AuditEvent)
                .where(AuditEvent.entry_id == entry_id)
                .order_by(col(AuditEvent.id))
            ).all()
            history = [HistoryItem(h.at, h.actor, h.action, h.detail) for h in rows]
            history.append(HistoryItem(now, event.actor, event.action, event.detail))
            return EntryShown(
                **vars(EntrySummary.of(entry)),
                xml=entry.xml,
                diff=list(entry.diff or []),
                version=entry.version,
                reason=entry.reason,
                visor_reference=entry.visor_reference,
                entered_at=entry.entered_at,
                claimed_by=entry.claimed_by,
                owning_force=entry.owning_force,
                history=history,
                sent=dict(entry.sent or {}),
            )

    def check_access(self, entry_id: int, *, actor: str) -> None:
        """NotPermitted (audited) unless `actor` may handle the entry; nothing is shown or
        recorded as a view (the page asks why before it shows anything)."""
        with self.guarded(actor, entry_id, "view"):
            pass

    def editable(self, entry_id: int, *, actor: str) -> EditableSection:
        """The section an edit form is compared with, for a proxy who may handle the entry
        (NotPermitted, audited, otherwise). Not a view: the edit it serves is audited."""
        with self.guarded(actor, entry_id, "edit") as (_s, entry, _now):
            return EditableSection(entry.section, entry.xml, list(entry.issues or []))

    # -- claiming ---------------------------------------------------------------------

    def claim(self, entry_id: int, *, actor: str) -> EntrySummary:
        with self.guarded(actor, entry_id, "claim") as (s, entry, now):
            if self.expire_claims(s, now):
                s.refresh(entry)
            if entry.status == State.CLAIMED and entry.claimed_by == actor:
                return EntrySummary.of(entry)
            holder = holders(s, [entry.crn], manual=self._manual).get(entry.crn)
            if holder is not None and holder != actor:  # a case task held by a colleague
                raise WrongState(f"Case {entry.crn} is held by {holder}; it cannot be claimed.")
            if not allows(entry.status, Action.CLAIM) or not q.claim_if(
                s, entry_id, staff=actor, now=now
            ):
                raise WrongState(
                    f"Entry {entry_id} is {entry.status}; only a pending entry can be claimed."
                )
            record(s, entry_claimed(actor, entry.crn, entry.id), at=now)
            return EntrySummary.of(entry)

    def claim_next(self, *, actor: str) -> EntrySummary | None:
        """Claim the pending entry with the earliest due date that `actor` may take."""
        now = self._clock.now()
        with Session(self._engine) as s:
            staff = s.get(Staff, actor)
            today = local_date(now)
            if staff is None or not has_current_vetting(staff, today):
                raise NotPermitted()
        with session_scope(self._engine) as s:
            self.expire_claims(s, now)
        after: tuple[object, int] | None = None
        while True:
            with Session(self._engine) as s:
                batch = list(q.pending_candidates(s, limit=self._claim_batch, after=after))
                cases = q.case_states(s, {e.crn for e in batch})
                held = holders(s, sorted({e.crn for e in batch}), manual=self._manual)
                allowed = [
                    e.id
                    for e in batch
                    if e.id is not None
                    and held.get(e.crn, actor) == actor  # not a case a colleague holds
                    and may_handle(staff, cases.get(e.crn), today)
                ]
            # One statement claims the earliest of them nobody else has taken meanwhile.
            if allowed:
                with session_scope(self._engine) as s:
                    got = q.claim_first_of(s, allowed, staff=actor, now=now)
                    if got is not None:
                        entry = q.get_entry(s, got)
                        assert entry is not None
                        s.refresh(entry)
                        record(s, entry_claimed(actor, entry.crn, entry.id), at=now)
                        return EntrySummary.of(entry)
            if len(batch) < self._claim_batch:
                return None
            last = batch[-1]
            assert last.id is not None
            after = (last.due_date, last.id)

    def release(self, entry_id: int, *, actor: str) -> EntrySummary:
        with self.guarded(actor, entry_id, "release") as (s, entry, now):
            self.require_claimed_by(entry, actor, now)
            q.unclaim(entry, now=now)
            s.add(entry)
            record(s, entry_released(actor, entry.crn, entry.id), at=now)
            return EntrySummary.of(entry)

    # -- deciding -----------------------------------------------------------------------

    def require_claimed_by(self, entry: Entry, actor: str, now: datetime) -> None:
        if entry.status != State.CLAIMED or entry.claimed_by != actor:
            raise WrongState(f"Entry {entry.id} is {entry.status}; claim it first.")
        if entry.claimed_at is not None and entry.claimed_at + self._claim_ttl < now:
            raise WrongState(f"Your claim on entry {entry.id} has expired; claim it again.")

    @staticmethod
    def require_version(entry: Entry, version: int | None) -> None:
        if version is not None and version != entry.version:
            raise VersionConflict(
                f"Entry {entry.id} is at version {entry.version}, not {version}; reload it and try again."
            )

    def approve(self, entry_id: int, *, actor: str, version: int | None = None) -> EntrySummary:
        with self.guarded(actor, entry_id, "approve") as (s, entry, now):
            self.require_claimed_by(entry, actor, now)
            self.require_version(entry, version)
            if has_blocking(issues_from_json(entry.issues)):
                raise WrongState(
                    f"Entry {entry_id} has blocking issues; edit the fields they name first."
                )
            return self.approve_in(s, entry, actor=actor, now=now)

    def approve_in(self, s: Session, entry: Entry, *, actor: str, now: datetime) -> EntrySummary:
        """Approve a checked entry in the caller's transaction: its baseline and audit line
        (a case task approves several in one transaction)."""
        entry.status, entry.updated_at = state_after(entry.status, Action.APPROVE), now
        s.add(entry)
        renew_claims(s, entry.crn, staff=actor, now=now, since=now - self._claim_ttl)
        assert entry.xml is not None
        section = section_of(entry.xml)
        if entry.kind in REMOVALS:  # ViSOR will no longer hold it
            gone = s.get(Baseline, (entry.crn, entry.section, entry.item_key))
            if gone is not None:
                s.delete(gone)
            record(s, entry_approved(actor, entry.crn, entry.id, version=entry.version), at=now)
            return EntrySummary.of(entry)
        s.merge(
            Baseline(
                crn=entry.crn,
                section=entry.section,
                item_key=entry.item_key,
                content_hash=entry.content_hash,
                section_xml=to_xml(section),
                entry_id=entry.id,
                updated_at=now,
            )
        )
        record(s, entry_approved(actor, entry.crn, entry.id, version=entry.version), at=now)
        return EntrySummary.of(entry)

    def reject(self, entry_id: int, *, actor: str, reason: str | None) -> EntrySummary:
        if not reason or not reason.strip():
            raise BadInput("A rejection needs a reason (--reason) for the offender manager.")
        with self.guarded(actor, entry_id, "reject") as (s, entry, now):
            self.require_claimed_by(entry, actor, now)
            entry.status = state_after(entry.status, Action.REJECT)
            entry.reason, entry.updated_at = reason.strip()[:500], now
            s.add(entry)
            record(s, entry_rejected(actor, entry.crn, entry.id), at=now)
            outbox.on_entry_returned(s, entry, now=now)
            return EntrySummary.of(entry)

    @staticmethod
    def visor_reference(reference: str | None) -> str:
        """The ViSOR reference as stored (trimmed, upper-cased), or BadInput."""
        if not reference or not _VISOR_REFERENCE.fullmatch(reference.strip().upper()):
            raise BadInput(
                "A ViSOR reference (--reference) of 4-32 letters, digits, '/' or '-' is needed."
            )
        return reference.strip().upper()

    def mark_entered(
        self, entry_id: int, *, actor: str, reference: str | None, on: date | None = None
    ) -> EntrySummary:
        """The proxy keyed an approved entry into ViSOR: record the reference and date."""
        ref = self.visor_reference(reference)
        with self.guarded(actor, entry_id, "mark-entered") as (s, entry, now):
            # `submitted`: handed over by the file-drop sink, waiting for its ViSOR reference.
            if not allows(entry.status, Action.ACCEPT):
                raise WrongState(
                    f"Entry {entry_id} is {entry.status}; only an approved or submitted entry can be marked entered."
                )
            return self.enter_in(s, entry, actor=actor, reference=ref, on=on, now=now)

    @staticmethod
    def enter_in(
        s: Session, entry: Entry, *, actor: str, reference: str, on: date | None, now: datetime
    ) -> EntrySummary:
        """Record in the caller's transaction that an approved entry is in ViSOR."""
        entered = on or local_date(now)
        if entered > local_date(now):
            raise BadInput("The date entered into ViSOR cannot be in the future.")
        entry.status = state_after(entry.status, Action.ACCEPT)
        entry.visor_reference = reference
        entry.entered_at, entry.updated_at = entered, now
        s.add(entry)
        event = entry_entered(actor, entry.crn, entry.id, reference=reference)
        record(s, event, at=now)
        outbox.on_case_entered(s, entry, now=now)
        return EntrySummary.of(entry)
