"""The staff registry: import the staff file, and who needs a proxy today."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bridge.audit import Audit, record
from bridge.auth import needs_proxy_on
from bridge.errors import BadInput
from bridge.store import entries as q
from bridge.store.models import Entry, Staff

__all__ = ["ImportResult", "import_staff", "needs_proxy_codes", "parse_staff_file"]

_ROLES = frozenset({"proxy", "offender_manager", "admin"})


class ImportResult(dict[str, int]):
    """Counts: added, updated, deactivated, released (claims of deactivated staff)."""


def _date(value: Any, where: str, problems: list[str]) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: not a date (YYYY-MM-DD)")
        return None


def parse_staff_file(path: Path) -> list[dict[str, Any]]:
    """Read and check a staff file; raises BadInput listing every problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInput(f"{path}: no such file") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not valid JSON ({exc})") from exc
    staff = data.get("staff") if isinstance(data, dict) else None
    if not isinstance(staff, list):
        raise BadInput(f'{path}: expected {{"staff": [...]}}')
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(staff):
        where = f"{path}: staff[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: not an object")
            continue
        code = item.get("code")
        if not isinstance(code, str) or not code.strip():
            problems.append(f"{where}.code: missing")
            continue
        if code in seen:
            problems.append(f"{where}.code: {code} appears twice")
        seen.add(code)
        roles = item.get("roles", [])
        if not isinstance(roles, list) or not set(roles) <= _ROLES:
            problems.append(f"{where}.roles: must be a list of {sorted(_ROLES)}")
            roles = []
        vetting = item.get("vetting") or {}
        needs = item.get("needsProxy") or {}
        if not isinstance(vetting, dict) or not isinstance(needs, dict):
            problems.append(f"{where}: vetting and needsProxy must be objects")
            continue
        if "proxy" in roles and not vetting:
            problems.append(f"{where}.vetting: required for the proxy role")
        rows.append(
            {
                "code": code.strip(),
                "name": str(item.get("name") or code),
                "roles": sorted(roles),
                "team": item.get("team"),
                "vetting_level": vetting.get("level"),
                "vetting_expires": _date(
                    vetting.get("expires"), f"{where}.vetting.expires", problems
                ),
                "needs_proxy_since": _date(
                    needs.get("since"), f"{where}.needsProxy.since", problems
                ),
                "needs_proxy_until": _date(
                    needs.get("until"), f"{where}.needsProxy.until", problems
                ),
            }
        )
    if problems:
        raise BadInput("staff file has problems:\n" + "\n".join(f"  - {p}" for p in problems))
    return rows


def import_staff(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    now: datetime,
    actor: str,
    replace: bool = False,
) -> ImportResult:
    """Add and update staff (never duplicates); with `replace`, deactivate those not in the file."""
    result = ImportResult(added=0, updated=0, deactivated=0, released=0)
    codes = set()
    for row in rows:
        codes.add(row["code"])
        existing = session.get(Staff, row["code"])
        if existing is None:
            session.add(Staff(**row, active=True, updated_at=now))
            result["added"] += 1
        else:
            for key, value in row.items():
                setattr(existing, key, value)
            existing.active = True
            existing.updated_at = now
            session.add(existing)
            result["updated"] += 1
    if replace:
        for staff in session.exec(select(Staff).where(col(Staff.active))):
            if staff.code not in codes:
                staff.active = False
                staff.updated_at = now
                session.add(staff)
                result["deactivated"] += 1
                result["released"] += _release_claims(session, staff.code, now=now, actor=actor)
    record(session, Audit("alteration", "staff.imported", actor, detail=dict(result)), at=now)
    return result


def _release_claims(session: Session, code: str, *, now: datetime, actor: str) -> int:
    """Someone who left: their claimed entries go back to the queue (history kept)."""
    claimed = session.exec(
        select(Entry).where(col(Entry.status) == "claimed", col(Entry.claimed_by) == code)
    ).all()
    for entry in claimed:
        q.unclaim(entry, now=now)
        session.add(entry)
        record(
            session,
            Audit(
                "alteration",
                "entry.released",
                actor,
                entry.crn,
                entry.id,
                {"reason": "claimant left the staff registry", "was": code},
            ),
            at=now,
        )
    return len(claimed)


def needs_proxy_codes(session: Session, *, today: date) -> frozenset[str]:
    """Staff codes of offender managers who need a proxy today."""
    rows = session.exec(select(Staff).where(col(Staff.needs_proxy_since).is_not(None))).all()
    return frozenset(s.code for s in rows if needs_proxy_on(s, today))
