"""What an offender manager may see about their case: states, dates and reasons — never content."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from bridge.audit import Audit, record, record_refusal
from bridge.auth import has_current_vetting, is_admin, may_handle_case
from bridge.clock import Clock
from bridge.errors import NotPermitted
from bridge.store import entries as q
from bridge.store.db import session_scope
from bridge.store.models import Staff

__all__ = ["case_status"]


def case_status(engine: Engine, clock: Clock, *, crn: str, actor: str) -> dict[str, Any]:
    """The status view of one case for its offender manager (or an admin or permitted proxy)."""
    now = clock.now()
    with session_scope(engine) as s:
        staff = s.get(Staff, actor)
        case = q.case_state(s, crn)
        entries = q.entries_for_crn(s, crn)
        manages = (
            staff is not None
            and staff.active
            and (
                (case is not None and case.on_behalf_of == actor)
                or any(e.on_behalf_of == actor for e in entries)
            )
        )
        proxy = (
            staff is not None
            and has_current_vetting(staff, now.date())
            and may_handle_case(staff, case)
        )
        if (case is None and not entries) or not (manages or proxy or is_admin(staff)):
            refused = True
        else:
            refused = False
            record(s, Audit("consultation", "status.viewed", actor, crn, None, {}), at=now)
            return {
                "crn": crn,
                "entries": [
                    {
                        "id": e.id,
                        "section": e.section,
                        "kind": e.kind,
                        "status": e.status,
                        "created_at": e.created_at.isoformat(),
                        "due_date": e.due_date.isoformat(),
                        "entered_at": e.entered_at.isoformat() if e.entered_at else None,
                        "reason": e.reason,
                    }
                    for e in entries
                ],
            }
    if refused:
        record_refusal(engine, actor, "status", at=now)
    raise NotPermitted("Not permitted: no such case, or you may not see it.")
