"""The notification outbox (issue 16): rows written in the caller's transaction, at most once.

A cause calls one of the `on_*` functions inside the transaction that records it (an entry
returned, a case entered, a case joining the attention list, the ViSOR breaker opening), so
the message exists exactly when the event does. Each row has a `dedupe` key and is inserted
with ON CONFLICT DO NOTHING, so a cause seen twice (the daily job run on two instances, a
retried transaction) still makes one row.

What may be sent is the engine's `NotifyPolicy` (set by the wiring from the settings): no
policy — no API key — and nothing is written; a kind without a template is not written either.
Recipients without an email address, inactive, or who turned the kind off get no row.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.core.lifecycle import Role, local_date
from bridge.core.notify_kinds import NotifyKind, OutboxStatus, check_personalisation
from bridge.store.models import Entry, Notification, NotifyOptOut, Staff

__all__ = [
    "NotifyPolicy",
    "admins",
    "enqueue",
    "on_attention",
    "on_breaker_open",
    "on_case_entered",
    "on_entry_returned",
    "policy_of",
    "use_notify_policy",
]


@dataclass(frozen=True)
class NotifyPolicy:
    """What the bridge may send: kinds with a template, the proxies' mailbox, the link base."""

    kinds: frozenset[str]
    link_base: str
    mailbox: str | None = None
    templates: Mapping[str, str] = field(default_factory=dict)

    def link(self, path: str) -> str:
        return self.link_base.rstrip("/") + path


_POLICIES: weakref.WeakKeyDictionary[Engine, NotifyPolicy] = weakref.WeakKeyDictionary()


def use_notify_policy(engine: Engine, policy: NotifyPolicy | None) -> None:
    """Write notifications through `engine` under `policy` (None: write none)."""
    if policy is None:
        _POLICIES.pop(engine, None)
    else:
        _POLICIES[engine] = policy


def policy_of(session: Session) -> NotifyPolicy | None:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _POLICIES.get(engine)


def _recipients(session: Session, codes: Iterable[str], kind: str) -> list[str]:
    """Of `codes`, the active people with an address who have not turned `kind` off."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return []
    people = session.exec(
        select(Staff.code).where(
            col(Staff.code).in_(wanted),
            col(Staff.active).is_(True),
            col(Staff.email).is_not(None),
            col(Staff.email) != "",
        )
    ).all()
    off = set(
        session.exec(
            select(NotifyOptOut.staff_code).where(
                col(NotifyOptOut.staff_code).in_(wanted), NotifyOptOut.kind == kind
            )
        ).all()
    )
    return [code for code in people if code not in off]


def admins(session: Session) -> list[str]:
    """Active administrators' codes (roles are a JSON list: filtered here, they are few)."""
    rows = session.exec(select(Staff.code, Staff.roles).where(col(Staff.active).is_(True)))
    return sorted(code for code, roles in rows if Role.ADMIN in (roles or []))


def _insert(session: Session, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(Notification).on_conflict_do_nothing(index_elements=["dedupe"])
    added = 0
    for row in rows:  # one at a time: an executemany's rowcount is not reliable on psycopg
        result = session.connection().execute(statement, row)
        added += max(0, int(getattr(result, "rowcount", 0) or 0))
    return added


def enqueue(
    session: Session,
    kind: NotifyKind,
    *,
    to: Iterable[str] = (),
    mailbox: bool = False,
    crn: str | None,
    values: Mapping[str, object],
    dedupe: str,
    now: datetime,
) -> int:
    """Outbox rows for `kind` to the staff `to` (and the proxies' mailbox when `mailbox` and
    one is configured), one per recipient; `dedupe` is suffixed with each. Returns rows added."""
    policy = policy_of(session)
    if policy is None or kind.value not in policy.kinds:
        return 0
    personalisation = check_personalisation(kind, values, link_base=policy.link_base)
    base: dict[str, Any] = {
        "kind": kind.value,
        "crn": crn,
        "personalisation": personalisation,
        "status": OutboxStatus.QUEUED.value,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    rows = [
        {**base, "recipient": code, "mailbox": None, "dedupe": f"{dedupe}:{code}"[:160]}
        for code in _recipients(session, to, kind.value)
    ]
    if mailbox and policy.mailbox:
        rows.append({**base, "recipient": None, "mailbox": policy.mailbox, "dedupe": dedupe})
    return _insert(session, rows)


# -- causes that are events (called in the event's own transaction) ------------------------


def _to_officer(
    session: Session, kind: NotifyKind, entry: Entry, *, dedupe: str, now: datetime
) -> int:
    """A message to the officer `entry` is made for: its CRN and a link to their case page."""
    policy = policy_of(session)
    if policy is None:
        return 0
    return enqueue(
        session,
        kind,
        to=[entry.on_behalf_of],
        crn=entry.crn,
        values={"crn": entry.crn, "link": policy.link(f"/cases/{entry.crn}")},
        dedupe=dedupe,
        now=now,
    )


def on_entry_returned(session: Session, entry: Entry, *, now: datetime) -> int:
    """A proxy returned `entry` to its officer: they are told (the reason is behind the link)."""
    kind = NotifyKind.ENTRY_RETURNED
    return _to_officer(session, kind, entry, dedupe=f"{kind}:{entry.id}", now=now)


def on_case_entered(session: Session, entry: Entry, *, now: datetime) -> int:
    """An entry of the case is in ViSOR: one message per case and officer a day (London)."""
    kind = NotifyKind.CASE_ENTERED
    dedupe = f"{kind}:{entry.crn}:{local_date(now).isoformat()}"
    return _to_officer(session, kind, entry, dedupe=dedupe, now=now)


def on_attention(session: Session, crn: str, *, reason: str, now: datetime) -> int:
    """A case joined the attention list (or its reason changed): administrators are told."""
    policy = policy_of(session)
    if policy is None:
        return 0
    return enqueue(
        session,
        NotifyKind.ATTENTION,
        to=admins(session),
        crn=crn,
        values={"crn": crn, "link": policy.link("/admin/sync")},
        dedupe=f"{NotifyKind.ATTENTION}:{crn}:{reason}:{now.isoformat()}",
        now=now,
    )


def on_breaker_open(session: Session, *, opened_at: datetime) -> int:
    """The ViSOR circuit breaker opened (from closed): administrators are told, once."""
    policy = policy_of(session)
    if policy is None:
        return 0
    return enqueue(
        session,
        NotifyKind.BREAKER_OPEN,
        to=admins(session),
        crn=None,
        values={"link": policy.link("/admin/submissions")},
        dedupe=f"{NotifyKind.BREAKER_OPEN}:{opened_at.isoformat()}",
        now=opened_at,
    )
