"""One sync run: the change feed after the cursor (or a full reconciliation), then the retry set."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import Audit, record
from bridge.clock import Clock
from bridge.errors import SourceError
from bridge.mapping_files import MappingBundle
from bridge.ndelius import NdeliusClient
from bridge.services.queueing import Counts, PreparedCase, apply_case, prepare_case
from bridge.services.staff import needs_proxy_codes
from bridge.store.db import session_scope
from bridge.store.locks import job_lock
from bridge.store.models import CaseState, RetryItem, SyncCursor, SyncRun

__all__ = ["SyncOptions", "SyncResult", "SyncService"]

log = structlog.get_logger(__name__)
CURSOR = "ndelius-events"
MAX_RETRY_DELAY = timedelta(hours=6)


@dataclass(frozen=True)
class SyncOptions:
    due_working_days: int = 3
    page_size: int = 500
    retry_base_seconds: float = 60.0
    adopt_existing: str = "adopt"
    concurrency: int = 8  # case reads in flight at once


@dataclass
class SyncResult:
    """What a run did (contract keys of `bridge sync --json`)."""

    run_id: int = 0
    events_read: int = 0
    cases_fetched: int = 0
    entries_created: int = 0
    entries_superseded: int = 0
    cases_failed: int = 0
    cursor: int | None = None
    failed_crns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("failed_crns")
        return data


@dataclass
class _Outcome:
    crn: str
    occurred_at: datetime
    prepared: PreparedCase | None = None
    error: str | None = None


def _parse_time(value: str | None, fallback: datetime) -> datetime:
    if not value:
        return fallback
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=fallback.tzinfo)


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
        progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._source = source
        self._bundle = bundle
        self._clock = clock
        self._opts = options
        self._progress = progress or (lambda _what, _n: None)

    def run(self, *, full: bool = False) -> SyncResult | None:
        """Do one run; None when another sync holds the lock."""
        with job_lock(self._engine, "sync") as got:
            if not got:
                return None
            with ThreadPoolExecutor(
                max_workers=max(1, self._opts.concurrency), thread_name_prefix="sync-read"
            ) as pool:
                self._pool = pool
                return self._run(full=full)

    # -- the run ------------------------------------------------------------------

    def _run(self, *, full: bool) -> SyncResult:
        now = self._clock.now()
        with session_scope(self._engine) as s:
            run = SyncRun(started_at=now, full=full)
            s.add(run)
            s.flush()
            assert run.id is not None
            result = SyncResult(run_id=run.id)
            cursor_row = s.get(SyncCursor, CURSOR)
            cursor = cursor_row.sequence if cursor_row else None
            self._needs_proxy = needs_proxy_codes(s, today=now.date())
        self._attempted: set[str] = set()
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
            self._retry_due(result)
            status, error = "succeeded", None
        except SourceError as exc:
            # The feed itself is unreachable: the cursor stays where it was; next run resumes.
            status, error = "failed", str(exc)[:500]
            log.warning("sync.failed", run_id=result.run_id, error=error)
        result.cursor = cursor
        with session_scope(self._engine) as s:
            done = s.get(SyncRun, result.run_id)
            assert done is not None
            run = done
            run.finished_at = self._clock.now()
            run.status = status
            run.error = error
            for key in (
                "events_read",
                "cases_fetched",
                "entries_created",
                "entries_superseded",
                "cases_failed",
            ):
                setattr(run, key, getattr(result, key))
            run.cursor = cursor
            s.add(run)
        if error is not None:
            raise SourceError(error)
        return result

    def _follow_feed(self, cursor: int, result: SyncResult) -> int:
        while True:
            page = self._source.events(after=cursor, limit=self._opts.page_size)
            if not page.events:
                return cursor
            result.events_read += len(page.events)
            self._progress("events", len(page.events))
            first_seen: dict[str, datetime] = {}
            for ev in page.events:
                if ev.crn and ev.crn not in first_seen:
                    first_seen[ev.crn] = _parse_time(ev.occurred_at, self._clock.now())
            self._process(first_seen, result, new_cursor=page.events[-1].sequence)
            cursor = page.events[-1].sequence

    def _reconcile(self, result: SyncResult) -> None:
        listed: set[str] = set()
        for chunk in _chunks(self._source.mappa_cases(self._opts.page_size), self._opts.page_size):
            listed.update(chunk)
            now = self._clock.now()
            self._process(dict.fromkeys(chunk, now), result)
        with Session(self._engine) as s:
            known = s.exec(select(CaseState.crn).where(col(CaseState.in_scope))).all()
        missing = [crn for crn in known if crn not in listed]
        for chunk in _chunks(missing, self._opts.page_size):
            now = self._clock.now()
            self._process(dict.fromkeys(chunk, now), result)

    def _retry_due(self, result: SyncResult) -> None:
        now = self._clock.now()
        with Session(self._engine) as s:
            due = s.exec(select(RetryItem).where(col(RetryItem.next_attempt_at) <= now)).all()
        # A CRN already read in this run (and failed again) waits for the next run.
        todo = {item.crn: item.occurred_at for item in due if item.crn not in self._attempted}
        for chunk in _chunks(todo, self._opts.page_size):
            self._process({crn: todo[crn] for crn in chunk}, result)

    def _read(self, crn: str, occurred_at: datetime) -> _Outcome:
        try:
            snapshot = self._source.case(crn)
        except SourceError as exc:
            return _Outcome(crn, occurred_at, error=str(exc)[:500])
        return _Outcome(
            crn,
            occurred_at,
            prepared=prepare_case(snapshot, needs_proxy=self._needs_proxy, bundle=self._bundle),
        )

    def _process(
        self,
        crns: dict[str, datetime],
        result: SyncResult,
        *,
        new_cursor: int | None = None,
    ) -> None:
        """Read each CRN once, then write every outcome (and the cursor) in one transaction."""
        self._attempted.update(crns)
        # Reads run concurrently on a bounded pool; writes stay on this thread, in order.
        outcomes = list(self._pool.map(self._read, crns, crns.values()))
        now = self._clock.now()
        counts = Counts()
        with session_scope(self._engine) as s:
            for out in outcomes:
                if out.prepared is None:
                    self._remember_failure(s, out, now=now)
                    result.cases_failed += 1
                    result.failed_crns.append(out.crn)
                    continue
                result.cases_fetched += 1
                counts.add(
                    apply_case(
                        s,
                        out.prepared,
                        bundle=self._bundle,
                        now=now,
                        occurred_at=out.occurred_at,
                        due_days=self._opts.due_working_days,
                        adopt_existing=self._opts.adopt_existing,
                    )
                )
                item = s.get(RetryItem, out.crn)
                if item is not None:
                    s.delete(item)
            if new_cursor is not None:
                s.merge(SyncCursor(name=CURSOR, sequence=new_cursor, updated_at=now))
        result.entries_created += counts.created
        result.entries_superseded += counts.superseded
        self._progress("cases", len(outcomes))

    def _remember_failure(self, s: Session, out: _Outcome, *, now: datetime) -> None:
        item = s.get(RetryItem, out.crn)
        if item is None:
            item = RetryItem(
                crn=out.crn, first_failed_at=now, next_attempt_at=now, occurred_at=out.occurred_at
            )
        item.attempts += 1
        item.last_error = out.error or "unknown error"
        delay = timedelta(seconds=self._opts.retry_base_seconds * (2 ** min(item.attempts - 1, 16)))
        item.next_attempt_at = now + min(delay, MAX_RETRY_DELAY)
        s.add(item)
        record(
            s,
            Audit(
                "collection",
                "case.read_failed",
                "system:sync",
                out.crn,
                None,
                {"attempts": item.attempts, "error": item.last_error},
            ),
            at=now,
        )
        log.warning("sync.case_failed", crn=out.crn, attempts=item.attempts)
