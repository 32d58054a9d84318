"""A record section as people read it: labelled rows, changes marked, fields to edit, history.

The entry page shows a section of the ViSOR record as summary lists and an edit form. This
turns the section's XML, the mapping spec's labels and the entry's diff into plain data the
templates lay out, so no template has to understand XML paths. Field paths are the ones
`bridge.core.record.flatten` and the edit service use (`PNC`, `Address[2]/Postcode`); each gets
an HTML id from `field_id` so an error summary can link to it. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from bridge.core.audit_events import AuditAction
from bridge.core.mapping.spec import FieldSpec, SectionSpec
from bridge.core.purposes import PURPOSES
from bridge.core.record import flatten
from bridge.core.vocabulary import long_date, long_datetime, section_label

__all__ = [
    "FieldRow",
    "RowGroup",
    "TimelineItem",
    "editable_fields",
    "field_id",
    "field_label",
    "issue_field",
    "long_date",
    "problem_text",
    "section_rows",
    "section_title",
    "timeline",
]

_STEP = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)(?:\[(\d+)\])?")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

_ACTIONS: dict[str, str] = {
    AuditAction.ENTRY_QUEUED: "Queued",
    AuditAction.ENTRY_VIEWED: "Viewed",
    AuditAction.ENTRY_CLAIMED: "Claimed",
    AuditAction.ENTRY_RELEASED: "Released",
    AuditAction.ENTRY_CLAIM_EXPIRED: "Claim expired",
    AuditAction.ENTRY_EDITED: "Edited",
    AuditAction.ENTRY_APPROVED: "Approved",
    AuditAction.ENTRY_REJECTED: "Returned to officer",
    AuditAction.ENTRY_ENTERED: "Marked as entered in ViSOR",
    AuditAction.ENTRY_SUBMITTED: "Sent to ViSOR",
    AuditAction.ENTRY_ACCEPTED: "Entered in ViSOR",
    AuditAction.ENTRY_FAILED: "Could not send to ViSOR",
    AuditAction.ENTRY_REQUEUED: "Queued to send again",
    AuditAction.ENTRY_SUPERSEDED: "Replaced by a newer change",
    AuditAction.ENTRY_REASSIGNED: "Reassigned",
    AuditAction.ACCESS_REFUSED: "Access refused",
}


def field_id(path: str) -> str:
    """The HTML id of a field: `Address[2]/Postcode` → `field-Address-2-Postcode`."""
    return "field-" + _NOT_ALNUM.sub("-", path).strip("-")


#: A section's name as a heading: `managing-officer` → "Managing officer" (the vocabulary's).
section_title = section_label


def _steps(path: str) -> list[tuple[str, int | None]] | None:
    steps: list[tuple[str, int | None]] = []
    for part in path.split("/"):
        match = _STEP.fullmatch(part)
        if match is None:
            return None
        steps.append((match.group(1), int(match.group(2)) if match.group(2) else None))
    return steps


def _specs(spec: SectionSpec | None, path: str) -> list[FieldSpec | None]:
    """The field spec of each step of `path` (None where the spec does not name it)."""
    steps = _steps(path) or []
    fields: Sequence[FieldSpec] = spec.fields if spec is not None else ()
    out: list[FieldSpec | None] = []
    for name, _ in steps:
        found = next((f for f in fields if f.element == name), None)
        out.append(found)
        fields = found.children if found is not None else ()
    return out


def _humane(element: str) -> str:
    """An element name as words: `BuildingName` → `Building name` (acronyms kept: `PNC`)."""
    words = _WORDS.findall(element) or [element]
    return " ".join([words[0], *(w if w.isupper() else w.lower() for w in words[1:])])


def _label_of(found: FieldSpec | None, name: str) -> str:
    """The spec's label, or the element's name in words where the spec gives none (its
    default is the element, or `Parent/Element` inside a group)."""
    if found is None or found.label == found.element or "/" in found.label:
        return _humane(name)
    return found.label


def _named(found: FieldSpec | None) -> bool:
    return found is not None and _label_of(found, found.element) != _humane(found.element)


def _numbered(label: str, index: int | None) -> str:
    return f"{label} {index}" if index is not None else label


def field_label(spec: SectionSpec | None, path: str, *, within_group: bool = False) -> str:
    """What a person calls the field: the spec's label, numbered where it repeats.

    `Address[2]/Postcode` is "Address 2: Postcode" on its own and "Postcode" inside the
    "Address 2" group; `Team/Code` (labelled "MAPPA team code") is that label either way.
    """
    steps = _steps(path)
    if not steps:
        return path
    specs = _specs(spec, path)
    name, index = steps[-1]
    leaf = specs[-1]
    label = _numbered(_label_of(leaf, name), index)
    if within_group or len(steps) == 1:
        return label
    if _named(leaf) and all(i is None for _, i in steps[:-1]):
        return label
    groups = [
        _numbered(_label_of(s, n), i) for (n, i), s in zip(steps[:-1], specs[:-1], strict=True)
    ]
    return ": ".join([*groups, label])


def _group_key(path: str) -> str | None:
    head, sep, _ = path.partition("/")
    return head if sep else None


def _group_title(spec: SectionSpec | None, key: str) -> str:
    steps = _steps(key)
    if not steps:
        return key
    name, index = steps[0]
    return _numbered(_label_of(_specs(spec, key)[0], name), index)


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One field of the section: its value now and, when it changed, what ViSOR holds."""

    path: str
    id: str
    label: str  # inside its group ("Postcode")
    full_label: str  # on its own ("Address 2: Postcode")
    value: str | None  # None: removed since the baseline
    changed: bool = False
    before: str | None = None
    edited: bool = False  # a proxy changed it from what the mapping produced

    @property
    def removed(self) -> bool:
        return self.value is None


