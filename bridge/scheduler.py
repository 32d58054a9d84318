"""APScheduler wiring only: the jobs call services; one runner per job across instances (see locks)."""

from __future__ import annotations

import os
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bridge.counters import JOB_RUNS, VERIFIED
from bridge.logs import bound
from bridge.services.metrics import start_exporter
from bridge.wiring import Wiring

__all__ = [
    "CLAIMS_INTERVAL",
    "audit_verify_job",
    "build_scheduler",
    "claims_job",
    "notify_due_job",
    "notify_send_job",
    "retention_job",
    "run_until_stopped",
    "serve_metrics",
    "submit_job",
    "sync_job",
]

#: Seconds between clean-ups of claims: lapsed ones, and those whose holder may no longer act.
CLAIMS_INTERVAL = 60

log = structlog.get_logger(__name__)


#: This instance, as recorded in the last-run row.
HOLDER = f"{socket.gethostname()}:{os.getpid()}"[:100]


@contextmanager
def _tick(wiring: Wiring, name: str, interval: int) -> Iterator[bool]:
    """A job boundary: True if this instance owns this tick; failures are logged, never raised.

    Every instance ticks; the last-run row lets only the first in each interval run, and the
    job's lock keeps a long run from overlapping the next interval's.
    """
    with bound(job=name, job_run_id=uuid.uuid4().hex[:12]):
        yield from _tick_body(wiring, name, interval)


def _tick_body(wiring: Wiring, name: str, interval: int) -> Iterator[bool]:
    try:
        mine = wiring.operations.claim_tick(
            name, min_gap=timedelta(seconds=interval * 0.8), holder=HOLDER
        )
    except Exception as exc:  # noqa: BLE001 - scheduler boundary (the database is down, say)
        _job_error(name, exc)
        JOB_RUNS.labels(job=name, outcome="error").inc()
        mine = False
    else:
        if not mine:
            log.info(f"{name}.skipped", reason="another instance ran this tick")
            JOB_RUNS.labels(job=name, outcome="skipped").inc()
    try:
        yield mine
    except Exception as exc:  # noqa: BLE001 - scheduler boundary
        _job_error(name, exc)
        JOB_RUNS.labels(job=name, outcome="error").inc()
    else:
        if mine:
            JOB_RUNS.labels(job=name, outcome="ok").inc()


def _job_error(name: str, exc: Exception) -> None:
    """An unexpected error at the scheduler's boundary: its class and a reference only. Its
    text may carry data (an SQL error quotes the statement's parameters), so it is never
    logged; the reference ties the line to whatever the operator finds next."""
    log.error(
        f"{name}.job_error",
        reference=uuid.uuid4().hex[:12],
        error_type=type(exc).__name__,
    )


def _anchor(wiring: Wiring) -> None:
    """Note the audit chain's head outside the database (anchor file and log) after a run."""
    try:
        wiring.audit_log.anchor()
    except Exception as exc:  # noqa: BLE001 - scheduler boundary
        _job_error("audit.anchor", exc)


def sync_job(wiring: Wiring, stop: threading.Event | None = None) -> None:
    """One scheduled sync."""
    with _tick(wiring, "sync", wiring.settings.sync_interval_seconds) as mine:
        if not mine:
            return
        with wiring.ndelius() as source:
            result = wiring.sync_service(source, stop=stop.is_set if stop else None).run()
        if result is None:
            log.info("sync.skipped", reason="another sync is running")
        else:
            log.info(
                "sync.done",
                run_id=result.run_id,
                created=result.entries_created,
                failed=result.cases_failed,
            )
        _anchor(wiring)


def submit_job(wiring: Wiring, stop: threading.Event | None = None) -> None:
    """One scheduled submit (automatic sinks only); the service's job lock also keeps a slow
    run (ViSOR retrying) from overlapping a manual `visor-bridge submit`."""
    with _tick(wiring, "submit", wiring.settings.submit_interval_seconds) as mine:
        if not mine:
            return
        with wiring.submission() as service:
            result = service.run(stop=stop.is_set if stop else None)
        log.info(
            "submit.job_done",
            sink=result.sink,
            accepted=result.accepted,
            failed=result.failed,
            skipped=result.skipped,
            breaker=result.breaker,
        )
        _anchor(wiring)


def retention_job(wiring: Wiring) -> None:
    """Purge content and metadata past their periods (bridge.services.retention)."""
    with _tick(wiring, "retention", wiring.settings.retention_interval_seconds) as mine:
        if not mine:
            return
        wiring.retention.run()
        wiring.retry_erasures()
        _anchor(wiring)


def claims_job(wiring: Wiring) -> None:
    """One scheduled clean-up of claims (ARCHITECTURE §3): lapsed claims, and claims whose
    holder's vetting lapsed (or who may no longer act on the case), go back to the queue."""
    with _tick(wiring, "claims", CLAIMS_INTERVAL) as mine:
        if not mine:
            return
        released = wiring.tasks.expire()
        log.info("claims.job_done", released=released)


def audit_verify_job(wiring: Wiring) -> None:
    """Check the audit chain (as `audit verify`) and report it as `bridge_audit_verify_ok`.
    Every instance checks (each reports its own metric); a broken chain is logged as an error."""
    with bound(job="audit-verify", job_run_id=uuid.uuid4().hex[:12]):
        _verify(wiring)


