"""Which cases the bridge serves: the scope rule, as data in and a decision out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from bridge.core.mapping.codes import CodeTable
from bridge.core.snapshot import CaseSnapshot

__all__ = [
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
