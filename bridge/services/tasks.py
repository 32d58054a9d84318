"""Case tasks: a proxy works by case — every open entry of one CRN (ARCHITECTURE §3, §6 `case`).

Entries stay the unit of versioning, audit and delivery; a task is a view and a set of actions
over them, with the per-entry rules of `ReviewService` (`may_handle`, claim expiry, versions,
blocking issues) and its audit constructors. Every method takes the acting staff code; CRNs
are trimmed and upper-cased, and one that cannot exist (not `^[A-Z]\\d{6}$`) is refused exactly
as an unknown one (`NotPermitted`, an audited refusal).

Public methods and what they return (views in `bridge.services.task_views`):

- `listing(actor=None, held_by=None, crn=None, name=None, limit=None, offset=0) -> TaskList`
  tasks with an open entry, earliest due first (`TaskRow`: crn, entries, sections, due_date,
  overdue, blocking_issues, claimed_by, name, states). `actor=None` is the operator's
  listing (`case list`); a vetted proxy sees only cases they may handle, with names, and may
  search by name (audited as a consultation: a keyed hash of the terms and the CRNs found);
  an administrator sees every case, without names.
- `claim_next(actor) -> Task | None` (`claim_next_case`: the CRN only) claims the task whose earliest pending entry is due
  first, among cases with a pending entry `actor` may take that nobody else holds and they
  do not hold already.
- `claim(crn, actor) -> Task` claims each pending entry of the case (refused if another
  proxy holds it, or nothing is pending).
- `release(crn, actor) -> Task` gives back the caller's claimed entries of the case.
- `show(crn, actor, purpose=None) -> TaskShown` every open entry with its record (an audited
  view of each); renews the caller's claims on the case.
- `approve(crn, actor, versions: dict[int, int]) -> Task` approves the listed entries at
  those versions, all or nothing (`ApprovalRefused` lists each failing entry).
- `mark_entered(crn, actor, reference, on=None) -> Task` every approved entry of the case,
  one ViSOR reference.
- `reject(entry_id, actor, reason) -> Task` "Ask the offender manager": the existing reject
  path, then the task as it stands.
- `release_task(crn, admin) -> Task`, `reassign(crn, to, admin) -> Task` administrators.
- `expire(now=None) -> int` the scheduled clean-up: lapsed claims, and claims whose holder
  may no longer act (vetting lapsed, left, excluded), go back to the queue (audited).
- `renew(crn, actor)` extend the caller's live claims on a case (entry show, edit and
  approve renew them too).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bridge.audit import known_teams, note_entry_facts, record, record_refusal, write_held
from bridge.clock import Clock
from bridge.core.audit_events import (
    REVIEW,
    entry_claimed,
    entry_reassigned,
    entry_released,
    entry_viewed,
    tasks_searched,
)
from bridge.core.issues import has_blocking, issues_from_json
from bridge.core.lifecycle import (
    Section,
    StaffFacts,
    State,
    has_current_vetting,
    is_admin,
    local_date,
    may_handle,
)
from bridge.core.purposes import purpose_code
from bridge.errors import ApprovalRefused, BadInput, NotPermitted, WrongState
from bridge.services.queue_view import hidden_crns
from bridge.services.review import ReviewService
from bridge.services.task_names import names_for, search_names
from bridge.services.task_views import (
    ApprovalFailure,
    Task,
    TaskEntry,
    TaskList,
    TaskShown,
    refusal_text,
    task_row,
)
from bridge.services.views import EntrySummary, Person
from bridge.store import entries as q
from bridge.store import tasks as tq
from bridge.store.db import session_scope
from bridge.store.models import Entry, Staff

__all__ = ["CRN", "TaskService", "normal_crn"]

#: What a CRN looks like; anything else cannot exist and is refused as an unknown one.
CRN = re.compile(r"[A-Z]\d{6}")
_ORDER = {s.value: i for i, s in enumerate(Section)}
_LAPSED = "holder may no longer act"


def normal_crn(value: str) -> str | None:
    """A CRN trimmed and upper-cased, or None when it cannot exist."""
    crn = (value or "").strip().upper()
    return crn if CRN.fullmatch(crn) else None


#: How many queued entries claim-next reads first (then four times as many each time, up to
#: the claim batch): nearly every claim takes one of the first few cases.
_FIRST_BATCH = 16


class TaskService:
    """Case tasks for proxies and administrators; `actor` is always a staff code."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        review: ReviewService,
        claim_ttl: timedelta = timedelta(minutes=30),
        manual_sink: bool = True,
        search_key: bytes = b"",
        claim_batch: int = 200,
        purpose_required: bool = False,
    ) -> None:
        self._purpose_required = purpose_required
        self._engine = engine
        self._clock = clock
        self._review = review
        self._ttl = claim_ttl
        self._manual = manual_sink
        self._key = search_key
        self._batch = claim_batch

    # -- guards -------------------------------------------------------------------------

    @contextmanager
    def _guarded(
        self, actor: str, crn: str, action: str, *, lock: bool = False
    ) -> Iterator[tuple[Session, str, list[Entry], datetime]]:
        """A transaction in which `actor` may handle the case `crn` (which has open entries),
        with its open entries; NotPermitted (audited) otherwise. Lapsed claims expire first."""
        now = self._clock.now()
        try:
            with session_scope(self._engine) as s:
                self._review.expire_claims(s, now)
                norm = normal_crn(crn)
                staff = s.get(Staff, actor)
                entries = tq.open_entries(s, norm, lock=lock) if norm else []
                if (
                    norm is None
                    or not entries
                    or not may_handle(staff, q.case_state(s, norm), local_date(now))
                ):
                    raise NotPermitted()
                yield s, norm, entries, now
        except NotPermitted:
            record_refusal(self._engine, actor, f"case-{action}", at=now)
            raise

    def _holder(self, s: Session, crn: str) -> str | None:
        return tq.holders(s, [crn], manual=self._manual).get(crn)

    def _require_admin(self, actor: str, action: str) -> None:
        with Session(self._engine) as s:
            allowed = is_admin(s.get(Staff, actor))
        if not allowed:
            record_refusal(self._engine, actor, action, at=self._clock.now())
            raise NotPermitted()

    # -- listing ------------------------------------------------------------------------

    def listing(
        self,
        *,
        actor: str | None = None,
        held_by: str | None = None,
        crn: str | None = None,
        name: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        count: bool = True,
    ) -> TaskList:
        """Tasks with an open entry, earliest due first (see the module docstring). With
        `count=False`, `total` only says whether a further page exists (one row past it)."""
        now = self._clock.now()
        today = local_date(now)
        with Session(self._engine) as s:  # a read: no write lock while listing
            staff = s.get(Staff, actor) if actor is not None else None
            proxy = has_current_vetting(staff, today)
            if actor is not None and not proxy and not is_admin(staff):
                raise NotPermitted()
            if name and not proxy:
                raise NotPermitted()
            hidden = set(hidden_crns(s, staff)) if proxy and staff is not None else set()
            # A few cases named by a filter, or the whole queue.
            only: set[str] | None = None
            if held_by is not None:
                only = set(tq.held_crns(s, held_by, manual=self._manual))
            if crn is not None:
                wanted = {crn.strip().upper()}
                only = wanted if only is None else only & wanted
            if name:
                found = set(search_names(s, name))
                only = found if only is None else only & found
            if only is not None:
                every = tq.tasks_of(s, sorted(only - hidden))
                end = None if limit is None else offset + limit
                page, total = every[offset:end], len(every)
            elif not count and limit is not None:  # the task pages: never count the queue
                page = tq.first_tasks(s, skip=hidden, limit=limit + 1, offset=offset)
                total, page = offset + len(page), page[:limit]
            else:
                page = tq.first_tasks(s, skip=hidden, limit=limit, offset=offset)
                total = offset + len(page)
                if limit is not None:
                    total = tq.count_tasks(s) - tq.count_tasks(s, sorted(hidden))
            crns = [c for c, _ in page]
            everything = only is None and limit is None and not hidden
            details = tq.page_details(s, None if everything else crns)
            names = names_for(s, crns) if proxy else {}
            rows = []
            for c, due in page:
                holder = tq.holder_of(details[c], manual=self._manual)
                rows.append(task_row(c, due, details[c], holder, names.get(c), today))
        if name and actor is not None:
            digest = hmac.new(self._key, name.strip().casefold().encode(), hashlib.sha256)
            with session_scope(self._engine) as s:
                record(s, tasks_searched(actor, terms=digest.hexdigest(), crns=crns), at=now)
        return TaskList(rows=rows, total=total)

    # -- claiming -----------------------------------------------------------------------

    def claim(self, crn: str, *, actor: str) -> Task:
        """Claim each pending entry of the case for `actor`."""
        with self._guarded(actor, crn, "claim") as (s, norm, _entries, now):
            holder = self._holder(s, norm)
            if holder is not None and holder != actor:
                raise WrongState(f"Case {norm} is held by {holder}; it cannot be claimed.")
            ids = tq.claim_pending(s, norm, staff=actor, now=now)
            others = tq.claimants(s, norm, manual=self._manual) - {actor}
            if others:  # a colleague claimed it meanwhile
                raise WrongState(f"Case {norm} is held by {min(others)}; it cannot be claimed.")
            if not ids and holder != actor:
                raise WrongState(f"Case {norm} has nothing waiting to be claimed.")
            for entry_id in ids:
                record(s, entry_claimed(actor, norm, entry_id), at=now)
            tq.renew(s, norm, staff=actor, now=now, since=now - self._ttl)
            return self._task(s, norm)

    def claim_next(self, *, actor: str) -> Task | None:
        """Claim the task whose earliest pending entry is due first that `actor` may take."""
        crn = self.claim_next_case(actor=actor)
        if crn is None:
            return None
        with Session(self._engine) as s:
            return self._task(s, crn)

    def claim_next_case(self, *, actor: str, person: Person | None = None) -> str | None:
        """`claim_next` without reading the claimed task back: the CRN claimed, or None.

        One transaction: the person, the queue read (with lapsed claims expired when it shows
        some) and the first case claimed. A colleague who got a case's entries first, or who
        holds the case by another entry, leaves nothing to claim there: the next case is
        tried (`tq.claim_unheld`). `person`: the caller's registry row as the web read it for
        this request (its roles and vetting), not read again."""
        now = self._clock.now()
        today = local_date(now)
        try:
            with session_scope(self._engine) as s:
                staff: StaffFacts | None
                if person is not None and person.code == actor:
                    staff = person
                    known_teams(s)[person.code] = person.team or ""
                else:
                    staff = s.get(Staff, actor)
                if staff is None or not has_current_vetting(staff, today):
                    raise NotPermitted()
                return self._claim_first(s, staff, today, now)
        except NotPermitted:
            record_refusal(self._engine, actor, "case-claim-next", at=now)
            raise

    def _claim_first(self, s: Session, staff: StaffFacts, today: date, now: datetime) -> str | None:
        """Claim the first case in queue order that nobody holds and `staff` may handle; None
        when there is none."""
        size = min(_FIRST_BATCH, self._batch)  # most take the first case: read a few, then more
        after: tuple[object, int] | None = None
        tried: set[str] = set()
        lapsed_before = now - self._review.claim_ttl
        while True:
            batch, lapsed = tq.claim_candidates(
                s, limit=size, after=after, manual=self._manual, lapsed_before=lapsed_before
            )
            # Lapsed claims go back to the queue first (and the queue is read again): an empty
            # queue may be empty only because they hold its entries.
            if after is None and (lapsed or not batch) and self._review.expire_claims(s, now):
                continue
            for candidate in batch:
                crn = candidate.crn
                if crn in tried:
                    continue
                tried.add(crn)
                if candidate.held or not may_handle(staff, candidate.access, today):
                    continue
                # Nothing claimed when a colleague took its entries first or holds the case
                # meanwhile (a case is worked by one): the next case is tried.
                facts: list[Any] = []  # PostgreSQL: what its work facts need, read with it
                ids = tq.claim_unheld(
                    s, crn, staff=staff.code, now=now, manual=self._manual, facts=facts
                )
                if not ids:
                    continue
                note_entry_facts(s, facts)
                for entry_id in ids:
                    record(s, entry_claimed(staff.code, crn, entry_id), at=now)
                return crn
            if len(batch) < size:
                return None
            after = (batch[-1].due, batch[-1].id)
            size = min(size * 4, self._batch)

    def release(self, crn: str, *, actor: str) -> Task:
        """Give back the caller's claimed entries of the case."""
        with self._guarded(actor, crn, "release") as (s, norm, _entries, now):
            released = tq.release_claimed(s, norm, now=now, staff=actor)
            if not released:
                raise WrongState(f"You hold no claim on case {norm}.")
            for entry_id, _was in released:
                record(s, entry_released(actor, norm, entry_id), at=now)
            return self._task(s, norm)

    def renew(self, crn: str, *, actor: str) -> None:
        """Extend `actor`'s claims on the case: they are working on it."""
        norm = normal_crn(crn)
        if norm is None:
            return
        now = self._clock.now()
        with session_scope(self._engine) as s:
            tq.renew(s, norm, staff=actor, now=now, since=now - self._ttl)

    # -- reading ------------------------------------------------------------------------

    def show(
        self,
        crn: str,
        *,
        actor: str,
        purpose: str | None = None,
        default_purpose: str = "unstated",
    ) -> TaskShown:
        """Every open entry of the case with its record: an audited view of each. The purpose
        recorded is a code (core.purposes; free text becomes a hash), or `default_purpose`,
        the fixed one the entrypoint's command or route implies."""
        if self._purpose_required and not (purpose or "").strip():
            raise BadInput("Say why you are viewing this case (--purpose); it is recorded.")
        why = purpose_code(purpose, default_purpose)
        with self._guarded(actor, crn, "view") as (s, norm, entries, now):
            renewed = tq.renew(s, norm, staff=actor, now=now, since=now - self._ttl)
            shown = []
            for e in entries:
                assert e.id is not None
                record(s, entry_viewed(actor, norm, e.id, version=e.version, purpose=why), at=now)
                shown.append(
                    TaskEntry(
                        id=e.id,
                        section=e.section,
                        kind=e.kind,
                        status=e.status,
                        version=e.version,
                        issues=list(e.issues or []),
                        xml=e.xml,
                        diff=list(e.diff or []),
                        due_date=e.due_date,
                        claimed_by=e.claimed_by,
                        on_behalf_of=e.on_behalf_of,
                        item_key=e.item_key,
                    )
                )
            shown.sort(key=lambda t: (_ORDER.get(t.section, 99), t.item_key, t.id))
            if not renewed:
                write_held(s)  # a lapse this transaction recorded is read from the log
            return TaskShown(
                crn=norm,
                entries=shown,
                held_by=self._holder(s, norm),
                claim_expires=now + self._ttl if renewed else None,
                claim_lapsed=not renewed and tq.claim_lapsed(s, norm, staff=actor),
            )

    # -- deciding -----------------------------------------------------------------------

    def approve(self, crn: str, *, actor: str, versions: dict[int, int]) -> Task:
        """Approve the listed entries at those versions, all or nothing."""
        if not versions:
            raise BadInput("Name the entries to approve and the versions you saw (ID=V).")
        with self._guarded(actor, crn, "approve", lock=True) as (s, norm, entries, now):
            by_id = {e.id: e for e in entries}
            failures = []
            for entry_id, version in sorted(versions.items()):
                failure = self._approval_problem(by_id.get(entry_id), entry_id, version, actor, now)
                if failure is not None:
                    failures.append(failure)
            if failures:
                raise ApprovalRefused(refusal_text(norm, failures), failures)
            tq.renew(s, norm, staff=actor, now=now, since=now - self._ttl)
            # Each through the one approve path (baseline, audit), in this one transaction.
            done = [
                self._review.approve_in(s, by_id[i], actor=actor, now=now) for i in sorted(versions)
            ]
            return Task(crn=norm, entries=done)

    def _approval_problem(
        self, entry: Entry | None, entry_id: int, version: int, actor: str, now: datetime
    ) -> ApprovalFailure | None:
        if entry is None:
            return ApprovalFailure(entry_id, None, "not-in-task")
        expired = entry.claimed_at is not None and entry.claimed_at + self._ttl < now
        if entry.status != State.CLAIMED or entry.claimed_by != actor or expired:
            return ApprovalFailure(entry_id, entry.section, "not-claimed")
        if entry.version != version:
            return ApprovalFailure(
                entry_id, entry.section, "stale-version", current_version=entry.version
            )
        issues = issues_from_json(entry.issues)
        if has_blocking(issues):
            paths = [i.path for i in issues if i.blocking]
            return ApprovalFailure(entry_id, entry.section, "blocking-issue", fields=paths)
        return None

    def mark_entered(
        self, crn: str, *, actor: str, reference: str | None, on: date | None = None
    ) -> Task:
        """Every approved entry of the case was keyed into ViSOR under one reference."""
        ref = self._review.visor_reference(reference)
        with self._guarded(actor, crn, "mark-entered", lock=True) as (s, norm, entries, now):
            holder = self._holder(s, norm)
            if holder is not None and holder != actor:
                raise WrongState(f"Case {norm} is held by {holder}.")
            approved = [e for e in entries if e.status == State.APPROVED]
            if not approved:
                raise WrongState(f"Case {norm} has nothing approved to enter.")
            enter = self._review.enter_in
            done = [enter(s, e, actor=actor, reference=ref, on=on, now=now) for e in approved]
            return Task(crn=norm, entries=done)

    def reject(self, entry_id: int, *, actor: str, reason: str | None) -> Task:
        """Return one section to the offender manager with a reason (the entry reject path)."""
        row = self._review.reject(entry_id, actor=actor, reason=reason)
        with Session(self._engine) as s:
            return self._task(s, row.crn)

    # -- administrators -----------------------------------------------------------------

    def release_task(self, crn: str, *, admin: str) -> Task:
        """Put every claimed entry of the case back in the queue (audited, with the holder)."""
        self._require_admin(admin, "case-release")
        norm = normal_crn(crn)
        now = self._clock.now()
        with session_scope(self._engine) as s:
            released = tq.release_claimed(s, norm, now=now) if norm else []
            if not released:
                raise WrongState(f"Case {norm or crn} has no claim to release.")
            assert norm is not None
            for entry_id, was in released:
                record(s, entry_released(admin, norm, entry_id, was=was), at=now)
            return self._task(s, norm)

    def reassign(self, crn: str, *, to: str, admin: str) -> Task:
        """Give the case's unapproved entries (and its approved ones still to be entered) to
        the proxy `to`, who must be allowed to take it today."""
        self._require_admin(admin, "case-reassign")
        norm = normal_crn(crn)
        now = self._clock.now()
        today = local_date(now)
        with session_scope(self._engine) as s:
            entries = tq.open_entries(s, norm) if norm else []
            moving = [
                e
                for e in entries
                if e.status in (State.PENDING, State.CLAIMED)
                or (e.status == State.APPROVED and self._manual)
            ]
            if norm is None or not moving:
                raise WrongState(f"Case {norm or crn} has nothing to reassign.")
            target = s.get(Staff, to)
            if not has_current_vetting(target, today):
                raise BadInput(f"{to} is not a proxy with current vetting.")
            if not may_handle(target, q.case_state(s, norm), today):
                raise BadInput(f"{to} may not work on this case (limited access or their own).")
            for e in moving:
                was = e.claimed_by
                if e.status != State.APPROVED:
                    e.status, e.claimed_at = State.CLAIMED.value, now
                e.claimed_by, e.updated_at = to, now
                s.add(e)
                record(s, entry_reassigned(admin, norm, e.id, was=was, to=to), at=now)
            s.flush()
            return self._task(s, norm)

    # -- the scheduled clean-up ---------------------------------------------------------

    def expire(self, now: datetime | None = None) -> int:
        """Lapsed claims, and claims whose holder may no longer act on the case (vetting
        lapsed, left the registry, now excluded), go back to the queue; each audited.
        Returns how many entries went back."""
        now = now or self._clock.now()
        today = local_date(now)
        with session_scope(self._engine) as s:
            count = self._review.expire_claims(s, now)
            claimed = tq.claims(s)
            staff = {p.code: p for p in tq.staff_of(s, {by for _i, _c, by in claimed})}
            cases = q.case_states(s, {c for _i, c, _by in claimed})
            gone = [
                (i, c, by)
                for i, c, by in claimed
                if not may_handle(staff.get(by), cases.get(c), today)
            ]
            for entry_id, crn, by in gone:
                entry = s.get(Entry, entry_id)
                assert entry is not None
                q.unclaim(entry, now=now)
                s.add(entry)
                event = entry_released(REVIEW, crn, entry_id, was=by, reason=_LAPSED)
                record(s, event, at=now)
            return count + len(gone)

    # -- views --------------------------------------------------------------------------

    def _task(self, s: Session, crn: str) -> Task:
        s.flush()
        entries = tq.open_entries(s, crn, fresh=True)
        return Task(crn=crn, entries=[EntrySummary.of(e) for e in entries])