def _verify(wiring: Wiring) -> None:
    try:
        result = wiring.audit_log.verify()
    except Exception as exc:  # noqa: BLE001 - scheduler boundary (a key this bridge lacks, say)
        _job_error("audit-verify", exc)
        JOB_RUNS.labels(job="audit-verify", outcome="error").inc()
        VERIFIED.ok, VERIFIED.at = False, wiring.clock.now().timestamp()
        return
    JOB_RUNS.labels(job="audit-verify", outcome="ok").inc()
    VERIFIED.ok, VERIFIED.at, VERIFIED.events = (
        result.ok,
        wiring.clock.now().timestamp(),
        result.events,
    )
    if not result.ok:
        log.error("audit.verify_failed", first_bad=result.first_bad, events=result.events)


def notify_send_job(wiring: Wiring, stop: threading.Event | None = None) -> None:
    """Deliver the notification outbox (GOV.UK Notify); one sender at a time (its job lock)."""
    with _tick(wiring, "notify-send", wiring.settings.notify_send_interval_seconds) as mine:
        if not mine:
            return
        wiring.notify().send(stop=stop.is_set if stop else None)


def notify_due_job(wiring: Wiring) -> None:
    """Write the time-based notifications that are due (overdue, digests, vetting, sync)."""
    with _tick(wiring, "notify-due", wiring.settings.notify_due_interval_seconds) as mine:
        if not mine:
            return
        wiring.notify_due.run()


def _on_event(event: JobEvent) -> None:
    log.warning("scheduler.event", job_id=event.job_id, code=event.code)


def build_scheduler(
    wiring: Wiring,
    *,
    interval_seconds: int | None = None,
    stop: threading.Event | None = None,
    first_run_now: bool = False,
) -> BackgroundScheduler:
    interval = interval_seconds or wiring.settings.sync_interval_seconds
    sched = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": max(30, interval // 2),
        },
        timezone="UTC",
    )
    sched.add_listener(_on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    start = wiring.clock.now() + timedelta(seconds=0 if first_run_now else interval)
    sched.add_job(
        sync_job,
        "interval",
        args=[wiring, stop],
        seconds=interval,
        id="ndelius-sync",
        replace_existing=True,
        next_run_time=start,
    )
    sched.add_job(
        claims_job,
        "interval",
        args=[wiring],
        seconds=CLAIMS_INTERVAL,
        id="claims-expiry",
        replace_existing=True,
        next_run_time=wiring.clock.now() + timedelta(seconds=CLAIMS_INTERVAL),
    )
    if wiring.settings.sink != "manual":  # the manual sink has nothing to deliver
        every = wiring.settings.submit_interval_seconds
        sched.add_job(
            submit_job,
            "interval",
            args=[wiring, stop],
            seconds=every,
            id="visor-submit",
            replace_existing=True,
            next_run_time=wiring.clock.now() + timedelta(seconds=0 if first_run_now else every),
        )
    every = wiring.settings.audit_verify_interval_seconds
    sched.add_job(
        audit_verify_job,
        "interval",
        args=[wiring],
        seconds=every,
        id="audit-verify",
        replace_existing=True,
        next_run_time=wiring.clock.now() + timedelta(seconds=0 if first_run_now else every),
    )
    every = wiring.settings.retention_interval_seconds
    sched.add_job(
        retention_job,
        "interval",
        args=[wiring],
        seconds=every,
        id="retention",
        replace_existing=True,
        next_run_time=wiring.clock.now() + timedelta(seconds=0 if first_run_now else every),
    )
    if wiring.notify_policy is not None:  # no API key: no notifications (said at start-up)
        for job, job_args, every, job_id in (
            (
                notify_send_job,
                [wiring, stop],
                wiring.settings.notify_send_interval_seconds,
                "notify-send",
            ),
            (notify_due_job, [wiring], wiring.settings.notify_due_interval_seconds, "notify-due"),
        ):
            sched.add_job(
                job,
                "interval",
                args=job_args,
                seconds=every,
                id=job_id,
                replace_existing=True,
                next_run_time=wiring.clock.now() + timedelta(seconds=0 if first_run_now else every),
            )
    return sched


def serve_metrics(wiring: Wiring) -> None:
    """Serve /metrics on BRIDGE_METRICS_ADDRESS from a daemon thread, when it is set."""
    address = wiring.settings.metrics_address
    if address:
        host, port = start_exporter(wiring.metrics, address)
        log.warning("metrics.serving", address=f"{host}:{port}")


def run_until_stopped(wiring: Wiring) -> None:
    """Run the scheduler in this process until SIGINT or SIGTERM, then shut down cleanly.

    A stop lets a running sync finish the page it is on (each page is committed with its
    cursor), then waits for the job thread; the next start resumes from the cursor.
    """
    sink = wiring.sink()  # an unusable sink (file-drop without a folder) refuses to start
    if sink is not None:
        sink.close()
    serve_metrics(wiring)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if wiring.notify_policy is None:
        log.warning("notify.disabled", reason="BRIDGE_NOTIFY_API_KEY is not set: no notifications")
    else:
        log.warning("notify.enabled", kinds=sorted(wiring.notify_policy.kinds))
    sched = build_scheduler(wiring, stop=stop, first_run_now=True)
    sched.start()
    log.warning("scheduler.started", interval_seconds=wiring.settings.sync_interval_seconds)
    stop.wait()
    log.warning("scheduler.stopping")
    sched.shutdown(wait=True)
    log.warning("scheduler.stopped")
