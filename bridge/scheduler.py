"""APScheduler wiring only: the jobs call services; one runner per job across instances (see locks)."""

from __future__ import annotations

import signal
import threading
import uuid
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

from bridge.wiring import Wiring

__all__ = ["build_scheduler", "run_until_stopped", "sync_job"]

log = structlog.get_logger(__name__)


def sync_job(wiring: Wiring) -> None:
    """One scheduled sync. A job boundary: any failure is logged with an event id, never raised."""
    try:
        with wiring.ndelius() as source:
            result = wiring.sync_service(source).run()
        if result is None:
            log.info("sync.skipped", reason="another sync is running")
        else:
            log.info(
                "sync.done",
                run_id=result.run_id,
                created=result.entries_created,
                failed=result.cases_failed,
            )
    except Exception as exc:  # noqa: BLE001 - scheduler boundary
        log.error(
            "sync.job_error",
            event_id=uuid.uuid4().hex[:12],
            error_type=type(exc).__name__,
            error=str(exc)[:300],
        )


def _on_event(event: JobEvent) -> None:
    log.warning("scheduler.event", job_id=event.job_id, code=event.code)


def build_scheduler(wiring: Wiring, *, interval_seconds: int | None = None) -> BackgroundScheduler:
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
    sched.add_job(
        sync_job,
        "interval",
        args=[wiring],
        seconds=interval,
        id="ndelius-sync",
        replace_existing=True,
        next_run_time=wiring.clock.now() + timedelta(seconds=interval),
    )
    return sched


def run_until_stopped(wiring: Wiring) -> None:
    """Run the scheduler in this process until SIGINT or SIGTERM, then shut down cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sched = build_scheduler(wiring)
    sched.start()
    sync_job(wiring)  # run once at start, then on the interval
    log.warning("scheduler.started", interval_seconds=wiring.settings.sync_interval_seconds)
    stop.wait()
    sched.shutdown(wait=True)