@dataclass(slots=True)
class RowGroup:
    """The rows shown as one summary list: the section's own fields, or one group of them."""

    title: str | None
    rows: list[FieldRow] = field(default_factory=list)


def section_rows(
    section: etree._Element | None,
    spec: SectionSpec | None,
    diff: Iterable[Mapping[str, Any]],
    missing: Iterable[str] = (),
) -> list[RowGroup]:
    """The section's fields in record order, grouped, with changes since the baseline marked.

    Fields the baseline had and the section no longer has are listed as removed, in the group
    they were in; `missing` fields (an issue names them, the record lacks them) as empty, so
    the issue has a row to point at.
    """
    current = flatten(section) if section is not None else {}
    changes = {str(d["path"]): d for d in diff if d.get("path")}
    groups: dict[str | None, RowGroup] = {}

    def add(path: str, value: str | None) -> None:
        key = _group_key(path)
        if key not in groups:
            groups[key] = RowGroup(_group_title(spec, key) if key is not None else None)
        change = changes.get(path)
        groups[key].rows.append(
            FieldRow(
                path=path,
                id=field_id(path),
                label=field_label(spec, path, within_group=key is not None),
                full_label=field_label(spec, path),
                value=value,
                changed=change is not None,
                before=change.get("before") if change is not None else None,
                edited=bool(change.get("edited")) if change is not None else False,
            )
        )

    for path, value in current.items():
        add(path, value)
    for path, change in changes.items():
        if path not in current and change.get("after") is None:
            add(path, None)
    for path in missing:
        if path not in current and path not in changes and _steps(path):
            current[path] = ""
            add(path, "")
    ungrouped = groups.pop(None, None)
    return ([ungrouped] if ungrouped is not None else []) + list(groups.values())


def _editable(spec: SectionSpec | None, path: str) -> bool:
    """A leaf the spec names whose value the mapping does not fix."""
    leaf = _specs(spec, path)[-1] if _steps(path) else None
    return leaf is not None and leaf.value is None and not leaf.is_group


def issue_field(section_name: str, issue_path: str) -> str | None:
    """The field path an issue names (`identity/PNC` → `PNC`); None for the whole section."""
    prefix = f"{section_name}/"
    if issue_path.startswith(prefix) and len(issue_path) > len(prefix):
        return issue_path[len(prefix) :]
    return None


def editable_fields(
    section: etree._Element | None,
    spec: SectionSpec | None,
    issue_paths: Iterable[str] = (),
) -> list[FieldRow]:
    """The fields a proxy may correct: every field the section has that the mapping does not
    fix, then the missing ones an issue asks for (a MAPPA level nDelius did not record, say)."""
    current = flatten(section) if section is not None else {}
    paths = [p for p in current if _editable(spec, p)]
    for path in issue_paths:
        if path not in current and path not in paths and _editable(spec, path):
            paths.append(path)
    return [
        FieldRow(
            path=p,
            id=field_id(p),
            label=field_label(spec, p),
            full_label=field_label(spec, p),
            value=current.get(p, ""),
        )
        for p in paths
    ]


def problem_text(label: str, message: str) -> str:
    """An edit problem as an error message: `is required` → `Postcode is required`."""
    message = message.strip().rstrip(".")
    if message[:1].islower():
        return f"{label} {message}"
    return message


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One event of an entry's history as the MoJ timeline shows it."""

    title: str
    byline: str
    datetime: str  # ISO 8601, for the <time> element
    date: str  # "23 November 2026 at 9:30am GMT" (Europe/London, GMT or BST)
    description: list[str]


def _describe(detail: Mapping[str, Any]) -> list[str]:
    """What a history event's detail says, for the keys people read (never record values)."""
    lines = []
    if isinstance(detail.get("fields"), list):
        lines.append("Fields: " + ", ".join(str(f) for f in detail["fields"]))
    if detail.get("version") is not None:
        lines.append(f"Version {detail['version']}")
    if detail.get("purpose"):
        lines.append(f"Purpose: {purpose_words(str(detail['purpose']))}")
    if detail.get("reference"):
        lines.append(f"ViSOR reference: {detail['reference']}")
    if detail.get("was"):
        lines.append(f"Was claimed by {detail['was']}")
    return lines


def purpose_words(code: str) -> str:
    """A recorded purpose code as people read it (never the code: `web:entry.view`)."""
    if code in PURPOSES:
        return PURPOSES[code]
    if code.startswith("web:"):
        return "Opening the page"
    if code.startswith("cli:"):
        return "A command on the server"
    if code.startswith("other:"):
        return "Another reason (recorded)"
    return "Not stated"


def timeline(history: Iterable[Mapping[str, Any]]) -> list[TimelineItem]:
    """An entry's audit events, newest first (times in Europe/London)."""
    items = []
    for event in history:
        at = datetime.fromisoformat(str(event["at"]))
        action = str(event["action"])
        items.append(
            TimelineItem(
                title=_ACTIONS.get(action, action),
                byline=str(event.get("actor") or ""),
                datetime=at.isoformat(),
                date=long_datetime(at, zone=True),
                description=_describe(event.get("detail") or {}),
            )
        )
    return items[::-1]
