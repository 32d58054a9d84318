"""One sync run: the change feed after the cursor (or a full reconciliation), then the retry set.

Crash safety comes from one rule: every page of work — its entries, supersessions, retry
items, erasures and the cursor that covers them — is written in one transaction. A run
killed at any point leaves either the page done and the cursor past it, or neither; the
next run reads those cases again, and reading a case twice queues nothing new (the
content hash of an open entry or baseline already matches).

Speed comes from two things: cases are read and mapped in a process of their own
(`bridge.services.sync.reader`; reader threads in this process when the clock is injected),
so this process, the writer, never waits for an interpreter lock the readers hold; and each
page is written by `PageWriter` with a few page-wide queries and one bulk statement per table.
What a case means for the queue is the planner's (`bridge.core.queue_plan`); the retry set
is `RetrySet`'s (`bridge.services.sync.retries`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.clock import Clock
from bridge.core.attention import ReadFailure, case_reason
from bridge.core.audit_events import SYNC
from bridge.core.lifecycle import RunStatus, local_date
from bridge.core.prepared import PreparedCase
from bridge.core.queue_plan import Counts
from bridge.core.scope import NO_PROXY
from bridge.errors import SourceError
from bridge.mapping_files import MappingBundle
from bridge.ndelius import ChangeEvent, NdeliusClient
from bridge.services.staff import needs_proxy_codes
from bridge.services.sync.attention import PageAttention
from bridge.services.sync.erasure import erase_case, finish_erasure
from bridge.services.sync.page_writer import PageWriter, merge_away
from bridge.services.sync.reader import ProcessReads, ReaderSpec, Reads, ThreadReads, WorkerStats
from bridge.services.sync.retries import RetrySet
from bridge.store.db import refresh_statistics, session_scope
from bridge.store.locks import job_lock
from bridge.store.models import CaseState, SyncCursor, SyncRun

__all__ = [
    "GDPR_DELETED",
    "MERGE_COMPLETED",
    "SyncOptions",
    "SyncResult",
    "SyncService",
    "plan_page",
]

log = structlog.get_logger(__name__)
CURSOR = "ndelius-events"
GDPR_DELETED = "probation-case.deleted.gdpr"
MERGE_COMPLETED = "probation-case.merge.completed"


@dataclass(frozen=True)
class SyncOptions:
    due_working_days: int = 3
    page_size: int = 500
    retry_base_seconds: float = 60.0
    adopt_existing: str = "adopt"
    concurrency: int = 8  # case reads in flight at once
    retry_alert_attempts: int = 5  # a CRN failing this often is shown to administrators
    drop_dir: Path | None = None  # the file-drop sink's folder: an erasure clears it too


@dataclass
class SyncResult:
    """What a run did (contract keys of `visor-bridge sync --json`, plus a few more)."""

    run_id: int = 0
    events_read: int = 0
    cases_fetched: int = 0
    entries_created: int = 0
    entries_superseded: int = 0
    cases_failed: int = 0
    cursor: int | None = None
    cases_erased: int = 0
    erasures_incomplete: int = 0  # erased rows whose bytes could not be proven gone (listed)
    cases_merged: int = 0
    retry_set: int = 0  # CRNs waiting in the durable retry set after this run
    retry_attention: int = 0  # ... of which have failed `retry_alert_attempts` times or more
    failed_crns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("failed_crns")
        return data


@dataclass
class Batch:
    """One page of work: cases to read, cases to erase, cases merged away (source → target)."""

    reads: dict[str, datetime] = field(default_factory=dict)
    erase: list[str] = field(default_factory=list)
    merges: dict[str, str] = field(default_factory=dict)


class _Stopped(Exception):
    """Internal: a stop was requested between pages."""


@dataclass
class _Outcome:
    crn: str
    occurred_at: datetime
    prepared: PreparedCase | None = None
    failure: ReadFailure | None = None


def _parse_time(value: str | None, fallback: datetime) -> datetime:
    if not value:
        return fallback
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=fallback.tzinfo)


def plan_page(events: Iterable[ChangeEvent], now: datetime) -> Batch:
    """Group a page of thin events: each CRN read once (due from its first change in the page).

    A GDPR deletion erases the case instead of reading it (a later event for the same CRN
    in the page reads it again). A merge reads the surviving case and retires the other.
    """
    batch = Batch()
    for ev in events:
        if ev.event_type == GDPR_DELETED and ev.crn:
            batch.reads.pop(ev.crn, None)
            if ev.crn not in batch.erase:
                batch.erase.append(ev.crn)
            continue
        if ev.event_type == MERGE_COMPLETED:
            source = ev.info.get("sourceCRN")
            target = ev.info.get("targetCRN") or ev.crn
            if isinstance(source, str) and isinstance(target, str) and source != target:
                batch.merges[source] = target
                batch.reads.pop(source, None)
        if ev.crn and ev.crn not in batch.reads:
            batch.reads[ev.crn] = _parse_time(ev.occurred_at, now)
    return batch


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_Collect = Callable[[], list[_Outcome]]


class SyncService:
    """Runs syncs; one at a time per database (see `bridge.store.locks`)."""

    def __init__(
        self,
        *,
        engine: Engine,
        source: NdeliusClient,
        bundle: MappingBundle,
        clock: Clock,
        options: SyncOptions,
        progress: Callable[[SyncResult], None] | None = None,
        stop: Callable[[], bool] | None = None,
        reader: ReaderSpec | None = None,
    ) -> None:
        """`reader`, when given, reads and maps cases in a process of its own (see
        `bridge.services.sync.reader`); without it, reader threads in this process do.
        """
        self._reader = reader
        self.reader_stats: WorkerStats | None = None  # the reading process's, after a run
        self._engine = engine
        self._source = source
        self._bundle = bundle
        self._clock = clock
        self._opts = options
        self._progress = progress or (lambda _result: None)
        self._stop = stop or (lambda: False)
        self.retries = RetrySet(
            engine,
            alert_attempts=options.retry_alert_attempts,
            base_seconds=options.retry_base_seconds,
        )

    def run(self, *, full: bool = False) -> SyncResult | None:
        """Do one run; None when another sync holds the lock."""
        with job_lock(self._engine, "sync") as got:
            if not got:
                return None
            self.reader_stats = None
            self._reads: Reads = (
                ThreadReads(self._source, self._bundle, self._opts.concurrency)
                if self._reader is None
                else ProcessReads(self._reader)
            )
            try:
                return self._run(full=full)
            finally:
                self.reader_stats = self._reads.close()
                refresh_statistics(self._engine)  # the queue's plans depend on them (SQLite)

    # -- the run ------------------------------------------------------------------

    def _run(self, *, full: bool) -> SyncResult:
        now = self._clock.now()
        with session_scope(self._engine) as s:
            # We hold the lock, so a run still marked running was killed: say so.
            s.exec(
                update(SyncRun)
                .where(col(SyncRun.status) == RunStatus.RUNNING)
                .values(status=RunStatus.INTERRUPTED, finished_at=now)
            )
            run = SyncRun(started_at=now, full=full)
            s.add(run)
            s.flush()
            assert run.id is not None
            result = SyncResult(run_id=run.id)
            cursor_row = s.get(SyncCursor, CURSOR)
            cursor = cursor_row.sequence if cursor_row else None
            self._needs_proxy = needs_proxy_codes(s, today=local_date(now))
        self._attempted: set[str] = set()
        self._cursor_written: int | None = None
        try:
            if cursor is None or full:
                head = self._source.head()
                self._reconcile(result)
                if cursor is None:
                    with session_scope(self._engine) as s:
                        s.merge(
                            SyncCursor(name=CURSOR, sequence=head, updated_at=self._clock.now())
                        )
                    cursor = head
            else:
                cursor = self._follow_feed(cursor, result)
            self._rescope(result)
            self._retry_due(result)
            status, error = RunStatus.SUCCEEDED, None
        except SourceError as exc:
            # The feed itself is unreachable: the cursor stays where it was; next run resumes.
            status, error = RunStatus.FAILED, str(exc)[:500]
            log.warning("sync.failed", run_id=result.run_id, error=error)
        except _Stopped:
            # Asked to stop (SIGTERM): every finished page is committed; the next run resumes.
            status, error = RunStatus.STOPPED, None
            if self._cursor_written is not None:
                cursor = self._cursor_written
            log.warning("sync.stopped", run_id=result.run_id)
        result.cursor = cursor
        self._finish(result, status=status, error=error)
        if error is not None:
            raise SourceError(error)
        return result

    def _finish(self, result: SyncResult, *, status: str, error: str | None) -> None:
        with session_scope(self._engine) as s:
            run = s.get(SyncRun, result.run_id)
            assert run is not None
            run.finished_at = self._clock.now()
            run.status = status
            run.error = error
            for key in (
                "events_read",
                "cases_fetched",
                "entries_created",
                "entries_superseded",
                "cases_failed",
                "cursor",
            ):
                setattr(run, key, getattr(result, key))
            s.add(run)
        counts = self.retries.counts()
        result.retry_set, result.retry_attention = counts.size, counts.attention

    def _follow_feed(self, cursor: int, result: SyncResult) -> int:
        def pages() -> Iterator[tuple[Batch, int | None]]:
            after = cursor
            while True:
                page = self._source.events(after=after, limit=self._opts.page_size)
                if not page.events:
                    return
                result.events_read += len(page.events)
                after = page.events[-1].sequence
                yield plan_page(page.events, self._clock.now()), after

        self._pipeline(pages(), result)
        return self._cursor_written if self._cursor_written is not None else cursor

    def _reconcile(self, result: SyncResult) -> None:
        """Every listed MAPPA case, then known in-scope cases the listing no longer has."""
        listed: set[str] = set()

        def pages() -> Iterator[tuple[Batch, int | None]]:
            listing = self._source.mappa_cases(self._opts.page_size)
            for chunk in _chunks(listing, self._opts.page_size):
                listed.update(chunk)
                yield Batch(reads=dict.fromkeys(chunk, self._clock.now())), None

        self._pipeline(pages(), result)
        with Session(self._engine) as s:
            known = s.exec(select(CaseState.crn).where(col(CaseState.in_scope))).all()
        now = self._clock.now()
        self._read_all({crn: now for crn in known if crn not in listed}, result)

    def _rescope(self, result: SyncResult) -> None:
        """Scope that changed inside the bridge (ARCHITECTURE §9): re-read the cases it touches.

        An officer who started needing a proxy: their cases we left out for that reason.
        One who stopped (their `until` passed, or they left the registry): their in-scope cases.
        """
        needs = sorted(self._needs_proxy)
        with Session(self._engine) as s:
            started = s.exec(
                select(CaseState.crn).where(
                    ~col(CaseState.in_scope),
                    col(CaseState.scope_reason) == NO_PROXY,
                    col(CaseState.on_behalf_of).in_(needs),
                )
            ).all()
            stopped = s.exec(
                select(CaseState.crn).where(
                    col(CaseState.in_scope), col(CaseState.on_behalf_of).not_in(needs)
                )
            ).all()
        now = self._clock.now()
        rescoped = [*started, *stopped]
        self._read_all({c: now for c in rescoped if c not in self._attempted}, result)

    def _retry_due(self, result: SyncResult) -> None:
        due = self.retries.due(self._clock.now())
        # A CRN already read in this run (and failed again) waits for the next run.
        self._read_all(
            {item.crn: item.occurred_at for item in due if item.crn not in self._attempted},
            result,
        )

    def _read_all(self, reads: dict[str, datetime], result: SyncResult) -> None:
        """Read these CRNs (each due from its change time), a page at a time."""
        self._pipeline(
            (
                (Batch(reads={crn: reads[crn] for crn in chunk}), None)
                for chunk in _chunks(reads, self._opts.page_size)
            ),
            result,
        )

    def _pipeline(self, pages: Iterable[tuple[Batch, int | None]], result: SyncResult) -> None:
        """Read one page ahead: the next page's reads run while this one is written.

        Writes stay in page order on this thread, each page (and its cursor) one transaction.
        A stop request lets the page in hand be written, then ends the run.
        """
        pending: tuple[Batch, _Collect, int | None] | None = None
        for batch, cursor in pages:
            if self._stop():
                break
            started = (batch, self._start_reads(batch), cursor)
            if pending is not None:
                self._write(*pending, result)
            pending = started
        if pending is not None:
            self._write(*pending, result)
        if self._stop():
            raise _Stopped

    def _start_reads(self, batch: Batch) -> _Collect:
        """Reads run concurrently (a bounded pool, here or in the reading process)."""
        self._attempted.update(batch.reads)
        if not batch.reads:
            return list
        collect = self._reads.start(list(batch.reads), self._needs_proxy)
        return lambda: [
            _Outcome(crn, batch.reads[crn], prepared, failure)
            for crn, prepared, failure in collect()
        ]

    def _write(
        self,
        batch: Batch,
        reads: _Collect,
        new_cursor: int | None,
        result: SyncResult,
    ) -> None:
        """Write every outcome of a page (and the cursor past it) in one transaction."""
        outcomes = reads()
        now = self._clock.now()
        counts = Counts()
        with session_scope(self._engine) as s:
            for crn in batch.erase:
                erase_case(s, crn, now=now, actor=SYNC)
            for source, target in batch.merges.items():
                counts.superseded += merge_away(s, source, target, now=now)
            # The page's rows are loaded after erasures and merges (a CRN erased and re-read
            # in one page starts afresh), a query per table for the page, not per case.
            s.flush()
            crns = [o.crn for o in outcomes]
            retrying = self.retries.items(s, crns)
            page = PageWriter(
                s,
                crns,
                bundle=self._bundle,
                now=now,
                due_days=self._opts.due_working_days,
                adopt_existing=self._opts.adopt_existing,
            )
            attention = PageAttention(s, crns, now=now, audit=page.audit)
            recovered: list[str] = []
            for out in outcomes:
                if out.prepared is None:
                    why = out.failure or ReadFailure("unknown error")
                    failure = self.retries.remember_failure(
                        s,
                        retrying.get(out.crn),
                        crn=out.crn,
                        error=why.error,
                        occurred_at=out.occurred_at,
                        actor=SYNC,
                        now=now,
                    )
                    log.warning(
                        "sync.case_failed", crn=out.crn, attempts=failure.detail["attempts"]
                    )
                    page.audit(failure)
                    if why.attention is not None:  # a transient fault leaves the list as it is
                        attention.note(out.crn, why.attention)
                    result.cases_failed += 1
                    result.failed_crns.append(out.crn)
                    continue
                result.cases_fetched += 1
                counts.add(page.case(out.prepared, occurred_at=out.occurred_at))
                attention.note(out.crn, case_reason(out.prepared))
                if out.crn in retrying:
                    recovered.append(out.crn)
            page.finish()
            self.retries.forget(s, recovered)
            if new_cursor is not None:
                s.merge(SyncCursor(name=CURSOR, sequence=new_cursor, updated_at=now))
        if new_cursor is not None:
            self._cursor_written = new_cursor
        if batch.erase:  # the rows are gone; now their bytes go too, or the case is listed
            done = finish_erasure(
                self._engine,
                batch.erase,
                now=now,
                actor=SYNC,
                wait=self._clock.sleep,
                drop_dir=self._opts.drop_dir,
            )
            result.cases_erased += len(done)
            result.erasures_incomplete += len(batch.erase) - len(done)
        result.cases_merged += len(batch.merges)
        result.entries_created += counts.created
        result.entries_superseded += counts.superseded
        self._progress(result)
