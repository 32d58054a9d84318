"""What this process has done, as Prometheus metrics (process-local; the store's figures are
read at scrape time by `bridge.services.metrics`).

Labels are action names, route templates, job names and outcome words — never a CRN, an id or
anything typed, so no label can carry personal data and none grows without bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram

__all__ = [
    "AUDIT_EVENTS",
    "HTTP_DURATION",
    "JOB_RUNS",
    "VERIFIED",
    "Verified",
    "count_audit",
]

#: Every audit event this process recorded, by action: sign-in failures (`sign_in.failed`),
#: submissions by outcome (`entry.submitted`, `entry.accepted`, `entry.failed`), decisions.
AUDIT_EVENTS = Counter(
    "bridge_audit_events", "Audit events recorded by this process, by action.", ["action"]
)
#: Request time by route template (`/tasks/{crn}`, never the path itself).
HTTP_DURATION = Histogram(
    "bridge_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status class.",
    ["method", "route", "status"],
    # 20 ms and 150 ms: the targets (claim next, every page) are bucket boundaries.
    buckets=(0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0),
)
#: Scheduled job runs in this process, by job and outcome (ok, error, skipped).
JOB_RUNS = Counter(
    "bridge_job_runs", "Scheduled job runs in this process, by job and outcome.", ["job", "outcome"]
)


@dataclass(slots=True)
class Verified:
    """The last audit chain check this process ran (the scheduler's `audit-verify` job);
    reported only once there is one, so a process that never checked raises no alert."""

    ok: bool | None = None
    at: float | None = None  # seconds since the epoch
    events: int = 0


VERIFIED = Verified()


def count_audit(actions: list[str]) -> None:
    """Count recorded audit events (called by `bridge.audit` after a write)."""
    for action in actions:
        AUDIT_EVENTS.labels(action=action).inc()
