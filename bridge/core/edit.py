"""A proxy's corrections to one section: field paths in, a new section and problems out.

Fields are named as the diff names them (`bridge.core.record.flatten`): `PNC`,
`Address[2]/Postcode`. A value is checked by the business rule of the field's transform
(a PNC's check character, a real date, a postcode's shape, a code table's ViSOR values),
its length and the characters XML can hold; an empty value removes an optional field. A
field the mapping left out (a missing MAPPA level, say) is added in the place the spec
gives it. Pure: no I/O.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from bridge.core.mapping.codes import CodeTable
from bridge.core.mapping.spec import FieldSpec, SectionSpec
from bridge.core.mapping.transforms import TRANSFORMS, Problem
from bridge.core.xmltext import clean_text

__all__ = ["BIDI_CONTROLS", "EditProblem", "apply_edits", "parse_assignments"]

#: Bidirectional controls (U+202A-202E embeddings and overrides, U+2066-2069 isolates, the
#: LRM/RLM marks U+200E/U+200F and the Arabic letter mark U+061C): they make a value read
#: differently from what it holds, so an edit may not carry them. The joiners U+200C/U+200D
#: (ZWNJ/ZWJ), which some names need, stay allowed.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_STEP = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)(?:\[(\d+)\])?")


@dataclass(frozen=True, slots=True)
class EditProblem:
    """Why one edit cannot be saved (names the field, never repeats the value)."""

    path: str
    message: str


def parse_assignments(items: Sequence[str]) -> tuple[dict[str, str], list[EditProblem]]:
    """`FIELD=VALUE` strings from the command line into a mapping (the last one wins)."""
    edits: dict[str, str] = {}
    problems = []
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            problems.append(EditProblem(item[:40], "write each change as FIELD=VALUE"))
            continue
        edits[field.strip()] = value
    return edits, problems


def _steps(path: str) -> list[tuple[str, int]] | None:
    steps = []
    for part in path.split("/"):
        match = _STEP.fullmatch(part)
        if match is None:
            return None
        steps.append((match.group(1), int(match.group(2) or 1)))
    return steps


def _field_spec(fields: Sequence[FieldSpec], names: list[str]) -> FieldSpec | None:
    spec: FieldSpec | None = None
    for name in names:
        spec = next((f for f in fields if f.element == name), None)
        if spec is None:
            return None
        fields = spec.children
    return spec


def _check(value: str, spec: FieldSpec, tables: Mapping[str, CodeTable]) -> str | Problem:
    """The value as ViSOR needs it, or the problem with it."""
    if spec.transform == "lookup":
        table = tables.get(spec.table or "")
        allowed = set(table.codes.values()) if table else set()
        return value if value in allowed else Problem("unknown-code", ", ".join(sorted(allowed)))
    result = TRANSFORMS[spec.transform].apply(value, None)
    if result is None:
        return Problem("invalid-format", "a value (this one means 'none')")
    return result


def _insert(parent: etree._Element, child: etree._Element, siblings: Sequence[FieldSpec]) -> None:
    """Put `child` where the spec orders it among `parent`'s children."""
    order = {f.element: i for i, f in enumerate(siblings)}
    mine = order[etree.QName(child).localname]
    for index, existing in enumerate(parent):
        if order.get(etree.QName(existing).localname, -1) > mine:
            parent.insert(index, child)
            return
    parent.append(child)


def _describe(problem: Problem, spec: FieldSpec) -> str:
    if problem.code == "unknown-code":
        return f"{spec.label} must be one of: {problem.hint}"
    if problem.code == "invalid-date":
        return f"{spec.label} must be a real date, YYYY-MM-DD"
    return f"{spec.label} must be {problem.hint or 'in the format ViSOR needs'}"


def apply_edits(
    section: etree._Element,
    spec: SectionSpec,
    edits: Mapping[str, str],
    *,
    namespace: str,
    tables: Mapping[str, CodeTable],
) -> tuple[etree._Element, list[EditProblem]]:
    """A copy of `section` with `edits` applied, and every problem found (all at once)."""
    out = copy.deepcopy(section)
    problems: list[EditProblem] = []
    for path, raw in edits.items():
        steps = _steps(path)
        fspec = _field_spec(spec.fields, [n for n, _ in steps]) if steps else None
        if steps is None or fspec is None or fspec.children:
            problems.append(EditProblem(path, "is not a field of this section"))
            continue
        if fspec.value is not None:
            problems.append(EditProblem(path, f"{fspec.element} is fixed by the mapping"))
            continue
        text, removed = clean_text(raw.strip())
        if removed:
            problems.append(EditProblem(path, f"{fspec.label} has characters ViSOR cannot hold"))
            continue
        if BIDI_CONTROLS.search(text):
            problems.append(
                EditProblem(
                    path,
                    f"{fspec.label} has hidden characters that reorder text (bidirectional "
                    "controls); type the value again without them",
                )
            )
            continue
        parent: etree._Element | None = out
        siblings: Sequence[FieldSpec] = spec.fields
        for name, n in steps[:-1]:
            assert parent is not None
            group = [c for c in parent if etree.QName(c).localname == name]
            if len(group) < n:
                parent = None
                break
            parent = group[n - 1]
            siblings = next(f for f in siblings if f.element == name).children
        if parent is None:
            problems.append(EditProblem(path, "names a group this record does not have"))
            continue
        name, n = steps[-1]
        existing = [c for c in parent if etree.QName(c).localname == name]
        if text == "":
            if fspec.required == "block":
                problems.append(EditProblem(path, f"{fspec.label} is required"))
            elif len(existing) >= n:
                parent.remove(existing[n - 1])
            continue
        checked = _check(text, fspec, tables)
        if isinstance(checked, Problem):
            problems.append(EditProblem(path, _describe(checked, fspec)))
            continue
        if fspec.max_length is not None and len(checked) > fspec.max_length:
            problems.append(
                EditProblem(path, f"{fspec.label} must be at most {fspec.max_length} characters")
            )
            continue
        if len(existing) >= n:
            existing[n - 1].text = checked
        elif len(existing) == n - 1:
            element = etree.Element(f"{{{namespace}}}{name}")
            element.text = checked
            _insert(parent, element, siblings)
        else:
            problems.append(EditProblem(path, "adds a repeat out of order"))
    return out, problems
