"""Delivering the notification outbox through GOV.UK Notify, exactly once (issue 16).

One sender at a time (a job lock) walks the outbox in id order. For each row it first commits
`sending` with the row's Notify `reference` (`vb-<random>-<id>`: unique across database resets,
kept for good), then sends, then commits `sent`. A row found `sending` is one whose outcome is
unknown — the process died, or the network failed, after the first commit — so the sender
looks its reference up in Notify before sending again: Notify does not deduplicate. A crash at
any point therefore neither loses a message nor sends it twice.

Throttling and server trouble are retried by the client (bridge.notify_client); when they
outlast its retries the run stops and the rows wait for the next run. A permanent refusal
marks the row `failed` with Notify's reason (no content: our messages carry none), shown to
administrators. A row whose recipient has since lost their address, left, or turned the kind
off is `skipped`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.clock import Clock
from bridge.core.lifecycle import Role
from bridge.core.notify_kinds import AUDIENCE, KINDS, Audience, NotifyKind, OutboxStatus
from bridge.errors import NotPermitted
from bridge.notify_client import NotifyClient, NotifyRefused, NotifyUnavailable
from bridge.store.db import session_scope
from bridge.store.locks import job_lock
from bridge.store.models import Notification, NotifyOptOut, Staff

__all__ = ["FailedNotification", "NotifyService", "SendResult"]

log = structlog.get_logger(__name__)

#: Rows read per batch.
BATCH = 200
PENDING, SENDING, SENT = OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT
FAILED, SKIPPED = OutboxStatus.FAILED, OutboxStatus.SKIPPED


@dataclass
class SendResult:
    """`visor-bridge notify send --json`: counts of one run."""

    sent: int = 0
    found: int = 0  # `sending` rows Notify already had (a send whose answer was lost)
    failed: int = 0
    skipped: int = 0
    left: int = 0  # rows still waiting when the run stopped (Notify unavailable)
    stopped: str | None = None
    waits: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class FailedNotification:
    """A message Notify refused for good, for the administrators' page (ids and codes only)."""

    id: int
    kind: str
    recipient: str | None
    crn: str | None
    reason: str
    at: datetime


@dataclass(frozen=True)
class _Job:
    id: int
    address: str
    template_id: str
    personalisation: dict[str, str]
    reference: str
    unsure: bool


