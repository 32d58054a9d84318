"""Submission: approved entries to the configured sink, exactly once (ARCHITECTURE.md §3).

    approved ──(visor-http: marked and audited first)──► submitted ──ack──► accepted
    approved ──(file-drop: file written, then marked)──► submitted ──mark-entered──► accepted
    submitted/approved ──the record itself refused──► failed ──requeue──► approved

With a sink that acknowledges (visor-http) the entry is `submitted` in its own committed
transaction, audited as a disclosure, *before* the request: a run that dies mid-request
leaves a `submitted` entry, and the next run sends it again with the same idempotency key,
which ViSOR answers with the first reference. With file-drop the file is written first
(idempotent by name), then the entry is marked. Only one run delivers at a time (the
`submit` job lock); transient failures leave entries where they are for the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import structlog
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record, record_refusal
from bridge.clock import Clock
from bridge.core.audit_events import (
    SUBMIT,
    entry_accepted,
    entry_failed,
    entry_requeued,
    entry_submitted,
)
from bridge.core.failure_text import reason_for, text_digest
from bridge.core.ids import storable_entry_id
from bridge.core.lifecycle import (
    Action,
    State,
    allows,
    has_current_vetting,
    is_admin,
    local_date,
    may_handle,
    state_after,
)
from bridge.errors import NotPermitted, SubmitRejected, SubmitUnavailable, WrongState
from bridge.services.views import EntrySummary, RequeueAll
from bridge.sinks import Delivery, Sink, idempotency_key
from bridge.sinks.breaker import CircuitBreaker
from bridge.store import entries as q
from bridge.store import outbox
from bridge.store.db import session_scope
from bridge.store.locks import job_lock
from bridge.store.models import Entry, Staff

__all__ = ["Delivered", "RequeueService", "SubmissionService", "SubmitResult"]

log = structlog.get_logger(__name__)
ACTOR = SUBMIT
MANUAL_MESSAGE = (
    "The sink is manual: nothing is sent. A proxy keys each approved entry into ViSOR and "
    "records its reference with `visor-bridge entry mark-entered`."
)


@dataclass(frozen=True)
class Delivered:
    """One entry a submit run delivered or failed (metadata and the masked reason)."""

    id: int
    crn: str
    section: str
    kind: str
    version: int
    status: str
    reference: str | None
    reason: str | None


@dataclass
class SubmitResult:
    """What one `visor-bridge submit` did (the JSON of `visor-bridge submit --json`)."""

    sink: str
    attempted: int = 0
    accepted: int = 0  # ViSOR acknowledged them (visor-http)
    submitted: int = 0  # handed over, waiting for a proxy to confirm (file-drop)
    failed: int = 0
    skipped: int = 0  # left as they were for a later run (breaker open, sink down, stop)
    breaker: str | None = None
    message: str | None = None
    entries: list[Delivered] = field(default_factory=list)
    failures: list[Delivered] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SubmissionService:
    """Delivers approved entries through one sink; `sink=None` is the manual sink."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        sink: Sink | None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._sink = sink
        self._breaker = breaker

    @property
    def sink_name(self) -> str:
        return self._sink.name if self._sink is not None else "manual"

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()

    def __enter__(self) -> SubmissionService:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    # -- delivering ---------------------------------------------------------------

    def run(self, *, stop: Callable[[], bool] | None = None) -> SubmitResult:
        """Deliver every approved entry (and, for visor-http, re-send `submitted` ones)."""
        if self._sink is None:
            with Session(self._engine) as s:
                waiting = s.exec(
                    select(func.count())
                    .select_from(Entry)
                    .where(col(Entry.status) == State.APPROVED)
                ).one()
            return SubmitResult(sink="manual", skipped=waiting, message=MANUAL_MESSAGE)
        with job_lock(self._engine, "submit") as got:
            if not got:
                return SubmitResult(sink=self.sink_name, message="another submit is running")
            return self._run(self._sink, stop)

    def _states(self, sink: Sink) -> tuple[State, ...]:
        # We hold the job lock, so a `submitted` entry of an acknowledging sink is one whose
        # run died mid-request: send it again (same key). File-drop entries rest in
        # `submitted` until a proxy confirms them, so they are not picked up again.
        return (State.SUBMITTED, State.APPROVED) if sink.acknowledges else (State.APPROVED,)

    def _run(self, sink: Sink, stop: Callable[[], bool] | None) -> SubmitResult:
        result = SubmitResult(sink=sink.name)
        with Session(self._engine) as s:
            ids = list(
                s.exec(
                    select(Entry.id)
                    .where(col(Entry.status).in_(self._states(sink)))
                    .order_by(col(Entry.id))
                )
            )
        for index, entry_id in enumerate(ids):
            left = len(ids) - index
            if stop is not None and stop():
                result.skipped += left
                result.message = "stopped before every entry was delivered"
                break
            if self._breaker is not None and not self._breaker.allow():
                result.skipped += left
                result.message = "the circuit breaker is open: the rest wait for a later run"
                break
            assert entry_id is not None
            if self._deliver_one(sink, entry_id, result) == "unavailable" and self._breaker is None:
                result.skipped += left - 1
                result.message = "the sink is unavailable: the rest wait for a later run"
                break
        if self._breaker is not None:
            result.breaker = self._breaker.state()
        log.info(
            "submit.done",
            sink=sink.name,
            attempted=result.attempted,
            accepted=result.accepted,
            submitted=result.submitted,
            failed=result.failed,
            skipped=result.skipped,
        )
        return result

    def _deliver_one(self, sink: Sink, entry_id: int, result: SubmitResult) -> str:
        now = self._clock.now()
        with session_scope(self._engine) as s:
            entry = q.get_entry(s, entry_id)
            if entry is None or entry.status not in self._states(sink):
                return "gone"  # changed since the list was read (e.g. marked entered)
            if sink.acknowledges:
                resend = entry.status == State.SUBMITTED
                entry.status, entry.updated_at = State.SUBMITTED, now
                s.add(entry)
                key = idempotency_key(entry)
                event = entry_submitted(
                    ACTOR, entry.crn, entry.id, sink=sink.name, key=key, resend=resend
                )
                record(s, event, at=now)
        result.attempted += 1
        try:
            delivery = sink.deliver(entry)
        except SubmitRejected as exc:
            if self._breaker is not None:
                self._breaker.record_success()  # the sink answered: it is up
            self._fail(entry, str(exc), result)
            return "failed"
        except SubmitUnavailable as exc:
            if self._breaker is not None:
                self._breaker.record_failure()
            log.warning("submit.unavailable", entry_id=entry.id, crn=entry.crn, error=str(exc))
            result.skipped += 1
            return "unavailable"
        if self._breaker is not None:
            self._breaker.record_success()
        self._delivered(sink, entry, delivery, result)
        return "delivered"

    def _delivered(
        self, sink: Sink, entry: Entry, delivery: Delivery, result: SubmitResult
    ) -> None:
        now = self._clock.now()
        expected = State.SUBMITTED if sink.acknowledges else State.APPROVED
        with session_scope(self._engine) as s:
            current = q.get_entry(s, entry.id) if entry.id is not None else None
            if current is None or current.status != expected:
                log.warning("submit.entry_changed", entry_id=entry.id, crn=entry.crn)
                return
            if delivery.reference is not None:
                current.status, current.visor_reference = State.ACCEPTED, delivery.reference
                current.entered_at = local_date(now)
                event = entry_accepted(
                    ACTOR,
                    current.crn,
                    current.id,
                    sink=sink.name,
                    version=current.version,
                    reference=delivery.reference,
                    **delivery.detail,
                )
                result.accepted += 1
                outbox.on_case_entered(s, current, now=now)
            else:
                current.status = State.SUBMITTED
                event = entry_submitted(
                    ACTOR,
                    current.crn,
                    current.id,
                    sink=sink.name,
                    version=current.version,
                    **delivery.detail,
                )
                result.submitted += 1
            current.reason, current.updated_at = None, now
            s.add(current)
            record(s, event, at=now)
            result.entries.append(self._row(current))

    def _fail(self, entry: Entry, reason: str, result: SubmitResult) -> None:
        now = self._clock.now()
        with session_scope(self._engine) as s:
            current = q.get_entry(s, entry.id) if entry.id is not None else None
            if current is None or not allows(current.status, Action.FAIL):
                return
            current.status = state_after(current.status, Action.FAIL)
            current.reason, current.updated_at = reason[:500], now
            s.add(current)
            # The audit log keeps a hash of the sink's text, never the text (issue 17).
            event = entry_failed(
                ACTOR, current.crn, current.id, reason_sha256=text_digest(current.reason)
            )
            record(s, event, at=now)
            row = self._row(current)
        log.warning("submit.rejected", entry_id=entry.id, crn=entry.crn)
        result.failed += 1
        result.entries.append(row)
        result.failures.append(row)

    @staticmethod
    def _row(entry: Entry) -> Delivered:
        assert entry.id is not None
        return Delivered(
            id=entry.id,
            crn=entry.crn,
            section=entry.section,
            kind=entry.kind,
            version=entry.version,
            status=entry.status,
            reference=entry.visor_reference,
            # An operator's output: the fixed phrase for a failure (the text is the proxies').
            reason=reason_for(entry.status, entry.reason, proxy=False, shown=frozenset()),
        )


