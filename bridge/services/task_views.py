"""What the case-task service hands to the entrypoints (ARCHITECTURE §3 "Case tasks", §6 `case`).

Frozen dataclasses, like `bridge.services.views`; `jsonable` turns them into the contract
JSON. `TaskRow.listed()` and `Task.listed()` give exactly the §6 keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bridge.core.lifecycle import Section, is_overdue
from bridge.services.views import EntrySummary, jsonable

__all__ = [
    "ApprovalFailure",
    "Task",
    "TaskEntry",
    "TaskList",
    "TaskRow",
    "TaskShown",
    "refusal_text",
    "task_row",
]

#: Sections in the order a proxy works through them.
_ORDER = {s.value: i for i, s in enumerate(Section)}


@dataclass(frozen=True)
class TaskRow:
    """One case task in a listing (`case list --json` keys first): metadata, never content."""

    crn: str
    entries: int  # open entries
    sections: list[str]  # the open entries' sections, in record order, each once
    due_date: date  # the earliest open entry's due date
    overdue: bool
    blocking_issues: int
    claimed_by: str | None  # who holds the task (a staff code), or None
    #: The person's name, for a vetted proxy's listing only (None elsewhere).
    name: str | None = field(default=None, compare=False)
    #: The open entries' states, counted (`{"pending": 2, "claimed": 1}`).
    states: dict[str, int] = field(default_factory=dict, compare=False)

    def listed(self) -> dict[str, Any]:
        """The `case list --json` object (§6 keys only)."""
        out = jsonable(self)
        del out["name"], out["states"]
        return dict(out)


@dataclass(frozen=True)
class TaskList:
    """A page of tasks and how many match in all."""

    rows: list[TaskRow]
    total: int


@dataclass(frozen=True)
class Task:
    """`case claim|release|approve|mark-entered --json`: the CRN and its entries' metadata
    (each as in `queue list`), the entries the action touched or the task's open ones."""

    crn: str
    entries: list[EntrySummary]

    def listed(self) -> dict[str, Any]:
        return {"crn": self.crn, "entries": jsonable(self.entries)}


@dataclass(frozen=True)
class TaskEntry:
    """One open entry of a task with its record (`case show --json` keys first)."""

    id: int
    section: str
    kind: str
    status: str
    version: int
    issues: list[dict[str, Any]]
    xml: str | None
    diff: list[dict[str, Any]]
    due_date: date = field(compare=False)
    claimed_by: str | None = field(default=None, compare=False)
    on_behalf_of: str | None = field(default=None, compare=False)
    item_key: str = field(default="", compare=False)


@dataclass(frozen=True)
class TaskShown:
    """`case show --json`: every open entry of the case with its record (an audited view).

    `held_by` is who holds the task; `claim_expires` when the caller's claim lapses unless
    renewed (None when they hold no claimed entry); `claim_lapsed` that their last claim on
    it lapsed (offer "Claim again" when nobody holds it)."""

    crn: str
    entries: list[TaskEntry]
    held_by: str | None = field(default=None, compare=False)
    claim_expires: Any = field(default=None, compare=False)
    #: The caller's last claim on the case lapsed (nobody released it): "Your claim lapsed".
    claim_lapsed: bool = field(default=False, compare=False)

    def listed(self) -> dict[str, Any]:
        """The §6 document: {crn, entries: [{id, section, kind, status, version, issues, xml,
        diff}]}."""
        keys = ("id", "section", "kind", "status", "version", "issues", "xml", "diff")
        return {
            "crn": self.crn,
            "entries": [{k: jsonable(getattr(e, k)) for k in keys} for e in self.entries],
        }


@dataclass(frozen=True)
class ApprovalFailure:
    """Why one entry of an "approve all" was refused, so a page can link each field.

    `problem`: `blocking-issue` (fields: the issue paths), `stale-version` (current: the
    version it is at), `not-claimed` (claim it first, or the claim lapsed), `not-in-task` (not
    an open entry of this case)."""

    entry_id: int
    section: str | None
    problem: str
    fields: list[str] = field(default_factory=list)
    current_version: int | None = None


def task_row(
    crn: str, due: date, rows: list[Any], holder: str | None, name: str | None, today: date
) -> TaskRow:
    sections: list[str] = []
    blocking = 0
    states: dict[str, int] = {}
    overdue = False
    for r in rows:
        section, status = r.section, r.status
        if section not in sections:
            sections.append(section)
        states[status] = states.get(status, 0) + 1
        blocking += sum(1 for i in (r.issues or []) if i.get("blocking"))
        overdue = overdue or is_overdue(status, r.due_date, today)
    sections.sort(key=lambda x: _ORDER.get(x, 99))
    return TaskRow(
        crn=crn,
        entries=len(rows),
        sections=sections,
        due_date=due,
        overdue=overdue,
        blocking_issues=blocking,
        claimed_by=holder,
        name=name,
        states=states,
    )


def refusal_text(crn: str, failures: list[ApprovalFailure]) -> str:
    """One line naming every failing entry of a refused "approve all"."""
    words = {
        "not-in-task": "is not an open entry of this case",
        "not-claimed": "is not claimed by you (claim the case again)",
        "stale-version": "has changed since you opened it",
        "blocking-issue": "has blocking issues",
    }
    parts = [f"entry {f.entry_id} {words.get(f.problem, f.problem)}" for f in failures]
    return f"Nothing in case {crn} was approved: " + "; ".join(parts) + "."
