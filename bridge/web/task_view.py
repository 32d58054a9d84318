"""The task pages' models: a case task as a GOV.UK task list, a section as check answers.

`task_page` lays out what `TaskService.show` returned: one row per section with its state
and blocking issues, what "Approve all" approves (the caller's claimed entries at the versions
shown) and what "Entered in ViSOR" records. `section_page` lays out one entry as a summary
list with a "Change" link per field the proxy may correct; for an update only the fields that
differ from the baseline are tagged, with "Was: …"; a new record tags nothing. The services
check every rule again when an action is asked for. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

from bridge.core.lifecycle import REMOVALS, Kind, Section, State, is_overdue
from bridge.core.mapping.codes import CodeTable
from bridge.core.mapping.spec import MappingSpec, SectionSpec
from bridge.core.record import section_of
from bridge.core.vocabulary import kind_label, long_date, section_label, state_label
from bridge.services.task_names import name_of
from bridge.services.task_views import ApprovalFailure, TaskEntry, TaskShown
from bridge.web.present import field_label, issue_field, section_rows
from bridge.web.questions import leaf_spec, question_for, readable

__all__ = [
    "FieldLine",
    "SectionPage",
    "TaskLine",
    "TaskPage",
    "field_href",
    "refusal_links",
    "section_page",
    "section_spec",
    "task_page",
]

ErrorLink = dict[str, str]


def section_spec(spec: MappingSpec, name: str) -> SectionSpec | None:
    return next((s for s in spec.sections if s.name == name), None)


def field_href(crn: str, entry_id: int, path: str, *, back_to_task: bool = False) -> str:
    """The question page of one field (`back_to_task`: saving it returns to the task page)."""
    href = f"/tasks/{crn}/sections/{entry_id}/fields/{quote(path, safe='/')}"
    return href + "?back=task" if back_to_task else href


def _section_title(entry: Any) -> str:
    title = section_label(entry.section)
    key = getattr(entry, "item_key", "")
    return f"{title} ({key})" if key else title


@dataclass(frozen=True)
class TaskLine:
    """One row of the task list: a section (an entry) with its state and blocking issues."""

    entry_id: int
    title: str
    href: str
    status: str
    status_text: str
    blocking: list[ErrorLink]
    claimed_by_me: bool
    #: For an update: each changed field as "Label: now (was before)", so the task page shows
    #: what to key in without opening the section.
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskPage:
    crn: str
    name: str | None
    kind_text: str  # "New person" or "Update"
    lines: list[TaskLine]
    versions: dict[int, int]  # what "Approve all" approves: id → version shown
    approved: int  # entries approved and waiting for the ViSOR reference
    held_by: str | None
    mine: bool
    claim_lapsed: bool
    can_claim: bool
    due_text: str
    overdue: bool
    blocking: int
    manual: bool  # the proxy keys the record into ViSOR and gives its reference


def _changes(entry: TaskEntry, spec: MappingSpec) -> list[str]:
    if entry.kind != Kind.NOMINAL_UPDATE:  # a new record or an activity: nothing to compare
        return []
    sspec = section_spec(spec, entry.section)
    out = []
    for d in entry.diff:
        path = str(d.get("path", ""))
        leaf = leaf_spec(sspec, path)
        now = readable(d.get("after"), leaf) or "Not recorded"
        was = readable(d.get("before"), leaf) or "Not recorded"
        out.append(f"{field_label(sspec, path)}: {now} (was {was})")
    return out


def task_page(
    shown: TaskShown, spec: MappingSpec, *, actor: str, manual_sink: bool, today: date
) -> TaskPage:
    lines = []
    versions: dict[int, int] = {}
    blocking = 0
    for e in shown.entries:
        mine = e.status == State.CLAIMED and e.claimed_by == actor
        if mine:
            versions[e.id] = e.version
        links = [
            {
                "text": str(i.get("message", "")),
                "href": _issue_href(shown.crn, e, str(i.get("path", ""))),
            }
            for i in e.issues
            if i.get("blocking")
        ]
        blocking += len(links)
        lines.append(
            TaskLine(
                entry_id=e.id,
                title=_section_title(e),
                href=f"/tasks/{shown.crn}/sections/{e.id}",
                status=e.status,
                status_text=state_label(e.status),
                blocking=links,
                claimed_by_me=mine,
                changes=_changes(e, spec),
            )
        )
    identity = next((e.xml for e in shown.entries if e.section == Section.IDENTITY), None)
    kinds = {e.kind for e in shown.entries}
    due = min((e.due_date for e in shown.entries), default=None)
    pending = any(e.status == State.PENDING for e in shown.entries)
    return TaskPage(
        crn=shown.crn,
        name=name_of(identity),
        kind_text=kind_label(
            Kind.NOMINAL_CREATE if Kind.NOMINAL_CREATE in kinds else Kind.NOMINAL_UPDATE
        ),
        lines=lines,
        versions=versions,
        approved=sum(1 for e in shown.entries if e.status == State.APPROVED and manual_sink),
        held_by=shown.held_by,
        mine=shown.held_by == actor,
        claim_lapsed=shown.claim_lapsed and shown.held_by is None,
        can_claim=pending and shown.held_by in (None, actor),
        due_text=long_date(due),
        overdue=any(is_overdue(e.status, e.due_date, today) for e in shown.entries),
        blocking=blocking,
        manual=manual_sink,
    )


def _issue_href(crn: str, entry: TaskEntry | Any, issue_path: str) -> str:
    """A blocking issue's field: its question page, which returns to the task page."""
    path = issue_field(entry.section, issue_path)
    if path and entry.kind not in REMOVALS:
        return field_href(crn, entry.id, path, back_to_task=True)
    return f"/tasks/{crn}/sections/{entry.id}"


