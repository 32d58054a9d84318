"""What administrators see of held tasks: every case someone holds, since when, when the claim
lapses, and who else may take it (ARCHITECTURE §3 "Case tasks").

Releasing or reassigning a held task goes through `TaskService.release_task` and
`TaskService.reassign` (the CLI's `case force-release` and `case reassign`): the same rules and
the same audit events. This module only reads, for administrators, and returns metadata (CRNs,
sections, staff codes and times; never record content and never the person's name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bridge.audit import record_refusal
from bridge.clock import Clock
from bridge.core.lifecycle import (
    Section,
    State,
    has_current_vetting,
    is_admin,
    local_date,
    may_handle,
)
from bridge.errors import NotPermitted
from bridge.store import entries as q
from bridge.store import held as hq
from bridge.store.models import CaseState, Staff

__all__ = ["HeldTask", "HeldTaskService", "Taker"]

_ORDER = {s.value: i for i, s in enumerate(Section)}


@dataclass(frozen=True)
class Taker:
    """A proxy who may take a case today: their staff code and name (staff, not the person)."""

    code: str
    name: str


@dataclass(frozen=True)
class HeldTask:
    """One held case task: metadata only.

    `since` is when the holder's hold began (from the audit log; else their oldest claim);
    `expires` when their claim lapses unless renewed (None when every entry is approved and
    waits to be entered in ViSOR: such a hold does not lapse); `takers` the other proxies who
    may take the case today (the reassignment choices); `holder_may_act` False when the
    holder may no longer work on it (vetting lapsed, say: the scheduled clean-up frees it)."""

    crn: str
    holder: str
    holder_name: str | None
    sections: list[str]
    entries: int
    approved: int
    since: datetime | None
    expires: datetime | None
    takers: list[Taker] = field(default_factory=list)
    holder_may_act: bool = True


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class HeldTaskService:
    """The held-task listing for administrators."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        claim_ttl: timedelta = timedelta(minutes=30),
        manual_sink: bool = True,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._ttl = claim_ttl
        self._manual = manual_sink

    def listing(self, *, actor: str) -> list[HeldTask]:
        """Every held task, the longest-held first; administrators only (a refusal is audited)."""
        now = self._clock.now()
        today = local_date(now)
        with Session(self._engine) as s:
            if not is_admin(s.get(Staff, actor)):
                allowed = False
            else:
                allowed = True
                rows = hq.held_rows(s, manual=self._manual)
                by_crn: dict[str, list[Any]] = {}
                for r in rows:
                    by_crn.setdefault(r.crn, []).append(r)
                cases = q.case_states(s, set(by_crn))
                staff = {p.code: p for p in hq.proxies(s)}
                vetted = [p for p in staff.values() if has_current_vetting(p, today)]
                out = []
                for crn, held in by_crn.items():
                    out.append(self._one(s, crn, held, cases.get(crn), vetted, staff, today))
        if not allowed:
            record_refusal(self._engine, actor, "held-tasks", at=now)
            raise NotPermitted()
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(out, key=lambda t: (t.since or far, t.crn))

    def _one(
        self,
        s: Session,
        crn: str,
        rows: list[Any],
        case: CaseState | None,
        vetted: list[Staff],
        staff: dict[str, Staff],
        today: date,
    ) -> HeldTask:
        claimed = [r for r in rows if r.status == State.CLAIMED]
        holder = str((claimed or rows)[0].claimed_by)
        mine = [r for r in rows if r.claimed_by == holder]
        sections = sorted({r.section for r in rows}, key=lambda x: _ORDER.get(x, 99))
        starts = [t for t in (_aware(r.claimed_at) for r in mine) if t is not None]
        lapses = [
            t + self._ttl
            for t in (_aware(r.claimed_at) for r in mine if r.status == State.CLAIMED)
            if t is not None
        ]
        since = _aware(hq.held_since(s, crn, holder)) or (min(starts) if starts else None)
        person = staff.get(holder)
        return HeldTask(
            crn=crn,
            holder=holder,
            holder_name=person.name if person is not None else None,
            sections=sections,
            entries=len(rows),
            approved=sum(1 for r in rows if r.status == State.APPROVED),
            since=since,
            expires=min(lapses) if lapses else None,
            takers=[
                Taker(p.code, p.name)
                for p in vetted
                if p.code != holder and may_handle(p, case, today)
            ],
            holder_may_act=may_handle(person, case, today),
        )