# -- requeueing -----------------------------------------------------------------------


class RequeueService:
    """The one way a failed entry goes back to approved (after a fix), for the CLI and the
    administrators' page alike: an administrator, or a proxy with current vetting who may
    handle the case. Metadata only; each requeue is audited."""

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def requeue(self, entry_id: int, *, actor: str) -> EntrySummary:
        """One failed entry back to approved, so the next submit sends it again."""
        now = self._clock.now()
        with session_scope(self._engine) as s:
            entry = q.get_entry(s, entry_id)
            if entry is not None and _may_requeue(s, actor, entry, now):
                if not allows(entry.status, Action.REQUEUE):
                    raise WrongState(
                        f"Entry {entry_id} is {entry.status}; only a failed entry can be requeued."
                    )
                _requeue(s, entry, actor, now)
                return EntrySummary.of(entry)
        raise self._refused(actor, entry_id, now)

    def requeue_all_failed(self, *, actor: str) -> RequeueAll:
        """Every failed entry `actor` may act on back to approved."""
        now = self._clock.now()
        with session_scope(self._engine) as s:
            staff = s.get(Staff, actor)
            if is_admin(staff) or has_current_vetting(staff, local_date(now)):
                done: list[int] = []
                failed = list(q.list_entries(s, State.FAILED))
                for entry in failed:
                    if entry.id is not None and _may_requeue(s, actor, entry, now):
                        _requeue(s, entry, actor, now)
                        done.append(entry.id)
                return RequeueAll(requeued=done, not_permitted=len(failed) - len(done))
        raise self._refused(actor, None, now)

    def _refused(self, actor: str, entry_id: int | None, now: datetime) -> NotPermitted:
        record_refusal(self._engine, actor, "requeue", at=now, entry_id=storable_entry_id(entry_id))
        return NotPermitted()


def _may_requeue(s: Session, actor: str, entry: Entry, now: datetime) -> bool:
    staff = s.get(Staff, actor)
    if is_admin(staff):
        return True
    return may_handle(staff, q.case_state(s, entry.crn), local_date(now))


def _requeue(s: Session, entry: Entry, actor: str, now: datetime) -> None:
    entry.status = state_after(entry.status, Action.REQUEUE)
    entry.reason, entry.updated_at = None, now
    s.add(entry)
    record(s, entry_requeued(actor, entry.crn, entry.id, version=entry.version), at=now)
