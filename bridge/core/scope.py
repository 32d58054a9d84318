"""Which cases the bridge serves: the scope rule, as data in and a decision out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.core.lifecycle import HIDDEN
from bridge.core.mapping.codes import CodeTable
from bridge.core.snapshot import CaseSnapshot, as_dict

__all__ = [
    "HIDDEN",
    "AccessLists",
    "access_of",
    "read_access",
    "CATEGORY_TABLE",
    "LEVEL_TABLE",
    "NO_MANAGER",
    "NO_PROXY",
    "ScopeDecision",
    "ScopeRules",
    "decide_scope",
]

#: The reason given when the offender manager does not (or no longer) need a proxy.
NO_PROXY = "offender manager does not need a proxy"
#: The reason given when the current offender manager cannot be told (the attention list's).
NO_MANAGER = "no current offender manager"

#: The mapping's code tables scope reads (codes/<name>.toml): nDelius ref-data code -> number.
CATEGORY_TABLE = "mappa-categories"
LEVEL_TABLE = "mappa-levels"


def _number(tables: Mapping[str, CodeTable], table: str, code: str | None) -> int | None:
    """The MAPPA number a code stands for in the mapping's table; None when unknown or absent."""
    found = tables.get(table)
    value = found.lookup(code).value if found is not None and code is not None else None
    return int(value) if value is not None and value.isdigit() else None


@dataclass(frozen=True, slots=True)
class ScopeRules:
    """Policy from `scope.toml`: which MAPPA categories and levels generate ViSOR work.

    An active MAPPA registration with an unknown category or level stays in scope
    (a person must fix it) unless `include_unknown` is false.
    """

    categories: frozenset[int] = field(default_factory=lambda: frozenset({1, 2, 3, 4}))
    levels: frozenset[int] = field(default_factory=lambda: frozenset({1, 2, 3}))
    include_unknown: bool = True


@dataclass(frozen=True, slots=True)
class ScopeDecision:
    """Whether a case is in scope, and if not, the reason shown to people."""

    in_scope: bool
    reason: str
    on_behalf_of: str | None = None


def decide_scope(
    snapshot: CaseSnapshot,
    *,
    needs_proxy: Collection[str],
    rules: ScopeRules,
    tables: Mapping[str, CodeTable],
) -> ScopeDecision:
    """Apply the scope rule.

    In scope = the latest active MAPPA registration is in the configured categories and
    levels, AND the current offender manager needs a proxy, AND the case is not soft-deleted.

    Args:
        snapshot: the case as read.
        needs_proxy: staff codes of offender managers who need a proxy now.
        rules: the configured policy.
        tables: the mapping's code tables; `mappa-categories` and `mappa-levels` say which
            nDelius codes are which MAPPA category and level (the same tables the mapping uses).

    Returns:
        The decision; `on_behalf_of` is the offender manager when in scope.
    """
    if snapshot.is_soft_deleted:
        return ScopeDecision(False, "case deleted in nDelius")
    mappa = snapshot.latest_mappa()
    if mappa is None:
        return ScopeDecision(False, "no active MAPPA registration")
    category = _number(tables, CATEGORY_TABLE, mappa.code_of("registerCategory"))
    level = _number(tables, LEVEL_TABLE, mappa.code_of("registerLevel"))
    if category is None or level is None:
        if not rules.include_unknown:
            return ScopeDecision(False, "MAPPA category or level unknown")
    elif category not in rules.categories or level not in rules.levels:
        return ScopeDecision(False, "MAPPA category or level not in scope")
    manager = snapshot.manager_code
    if manager is None:
        return ScopeDecision(False, NO_MANAGER)
    if manager not in needs_proxy:
        return ScopeDecision(False, NO_PROXY)
    return ScopeDecision(True, "in scope", on_behalf_of=manager)


# -- limited access (ARCHITECTURE §4: fail closed) -------------------------------------------

# HIDDEN (bridge.core.lifecycle) is the one entry of a hidden case's `restricted_to`: no staff
# code can equal it (codes are letters and digits, bridge.core.staff_input), so the one access
# rule (`lists_allow`) and every query over the stored lists refuse the case to everyone.

#: Keys of an object item that may hold the staff code (community-API and integration shapes).
_CODE_KEYS = ("code", "staffCode")


@dataclass(frozen=True, slots=True)
class AccessLists:
    """A case's limited-access lists as the bridge applies them: codes trimmed and upper-cased.

    `unclear` is true when a flag says the case is limited but no usable list says to whom, or
    a list cannot be parsed: then `restricted_to` is `(HIDDEN,)` and the case is hidden from
    everyone and listed to administrators (the attention list's `access_unclear`).
    """

    excluded_from: tuple[str, ...] = ()
    restricted_to: tuple[str, ...] = ()
    unclear: bool = False


def _norm(code: str) -> str:
    return code.strip().upper()


def _item_code(item: Any) -> str | None:
    """A list item's staff code: a string, or an object's `code`/`staffCode`, or its
    `staff.code`; None when the item holds no usable code."""
    if isinstance(item, dict):
        for key in _CODE_KEYS:
            if isinstance(item.get(key), str):
                return _item_code(item[key])
        return _item_code(as_dict(item.get("staff")).get("code")) if "staff" in item else None
    if isinstance(item, str) and item.strip():
        return _norm(item)
    return None


def _read_list(value: Any) -> tuple[str, ...] | None:
    """The codes of one list (missing or null: empty); None when it cannot be parsed (not a
    list, or any item with no usable code — a list read in part would let the rest in)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        return None
    codes = [_item_code(item) for item in value]
    if any(code is None for code in codes):
        return None
    return tuple(dict.fromkeys(c for c in codes if c is not None))


def _flag(offender: Mapping[str, Any], key: str) -> bool:
    """A limited-access flag: missing, null or false mean false; anything else, true."""
    return offender.get(key) not in (None, False)


def read_access(offender: Mapping[str, Any], access: Any) -> AccessLists:
    """The access lists of a case from its OffenderDetail and access-limitations bodies.

    A non-empty list always applies, flags or not. `currentExclusion`/`currentRestriction`
    true with an empty or missing list, a list that is not a list of codes (or objects with
    one), or a body that is not an object, hide the case (fail closed).
    """
    body = {} if access is None else access
    if not isinstance(body, dict):
        return AccessLists(restricted_to=(HIDDEN,), unclear=True)
    excluded = _read_list(body.get("excludedFrom"))
    restricted = _read_list(body.get("restrictedTo"))
    if (
        excluded is None
        or restricted is None
        or (_flag(offender, "currentExclusion") and not excluded)
        or (_flag(offender, "currentRestriction") and not restricted)
    ):
        return AccessLists(excluded or (), (HIDDEN,), unclear=True)
    return AccessLists(excluded, restricted)


def access_of(snapshot: CaseSnapshot) -> AccessLists:
    """`read_access` over a snapshot."""
    return read_access(snapshot.offender, snapshot.access_body)
