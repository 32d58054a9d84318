"""The staff registry: import the staff file or a CSV, add and edit one person, who needs a proxy.

The checks of what was typed (the file, the CSV, the form) are pure and live in
`bridge.core.staff_input`; this module stores the result. No field records *why* an offender
manager needs a proxy (their vetting outcome is private): only since when, and until when.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bridge.audit import record
from bridge.clock import Clock
from bridge.core.audit_events import entry_released, staff_added, staff_imported, staff_updated
from bridge.core.lifecycle import State, needs_proxy_on
from bridge.core.staff_input import (
    StaffInput,
    StaffInvalid,
    check_staff,
    check_staff_document,
    keeps_own_admin,
)
from bridge.errors import BadInput
from bridge.services.views import ImportResult
from bridge.store import entries as q
from bridge.store.db import session_scope
from bridge.store.models import Entry, Staff

__all__ = [
    "StaffService",
    "add_staff",
    "edit_staff",
    "import_staff",
    "needs_proxy_codes",
    "parse_staff_file",
]


class StaffService:
    """The operator's staff actions from the server's shell (ARCHITECTURE §6: applied at once,
    audited). The administrators' web pages go through `AdminService`, which checks the role."""

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def import_file(self, path: Path, *, actor: str, replace: bool = False) -> ImportResult:
        """Add and update staff from a staff file, all or nothing (BadInput lists problems)."""
        rows = parse_staff_file(path)
        with session_scope(self._engine) as s:
            return import_staff(s, rows, now=self._clock.now(), actor=actor, replace=replace)


def parse_staff_file(path: Path) -> list[dict[str, Any]]:
    """Read and check a staff file; raises BadInput listing every problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInput(f"{path}: no such file") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not valid JSON ({exc})") from exc
    return check_staff_document(data, str(path))


def import_staff(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    now: datetime,
    actor: str,
    replace: bool = False,
    keep: frozenset[str] = frozenset(),
) -> ImportResult:
    """Add and update staff (never duplicates); with `replace`, deactivate those not in the file.

    A row may carry `active` (the CSV does); without it the person is active. Whoever ends
    up inactive has their claims released back to the queue. `keep`: codes that `replace`
    leaves alone although not in `rows` (the web import's rows held for a second administrator).
    """
    result = {"added": 0, "updated": 0, "deactivated": 0, "released": 0}
    codes = set()
    for row in rows:
        codes.add(row["code"])
        values = {**row, "active": row.get("active", True)}  # a CSV row may say inactive
        existing = session.get(Staff, row["code"])
        if existing is None:
            session.add(Staff(**values, updated_at=now))
            result["added"] += 1
        else:
            was_active = existing.active
            for key, value in values.items():
                setattr(existing, key, value)
            existing.updated_at = now
            session.add(existing)
            result["updated"] += 1
            if was_active and not existing.active:
                result["deactivated"] += 1
                result["released"] += _release_claims(session, existing.code, now=now, actor=actor)
    if replace:
        for staff in session.exec(select(Staff).where(col(Staff.active))):
            if staff.code not in codes and staff.code not in keep:
                staff.active = False
                staff.updated_at = now
                session.add(staff)
                result["deactivated"] += 1
                result["released"] += _release_claims(session, staff.code, now=now, actor=actor)
    record(session, staff_imported(actor, **result), at=now)
    return ImportResult(**result)


_LEFT = "claimant left the staff registry"


def _release_claims(session: Session, code: str, *, now: datetime, actor: str) -> int:
    """Someone who left: their claimed entries go back to the queue (history kept)."""
    claimed = session.exec(
        select(Entry).where(col(Entry.status) == State.CLAIMED, col(Entry.claimed_by) == code)
    ).all()
    for entry in claimed:
        q.unclaim(entry, now=now)
        session.add(entry)
        record(
            session,
            entry_released(actor, entry.crn, entry.id, reason=_LEFT, was=code),
            at=now,
        )
    return len(claimed)


def needs_proxy_codes(session: Session, *, today: date) -> frozenset[str]:
    """Staff codes of offender managers who need a proxy today."""
    rows = session.exec(select(Staff).where(col(Staff.needs_proxy_since).is_not(None))).all()
    return frozenset(s.code for s in rows if needs_proxy_on(s, today))


# -- one person: the form's and the CSV's validation ---------------------------------------


def _audit_fields(staff: Staff, row: dict[str, Any]) -> list[str]:
    return sorted(key for key, value in row.items() if getattr(staff, key) != value)


def add_staff(session: Session, value: StaffInput, *, now: datetime, actor: str) -> Staff:
    """A new member of staff (audited with their code only); StaffInvalid lists every problem."""
    row, problems = check_staff(value)
    if not problems and session.get(Staff, row["code"]) is not None:
        problems.append(("code", f"There is already a member of staff with code {row['code']}"))
    if problems:
        raise StaffInvalid(problems)
    staff = Staff(**row, updated_at=now)
    session.add(staff)
    record(
        session,
        staff_added(actor, staff=staff.code),
        at=now,
    )
    return staff


def edit_staff(
    session: Session, code: str, value: StaffInput, *, now: datetime, actor: str
) -> Staff:
    """Change one person (not their code); making them inactive releases their claims."""
    staff = session.get(Staff, code)
    if staff is None:
        raise BadInput(f"No staff member with code {code} in the registry.")
    row, problems = check_staff(replace(value, code=code))
    problems += keeps_own_admin(row, actor)
    if problems:
        raise StaffInvalid(problems)
    changed = _audit_fields(staff, row)
    was_active = staff.active
    for key, new in row.items():
        setattr(staff, key, new)
    staff.updated_at = now
    session.add(staff)
    record(
        session,
        staff_updated(actor, staff=code, fields=changed),
        at=now,
    )
    if was_active and not staff.active:
        _release_claims(session, code, now=now, actor=actor)
    return staff


def apply_row(session: Session, row: dict[str, Any], *, now: datetime, actor: str) -> Staff:
    """A checked row applied as it stands (an approved privilege request): added or updated,
    audited like the form's change; made inactive, their claims are released."""
    staff = session.get(Staff, row["code"])
    if staff is None:
        staff = Staff(**row, updated_at=now)
        session.add(staff)
        record(session, staff_added(actor, staff=staff.code), at=now)
        return staff
    changed = _audit_fields(staff, row)
    was_active = staff.active
    for key, new in row.items():
        setattr(staff, key, new)
    staff.updated_at = now
    session.add(staff)
    record(session, staff_updated(actor, staff=staff.code, fields=changed), at=now)
    if was_active and not staff.active:
        _release_claims(session, staff.code, now=now, actor=actor)
    return staff


# -- the staff CSV -------------------------------------------------------------------------