class NotifyService:
    """The sender, each person's opt-outs and the administrators' list of failures."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        client: Callable[[], NotifyClient] | None,
        templates: dict[str, str],
        after_commit: Callable[[str], None] | None = None,
    ) -> None:
        """`client`: None when no API key is set (nothing is sent). `after_commit`: a test
        hook called with a step name ("sending", "posted", "sent") — the crash tests kill
        the process there."""
        self._engine = engine
        self._clock = clock
        self._client = client
        self._templates = templates
        self._hook = after_commit or (lambda _step: None)

    @property
    def enabled(self) -> bool:
        return self._client is not None

    # -- sending ---------------------------------------------------------------------------

    def send(self, *, stop: Callable[[], bool] | None = None) -> SendResult | None:
        """Deliver every waiting row once; None when another sender is running."""
        result = SendResult()
        if self._client is None:
            result.stopped = "no API key (BRIDGE_NOTIFY_API_KEY)"
            return result
        with job_lock(self._engine, "notify-send") as mine:
            if not mine:
                return None
            client = self._client()
            try:
                self._run(client, result, stop or (lambda: False))
            finally:
                result.waits = list(client.waits)
                client.close()
        log.info(
            "notify.send_done",
            sent=result.sent,
            found=result.found,
            failed=result.failed,
            skipped=result.skipped,
            left=result.left,
        )
        return result

    def _run(self, client: NotifyClient, result: SendResult, stop: Callable[[], bool]) -> None:
        after = 0
        while not stop():
            with Session(self._engine) as s:
                ids = s.exec(
                    select(Notification.id)
                    .where(col(Notification.status).in_([PENDING, SENDING]))
                    .where(col(Notification.id) > after)
                    .order_by(col(Notification.id))
                    .limit(BATCH)
                ).all()
            if not ids:
                return
            for row_id in ids:
                assert row_id is not None
                after = row_id
                try:
                    self._deliver(client, row_id, result)
                except NotifyUnavailable as exc:
                    result.stopped = str(exc)
                    result.left = self._waiting_from(row_id)
                    log.warning("notify.unavailable", notification=row_id, reason=str(exc))
                    return
                if stop():
                    return

    def _waiting_from(self, row_id: int) -> int:
        """Rows still to deliver from `row_id` on (what a stopped run leaves)."""
        with Session(self._engine) as s:
            return int(
                s.exec(
                    select(func.count()).where(
                        col(Notification.status).in_([PENDING, SENDING]),
                        col(Notification.id) >= row_id,
                    )
                ).one()
            )

    def _claim(self, row_id: int, result: SendResult) -> _Job | None:
        """Commit `sending` (with the reference) before anything leaves; None: nothing to do."""
        now = self._clock.now()
        with session_scope(self._engine) as s:
            row = s.get(Notification, row_id)
            if row is None or row.status not in (PENDING, SENDING):
                return None
            address, why = self._address(s, row)
            template_id = self._templates.get(row.kind, "")
            if address is not None and not template_id:
                why = "no template configured for this kind"
            if address is None or why:
                row.status, row.reason, row.updated_at = SKIPPED, why, now
                s.add(row)
                result.skipped += 1
                return None
            unsure = row.status == SENDING
            row.status, row.attempts, row.updated_at = SENDING, row.attempts + 1, now
            row.reference = row.reference or f"vb-{secrets.token_hex(6)}-{row.id}"
            s.add(row)
            job = _Job(
                row_id, address, template_id, dict(row.personalisation), row.reference, unsure
            )
        self._hook("sending")
        return job

    def _address(self, s: Session, row: Notification) -> tuple[str | None, str | None]:
        if row.mailbox:
            return row.mailbox, None
        staff = s.get(Staff, row.recipient) if row.recipient else None
        if staff is None or not staff.active or not staff.email:
            return None, "the recipient has no active email address"
        off = s.get(NotifyOptOut, (staff.code, row.kind))
        if off is not None:
            return None, "the recipient turned this kind off"
        return staff.email, None

    def _deliver(self, client: NotifyClient, row_id: int, result: SendResult) -> None:
        job = self._claim(row_id, result)
        if job is None:
            return
        if job.unsure:
            held = client.find(job.reference)
            if held is not None:
                self._finish(job.id, SENT, notify_id=held)
                result.found += 1
                return
        try:
            notify_id = client.send_email(
                job.address, job.template_id, job.personalisation, job.reference
            )
        except NotifyRefused as exc:
            self._finish(job.id, FAILED, reason=exc.reason)
            result.failed += 1
            log.warning("notify.refused", notification=job.id, status=exc.status)
            return
        self._hook("posted")
        self._finish(job.id, SENT, notify_id=notify_id)
        result.sent += 1
        self._hook("sent")

    def _finish(
        self, row_id: int, status: str, *, notify_id: str | None = None, reason: str | None = None
    ) -> None:
        now = self._clock.now()
        with session_scope(self._engine) as s:
            row = s.get(Notification, row_id)
            if row is None:
                return  # erased meanwhile
            row.status, row.updated_at = status, now
            row.notify_id, row.reason = notify_id, reason
            if status == SENT:
                row.sent_at = now
            s.add(row)

    # -- each person's choices -----------------------------------------------------------------

    def kinds_for(self, actor: str) -> list[tuple[NotifyKind, bool]]:
        """The kinds `actor` may receive (by role) and whether each is on, in catalogue order."""
        with Session(self._engine) as s:
            staff = s.get(Staff, actor)
            if staff is None or not staff.active:
                raise NotPermitted("Not permitted.")
            off = set(
                s.exec(select(NotifyOptOut.kind).where(NotifyOptOut.staff_code == actor)).all()
            )
            audiences = _audiences(staff.roles)
        return [(k.kind, k.kind.value not in off) for k in KINDS if k.audience in audiences]

    def set_kinds(self, actor: str, *, on: set[str]) -> None:
        """Turn on exactly the kinds in `on` (of those `actor` may receive); the rest off."""
        now = self._clock.now()
        mine = {kind.value for kind, _ in self.kinds_for(actor)}
        with session_scope(self._engine) as s:
            for row in s.exec(select(NotifyOptOut).where(NotifyOptOut.staff_code == actor)):
                s.delete(row)
            s.flush()
            for kind in sorted(mine - on):
                s.add(NotifyOptOut(staff_code=actor, kind=kind, updated_at=now))

    def email_of(self, actor: str) -> str | None:
        with Session(self._engine) as s:
            staff = s.get(Staff, actor)
            return staff.email if staff is not None else None

    # -- administrators ----------------------------------------------------------------------

    def failed(self, *, admin: str, limit: int = 100) -> list[FailedNotification]:
        """Messages Notify refused, newest first (administrators only)."""
        with Session(self._engine) as s:
            staff = s.get(Staff, admin)
            if staff is None or not staff.active or Role.ADMIN not in staff.roles:
                raise NotPermitted("Not permitted: administrators only.")
            rows = s.exec(
                select(Notification)
                .where(Notification.status == FAILED)
                .order_by(col(Notification.id).desc())
                .limit(limit)
            ).all()
            return [
                FailedNotification(
                    id=r.id or 0,
                    kind=r.kind,
                    recipient=r.recipient,
                    crn=r.crn,
                    reason=r.reason or "",
                    at=r.updated_at,
                )
                for r in rows
            ]

    def counts(self) -> dict[str, int]:
        """Rows by status (operations, the admin page)."""
        with Session(self._engine) as s:
            rows = s.exec(
                select(Notification.status, func.count()).group_by(col(Notification.status))
            ).all()
        return {status: int(n) for status, n in rows}


def _audiences(roles: list[str]) -> set[Audience]:
    found: set[Audience] = set()
    if Role.OFFENDER_MANAGER in roles:
        found.add(Audience.OFFICER)
    if Role.PROXY in roles:
        found.add(Audience.PROXY)
    if Role.ADMIN in roles:
        found.add(Audience.ADMIN)
    return found


assert set(AUDIENCE) == set(NotifyKind)
