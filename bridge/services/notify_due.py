"""The time-based notifications (issue 16), written to the outbox by the `notify-due` job.

Each run looks at the clock and the store and writes what is due; each row's `dedupe` key
names its day (or its episode), so running the job every few minutes, on several instances,
or twice by hand still makes one message:

- officers: entries on their behalf past their due date — one message per officer per day;
- proxies (each, or the team mailbox): case tasks falling due tomorrow, and a daily digest
  of the queue — one of each per proxy per day;
- administrators: a proxy's vetting expiring within `vetting_days` — one per proxy and expiry
  date; no sync succeeded for `sync_stale_hours` — one per stale spell (keyed by the last
  success).

The daily ones wait until `daily_hour` (Europe/London). Counts only: never content.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.clock import Clock
from bridge.core.lifecycle import ACCEPTED_VETTING, LONDON, OPEN, Role, RunStatus, local_date
from bridge.core.notify_kinds import NotifyKind
from bridge.store.db import session_scope
from bridge.store.models import Entry, Staff, SyncRun
from bridge.store.outbox import admins, enqueue, policy_of

__all__ = ["DueOptions", "NotifyDueService"]

log = structlog.get_logger(__name__)

_OPEN = [s.value for s in OPEN]


@dataclass(frozen=True)
class DueOptions:
    vetting_days: int = 30
    sync_stale_hours: int = 6
    daily_hour: int = 7


class NotifyDueService:
    """Writes the time-based messages that are due now."""

    def __init__(self, *, engine: Engine, clock: Clock, options: DueOptions) -> None:
        self._engine = engine
        self._clock = clock
        self._options = options

    def run(self) -> dict[str, int]:
        """Rows added per kind."""
        now = self._clock.now()
        added: Counter[str] = Counter()
        with session_scope(self._engine) as s:
            policy = policy_of(s)
            if policy is None:
                return {}
            if now.astimezone(LONDON).hour >= self._options.daily_hour:
                added[NotifyKind.ENTRY_OVERDUE] += _overdue(s, now, policy.link("/cases"))
                added += _proxies(s, now, policy.link("/queue"))
                added[NotifyKind.VETTING_EXPIRING] += _vetting(
                    s, now, self._options.vetting_days, policy.link("/admin/staff")
                )
            added[NotifyKind.SYNC_STALE] += _sync_stale(
                s, now, self._options.sync_stale_hours, policy.link("/admin/sync")
            )
        out = {str(k): v for k, v in added.items() if v}
        log.info("notify.due_done", **out)
        return out


def _acting_proxies(s: Session, today: date) -> list[str]:
    """Active proxies whose vetting is current (a lapsed one cannot take the work)."""
    rows = s.exec(
        select(Staff.code, Staff.roles).where(
            col(Staff.active).is_(True),
            col(Staff.vetting_level).in_(sorted(ACCEPTED_VETTING)),
            col(Staff.vetting_expires) >= today,
        )
    )
    return sorted(code for code, roles in rows if Role.PROXY in (roles or []))


def _overdue(s: Session, now: datetime, link: str) -> int:
    today = local_date(now)
    rows = s.exec(
        select(Entry.on_behalf_of, func.count())
        .where(col(Entry.status).in_(_OPEN), col(Entry.due_date) < today)
        .group_by(col(Entry.on_behalf_of))
    ).all()
    added = 0
    for officer, count in rows:
        added += enqueue(
            s,
            NotifyKind.ENTRY_OVERDUE,
            to=[officer],
            crn=None,
            values={"count": int(count), "link": link},
            dedupe=f"{NotifyKind.ENTRY_OVERDUE}:{today.isoformat()}",
            now=now,
        )
    return added


def _proxies(s: Session, now: datetime, link: str) -> Counter[str]:
    """Tasks due tomorrow and the digest: to each proxy, or to the mailbox when configured."""
    today = local_date(now)
    policy = policy_of(s)
    mailbox = policy is not None and bool(policy.mailbox)
    proxies = [] if mailbox else _acting_proxies(s, today)
    earliest = s.exec(
        select(Entry.crn, func.min(Entry.due_date))
        .where(col(Entry.status).in_(_OPEN))
        .group_by(col(Entry.crn))
    ).all()
    dues = [d if not isinstance(d, str) else datetime.fromisoformat(d).date() for _, d in earliest]
    tomorrow = sum(1 for d in dues if d == today + timedelta(days=1))
    overdue = sum(1 for d in dues if d < today)
    added: Counter[str] = Counter()
    if tomorrow:
        added[NotifyKind.TASKS_DUE_TOMORROW] += enqueue(
            s,
            NotifyKind.TASKS_DUE_TOMORROW,
            to=proxies,
            mailbox=mailbox,
            crn=None,
            values={"count": tomorrow, "link": link},
            dedupe=f"{NotifyKind.TASKS_DUE_TOMORROW}:{today.isoformat()}",
            now=now,
        )
    if dues:
        added[NotifyKind.PROXY_DIGEST] += enqueue(
            s,
            NotifyKind.PROXY_DIGEST,
            to=proxies,
            mailbox=mailbox,
            crn=None,
            values={"waiting": len(dues), "overdue": overdue, "link": link},
            dedupe=f"{NotifyKind.PROXY_DIGEST}:{today.isoformat()}",
            now=now,
        )
    return added


def _vetting(s: Session, now: datetime, days: int, link: str) -> int:
    today = local_date(now)
    rows = s.exec(
        select(Staff.code, Staff.roles, col(Staff.vetting_expires)).where(
            col(Staff.active).is_(True),
            col(Staff.vetting_expires).is_not(None),
            col(Staff.vetting_expires) >= today,
            col(Staff.vetting_expires) <= today + timedelta(days=days),
        )
    ).all()
    to = admins(s)
    added = 0
    for code, roles, expires in rows:
        if Role.PROXY not in (roles or []) or expires is None:
            continue
        added += enqueue(
            s,
            NotifyKind.VETTING_EXPIRING,
            to=to,
            crn=None,
            values={"staff_code": code, "days": (expires - today).days, "link": link},
            dedupe=f"{NotifyKind.VETTING_EXPIRING}:{code}:{expires.isoformat()}",
            now=now,
        )
    return added


def _sync_stale(s: Session, now: datetime, hours: int, link: str) -> int:
    if s.exec(select(SyncRun.id).limit(1)).first() is None:
        return 0  # a new installation that never synced is not "stopped"
    last = s.exec(
        select(func.max(SyncRun.finished_at)).where(SyncRun.status == RunStatus.SUCCEEDED)
    ).first()
    if isinstance(last, str):
        last = datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is not None and now - last < timedelta(hours=hours):
        return 0
    since = "never" if last is None else last.isoformat()
    stale_for = hours if last is None else int((now - last).total_seconds() // 3600)
    return enqueue(
        s,
        NotifyKind.SYNC_STALE,
        to=admins(s),
        crn=None,
        values={"hours": stale_for, "link": link},
        dedupe=f"{NotifyKind.SYNC_STALE}:{since}",
        now=now,
    )
