"""Who may do what: roles, current proxy vetting, case exclusions. Pure rules over stored rows."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from bridge.store.models import CaseState, Staff

__all__ = [
    "ACCEPTED_VETTING",
    "has_current_vetting",
    "is_admin",
    "may_handle",
    "may_handle_case",
    "needs_proxy_on",
]

#: Police vetting levels that allow ViSOR access (NPPV level 2 and above).
ACCEPTED_VETTING = frozenset({"NPPV2", "NPPV3"})


def has_current_vetting(staff: Staff | None, today: date) -> bool:
    """An active proxy whose vetting is at an accepted level and has not expired today."""
    return (
        staff is not None
        and staff.active
        and "proxy" in staff.roles
        and staff.vetting_level in ACCEPTED_VETTING
        and staff.vetting_expires is not None
        and staff.vetting_expires >= today
    )


def may_handle_case(staff: Staff, case: CaseState | None) -> bool:
    """Not excluded from the case, not restricted away from it, not their own case."""
    if case is None:
        return True
    return may_handle(staff.code, case.on_behalf_of, case.excluded_from, case.restricted_to)


def may_handle(
    code: str,
    on_behalf_of: str | None,
    excluded_from: Collection[str],
    restricted_to: Collection[str],
) -> bool:
    """The same rule over a case state's columns (for queries that read no ORM objects)."""
    if code in excluded_from:
        return False
    if restricted_to and code not in restricted_to:
        return False
    return on_behalf_of != code


def is_admin(staff: Staff | None) -> bool:
    return staff is not None and staff.active and "admin" in staff.roles


def needs_proxy_on(staff: Staff, today: date) -> bool:
    """The offender manager needs a proxy on `today` (dates only; never why)."""
    since, until = staff.needs_proxy_since, staff.needs_proxy_until
    return (
        staff.active and since is not None and since <= today and (until is None or until >= today)
    )
