"""The entry page's model: what `ReviewService.show` returned, laid out for people.

The page shows a record section as summary lists, the blocking issues as links to the fields
they name, an edit form when the viewer holds the claim, and the history. Which of those
appear (claim, edit, decide, mark as entered) is decided here from the entry's state, so the
template only lays out what it is given. The service actions themselves still check every
rule again when they are asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bridge.core.lifecycle import REMOVALS, Action, State, allows, is_overdue
from bridge.core.mapping.spec import MappingSpec, SectionSpec
from bridge.core.record import section_of
from bridge.services.review import ReviewService
from bridge.services.views import EntryShown, jsonable
from bridge.web.present import (
    FieldRow,
    RowGroup,
    TimelineItem,
    editable_fields,
    field_id,
    field_label,
    issue_field,
    problem_text,
    section_rows,
    section_title,
    timeline,
)

__all__ = ["EntryPage", "ErrorLink", "changed_fields", "entry_page"]

#: The anchor of the record's heading, for issues about the section as a whole.
RECORD_ANCHOR = "#record"

ErrorLink = dict[str, str]  # {"text", "href"}: an item of a GOV.UK error summary


@dataclass
class EntryPage:
    """Everything the entry template shows (the record is only in `groups` and `fields`)."""

    entry: dict[str, Any]
    section_title: str
    groups: list[RowGroup]
    fields: list[FieldRow]  # the edit form's inputs (empty when the viewer may not edit)
    blocking: list[ErrorLink]
    warnings: list[ErrorLink]
    history: list[TimelineItem]
    claimed_by_me: bool
    can_claim: bool
    can_edit: bool
    can_mark_entered: bool
    removal: bool
    overdue: bool
    field_errors: dict[str, str] = field(default_factory=dict)  # input id → message


def _section_spec(spec: MappingSpec, name: str) -> SectionSpec | None:
    return next((s for s in spec.sections if s.name == name), None)


def _issue_link(issue: Mapping[str, Any], section: str, anchors: set[str]) -> ErrorLink:
    """An issue as an error summary item linking to its field (its message names the field)."""
    path = issue_field(section, str(issue.get("path", "")))
    href = f"#{field_id(path)}" if path is not None else RECORD_ANCHOR
    return {
        "text": str(issue.get("message", "")),
        "href": href if href[1:] in anchors else RECORD_ANCHOR,
    }


def entry_page(
    shown: EntryShown,
    spec: MappingSpec,
    *,
    actor: str,
    manual_sink: bool,
    today: date,
    submitted: Mapping[str, str] | None = None,
    problems: list[tuple[str, str]] | None = None,
) -> EntryPage:
    """The page model of an entry `actor` was just shown.

    Args:
        shown: `ReviewService.show` output (with `claimed_by`).
        spec: the mapping spec, for the fields' labels and which fields may be edited.
        actor: the viewer.
        manual_sink: approved entries wait for a proxy to key them in and give the reference.
        today: for "overdue".
        submitted: values the proxy typed, kept in the form when an edit was refused.
        problems: (field path, message) of a refused edit.
    """
    name = shown.section
    sspec = _section_spec(spec, name)
    section = section_of(shown.xml) if shown.xml else None
    status = shown.status
    removal = shown.kind in REMOVALS
    claimed_by_me = status == State.CLAIMED and shown.claimed_by == actor
    issues = list(shown.issues)
    can_edit = claimed_by_me and not removal and section is not None
    wanted = [p for i in issues if (p := issue_field(name, str(i.get("path", ""))))]
    fields: list[FieldRow] = []
    if can_edit:
        fields = editable_fields(section, sspec, wanted)
        if submitted is not None:
            fields = [
                FieldRow(
                    path=f.path,
                    id=f.id,
                    label=f.label,
                    full_label=f.full_label,
                    value=submitted.get(f.path, f.value),
                )
                for f in fields
            ]
    groups = section_rows(section, sspec, shown.diff, wanted)
    anchors = {f.id for f in fields} if can_edit else {r.id for g in groups for r in g.rows}
    field_errors: dict[str, str] = {}
    edit_errors: list[ErrorLink] = []
    for path, message in problems or []:
        text = problem_text(field_label(sspec, path), message)
        target = field_id(path)
        if target in anchors:
            field_errors.setdefault(target, text)
            edit_errors.append({"text": text, "href": f"#{target}"})
        else:
            edit_errors.append({"text": text, "href": RECORD_ANCHOR})
    return EntryPage(
        entry=jsonable(shown),
        section_title=section_title(name),
        groups=groups,
        fields=fields,
        blocking=edit_errors + [_issue_link(i, name, anchors) for i in issues if i.get("blocking")],
        warnings=[_issue_link(i, name, anchors) for i in issues if not i.get("blocking")],
        history=timeline(jsonable(shown.history)),
        claimed_by_me=claimed_by_me,
        can_claim=allows(status, Action.CLAIM),
        can_edit=can_edit,
        can_mark_entered=status == State.SUBMITTED or (status == State.APPROVED and manual_sink),
        removal=removal,
        overdue=is_overdue(status, shown.due_date, today),
        field_errors=field_errors,
    )


def changed_fields(
    review: ReviewService,
    spec: MappingSpec,
    entry_id: int,
    *,
    actor: str,
    submitted: Mapping[str, str],
) -> dict[str, str]:
    """Of an edit form's values, those that change an editable field of the entry.

    The form sends every field; the edit service should only see (and audit) the ones the
    proxy changed, so that an untouched field is neither re-checked nor listed as edited.
    """
    shown = review.editable(entry_id, actor=actor)
    name, issues = shown.section, shown.issues
    section = section_of(shown.xml) if shown.xml else None
    wanted = [p for i in issues if (p := issue_field(name, str(i.get("path", ""))))]
    current = editable_fields(section, _section_spec(spec, name), wanted)
    return {
        f.path: submitted[f.path]
        for f in current
        if f.path in submitted and submitted[f.path].strip() != (f.value or "").strip()
    }
