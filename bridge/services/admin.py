"""What administrators do with the queue: move claims, and find what nobody can act on.

Administrators manage the registry and the queue's plumbing but do not see entry content
(unless they are also current proxies, through the review service). Every action here
returns metadata only and is audited.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import Audit, record, record_refusal
from bridge.auth import has_current_vetting, is_admin, may_handle_case
from bridge.clock import Clock
from bridge.errors import BadInput, NotPermitted, WrongState
from bridge.services.review import entry_summary
from bridge.store import entries as q
from bridge.store.db import session_scope
from bridge.store.models import OPEN_STATES, CaseState, Entry, Staff

__all__ = ["AdminService"]


class AdminService:
    """Claims moved by an administrator; cases no proxy may take; vetting about to lapse."""

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def _require_admin(self, actor: str, action: str) -> None:
        """Before any transaction opens (a refusal is audited in its own)."""
        with Session(self._engine) as s:
            allowed = is_admin(s.get(Staff, actor))
        if not allowed:
            record_refusal(self._engine, actor, action, at=self._clock.now())
            raise NotPermitted()

    def force_release(self, entry_id: int, *, actor: str) -> dict[str, Any]:
        """Put a claimed entry back in the queue (the claimant is away, say)."""
        now = self._clock.now()
        self._require_admin(actor, "force-release")
        with session_scope(self._engine) as s:
            entry = q.get_entry(s, entry_id)
            if entry is None:
                raise NotPermitted()
            if entry.status != "claimed":
                raise WrongState(
                    f"Entry {entry_id} is {entry.status}; only a claim can be released."
                )
            was = entry.claimed_by
            q.unclaim(entry, now=now)
            s.add(entry)
            record(
                s,
                Audit("alteration", "entry.released", actor, entry.crn, entry.id, {"was": was}),
                at=now,
            )
            return entry_summary(entry)

    def reassign(self, entry_id: int, *, to: str, actor: str) -> dict[str, Any]:
        """Give an open entry to a named proxy, who must be allowed to take it today."""
        now = self._clock.now()
        self._require_admin(actor, "reassign")
        with session_scope(self._engine) as s:
            entry = q.get_entry(s, entry_id)
            if entry is None:
                raise NotPermitted()
            if entry.status not in OPEN_STATES:
                raise WrongState(f"Entry {entry_id} is {entry.status}; only open entries move.")
            target = s.get(Staff, to)
            if not has_current_vetting(target, now.date()):
                raise BadInput(f"{to} is not a proxy with current vetting.")
            assert target is not None
            if not may_handle_case(target, q.case_state(s, entry.crn)):
                raise BadInput(f"{to} may not work on this case (limited access or their own).")
            was = entry.claimed_by
            entry.status, entry.claimed_by, entry.claimed_at, entry.updated_at = (
                "claimed",
                to,
                now,
                now,
            )
            s.add(entry)
            record(
                s,
                Audit(
                    "alteration",
                    "entry.reassigned",
                    actor,
                    entry.crn,
                    entry.id,
                    {"was": was, "to": to},
                ),
                at=now,
            )
            return entry_summary(entry)

    def untakeable(self, *, actor: str) -> list[dict[str, Any]]:
        """Cases with open entries that no current proxy may take (so someone acts on them)."""
        today = self._clock.now().date()
        self._require_admin(actor, "untakeable")
        with Session(self._engine) as s:
            proxies = [p for p in s.exec(select(Staff)).all() if has_current_vetting(p, today)]
            # Each CRN with open work, its count and its case state, in one query.
            rows = s.exec(
                select(Entry.crn, func.count(), CaseState)
                .outerjoin(CaseState, col(CaseState.crn) == col(Entry.crn))
                .where(col(Entry.status).in_(OPEN_STATES))
                .group_by(col(Entry.crn), col(CaseState.crn))
                .order_by(col(Entry.crn))
            ).all()
            out = []
            for crn, count, case in rows:
                if any(may_handle_case(p, case) for p in proxies):
                    continue
                out.append({"crn": crn, "open_entries": count, "why": _why(case, proxies)})
            return out

    def expiring_vetting(self, *, actor: str, days: int = 30) -> list[dict[str, Any]]:
        """Proxies whose vetting lapses within `days` (or has lapsed): renew before it stops them."""
        today = self._clock.now().date()
        horizon = today + timedelta(days=days)
        self._require_admin(actor, "expiring-vetting")
        with Session(self._engine) as s:
            rows = s.exec(
                select(Staff)
                .where(col(Staff.active), col(Staff.vetting_expires).is_not(None))
                .order_by(col(Staff.vetting_expires))
            ).all()
            return [
                {
                    "code": p.code,
                    "vetting_level": p.vetting_level,
                    "expires": _iso(p.vetting_expires),
                    "expired": p.vetting_expires is not None and p.vetting_expires < today,
                }
                for p in rows
                if "proxy" in p.roles
                and p.vetting_expires is not None
                and p.vetting_expires <= horizon
            ]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _why(case: CaseState | None, proxies: list[Staff]) -> str:
    if not proxies:
        return "no proxy has current vetting"
    if case is not None and case.restricted_to:
        return "limited access: restricted to staff who are not current proxies"
    if case is not None and case.excluded_from:
        return "limited access: every current proxy is excluded"
    return "every current proxy manages this case"