def refusal_links(
    crn: str, failures: Sequence[ApprovalFailure], spec: MappingSpec | None = None
) -> list[ErrorLink]:
    """A refused "Approve all" as an error summary: a link per blocking field or section."""
    out: list[ErrorLink] = []
    for f in failures:
        title = section_label(f.section) if f.section else f"Entry {f.entry_id}"
        base = f"/tasks/{crn}/sections/{f.entry_id}"
        if f.problem == "blocking-issue":
            for path in f.fields or [""]:
                leaf = issue_field(f.section or "", path)
                href = field_href(crn, f.entry_id, leaf, back_to_task=True) if leaf else base
                sspec = section_spec(spec, f.section or "") if spec is not None else None
                what = field_label(sspec, leaf) if leaf else "a field"
                out.append({"text": f"{title}: fix {what} before approving", "href": href})
        elif f.problem == "stale-version":
            out.append(
                {"text": f"{title} has changed since you opened it: check it again", "href": base}
            )
        elif f.problem == "not-claimed":
            out.append(
                {"text": f"{title} is not claimed by you: claim the case again", "href": "#claim"}
            )
        else:
            out.append({"text": f"{title} is no longer part of this case", "href": "#sections"})
    return out


@dataclass(frozen=True)
class FieldLine:
    """One row of the check-answers list."""

    path: str
    id: str
    label: str
    value: str  # as people read it ("Yes", "23 November 2026"); "" when not recorded
    removed: bool = False
    was: str | None = None  # an update's value before, when the field changed
    change_href: str | None = None
    issues: list[str] = field(default_factory=list)
    sent: str | None = None  # the value nDelius sent that ViSOR cannot take (beside its issue)


@dataclass(frozen=True)
class SectionPage:
    crn: str
    entry_id: int
    title: str
    kind_text: str
    status: str
    version: int
    groups: list[tuple[str | None, list[FieldLine]]]
    section_issues: list[str]
    mine: bool
    removal: bool


def section_page(
    shown: Any,
    spec: MappingSpec,
    *,
    actor: str,
    tables: Mapping[str, CodeTable],
) -> SectionPage:
    """`shown` is `ReviewService.show` output (an audited view of one entry)."""
    sspec = section_spec(spec, shown.section)
    section = section_of(shown.xml) if shown.xml else None
    mine = shown.status == State.CLAIMED and shown.claimed_by == actor
    removal = shown.kind in REMOVALS
    update = shown.kind == Kind.NOMINAL_UPDATE  # only an update has a baseline to compare
    by_field: dict[str, list[str]] = {}
    whole: list[str] = []
    sent = {issue_field(shown.section, path): value for path, value in shown.sent.items()}
    for issue in shown.issues:
        path = issue_field(shown.section, str(issue.get("path", "")))
        text = str(issue.get("message", ""))
        (by_field.setdefault(path, []) if path else whole).append(text)
    groups = []
    for group in section_rows(section, sspec, shown.diff if update else [], list(by_field)):
        lines = []
        for row in group.rows:
            leaf = leaf_spec(sspec, row.path)
            editable = mine and not removal and question_for(sspec, row.path, "", tables)
            lines.append(
                FieldLine(
                    path=row.path,
                    id=row.id,
                    label=row.label,
                    value=readable(row.value if not row.removed else row.before, leaf),
                    removed=row.removed,
                    was=readable(row.before, leaf) if update and row.changed else None,
                    change_href=field_href(shown.crn, shown.id, row.path) if editable else None,
                    issues=by_field.get(row.path, []),
                    sent=sent.get(row.path),
                )
            )
        groups.append((group.title, lines))
    return SectionPage(
        crn=shown.crn,
        entry_id=shown.id,
        title=_section_title(shown),
        kind_text=kind_label(shown.kind),
        status=shown.status,
        version=shown.version,
        groups=groups,
        section_issues=whole,
        mine=mine,
        removal=removal,
    )
