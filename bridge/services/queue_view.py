"""The proxy's queue as pages: filters, search by CRN, pagination, only cases they may handle.

Shared by the queue page and GET /api/queue, so both apply the same rules. Metadata only:
never record content.

STUB (interface fixed; the implementation is being replaced with indexed SQL queries that
render a page in well under 150 ms with 100,000 entries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bridge.auth import has_current_vetting, may_handle_case
from bridge.clock import Clock
from bridge.errors import NotPermitted
from bridge.services.review import entry_summary
from bridge.store import entries as q
from bridge.store.models import Staff

__all__ = ["DUE_FILTERS", "QueueFilters", "QueuePage", "queue_page"]

Due = Literal["overdue", "today", "week"]
DUE_FILTERS: tuple[Due, ...] = ("overdue", "today", "week")
_WAITING = ("pending", "claimed", "approved", "failed")


@dataclass(frozen=True)
class QueueFilters:
    """What a proxy narrowed the queue to; None means "any". `state=None` means waiting work."""

    state: str | None = None
    force: str | None = None
    due: Due | None = None
    kind: str | None = None
    crn: str | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: list[dict[str, Any]]  # entry_summary keys + overdue, owning_force, claimed_by
    total: int  # entries matching the filters that this proxy may see
    page: int
    per_page: int
    forces: list[str] = field(default_factory=list)  # choices for the force filter
    kinds: list[str] = field(default_factory=list)  # choices for the kind filter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def queue_page(
    engine: Engine,
    clock: Clock,
    *,
    actor: str,
    filters: QueueFilters,
    page: int = 1,
    per_page: int = 25,
) -> QueuePage:
    """One page of the queue as `actor` (a currently vetted proxy) may see it."""
    today = clock.now().date()
    with Session(engine) as s:
        staff = s.get(Staff, actor)
        if staff is None or not has_current_vetting(staff, today):
            raise NotPermitted()
        entries = [
            e for e in q.list_entries(s, filters.state) if filters.state or e.status in _WAITING
        ]
        cases = q.case_states(s, {e.crn for e in entries})
        visible = [e for e in entries if may_handle_case(staff, cases.get(e.crn))]
    if filters.force:
        visible = [e for e in visible if e.owning_force == filters.force]
    if filters.kind:
        visible = [e for e in visible if e.kind == filters.kind]
    if filters.crn:
        visible = [e for e in visible if e.crn == filters.crn.strip().upper()]
    if filters.due == "overdue":
        visible = [e for e in visible if e.due_date < today]
    elif filters.due == "today":
        visible = [e for e in visible if e.due_date <= today]
    visible.sort(key=lambda e: (e.due_date, e.id or 0))
    start = (max(1, page) - 1) * per_page
    rows = [
        {
            **entry_summary(e),
            "overdue": e.status in _WAITING and e.due_date < today,
            "owning_force": e.owning_force,
            "claimed_by": e.claimed_by,
        }
        for e in visible[start : start + per_page]
    ]
    return QueuePage(rows=rows, total=len(visible), page=max(1, page), per_page=per_page)
