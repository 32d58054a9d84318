"""One ViSOR field as a GOV.UK question page: the right input for the field, and its answer.

A coded field (a `lookup` against a code table) is a set of radios when it has a few values
and a select when it has many, both offering exactly the ViSOR values of the mapping's code
table; a date is the GOV.UK date input; a yes/no field is two radios; anything else a text
input. The hint is the field's `help` line in the mapping spec. `answer` turns what the form
sent into the value the edit service checks (`YYYY-MM-DD`, `true`/`false`, a code table
value), or a GOV.UK error message; the page is then shown again with what was typed.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from bridge.core.mapping.codes import CodeTable
from bridge.core.mapping.spec import FieldSpec, SectionSpec
from bridge.core.vocabulary import long_date
from bridge.web.present import field_id, field_label

__all__ = ["Option", "Question", "answer", "leaf_spec", "question_for", "readable"]

Kind = Literal["text", "textarea", "radios", "select", "date", "boolean"]
#: Free text longer than this is a textarea (contact notes), shorter an input.
LONG_TEXT = 200
#: A coded field with at most this many ViSOR values is radios; more is a select.
MAX_RADIOS = 6
_STEP = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)(?:\[(\d+)\])?")
_BOOLEAN = {"true": "Yes", "false": "No"}


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    text: str


@dataclass(frozen=True, slots=True)
class Question:
    """What a question page shows for one field (values as stored, or as typed)."""

    path: str
    id: str
    label: str
    hint: str | None
    input_type: Kind
    value: str  # the stored value, or what was typed (text, radios, select)
    required: bool
    options: list[Option] = field(default_factory=list)
    day: str = ""
    month: str = ""
    year: str = ""
    max_length: int | None = None


def leaf_spec(spec: SectionSpec | None, path: str) -> FieldSpec | None:
    """The spec of the value `path` names (`Address[2]/Postcode` → Postcode), or None."""
    fields: Sequence[FieldSpec] = spec.fields if spec is not None else ()
    found: FieldSpec | None = None
    for part in path.split("/"):
        match = _STEP.fullmatch(part)
        if match is None:
            return None
        found = next((f for f in fields if f.element == match.group(1)), None)
        if found is None:
            return None
        fields = found.children
    return found


def _kind(spec: FieldSpec, options: list[Option]) -> Kind:
    if spec.transform == "date":
        return "date"
    if spec.transform == "boolean":
        return "boolean"
    if spec.transform == "lookup":
        return "radios" if len(options) <= MAX_RADIOS else "select"
    if spec.transform == "text" and (spec.max_length or 0) > LONG_TEXT:
        return "textarea"
    return "text"


def _options(spec: FieldSpec, tables: Mapping[str, CodeTable]) -> list[Option]:
    if spec.transform == "boolean":
        return [Option(v, t) for v, t in _BOOLEAN.items()]
    table = tables.get(spec.table or "") if spec.transform == "lookup" else None
    if table is None:
        return []
    values = list(dict.fromkeys(table.codes.values()))  # in the table's order, each once
    return [Option(v, v) for v in values]


def _date_parts(value: str) -> tuple[str, str, str]:
    try:
        when = date.fromisoformat(value.strip())
    except ValueError:
        return "", "", ""
    return str(when.day), str(when.month), str(when.year)


def question_for(
    spec: SectionSpec | None, path: str, value: str | None, tables: Mapping[str, CodeTable]
) -> Question | None:
    """The question for the field `path` holding `value`; None when it cannot be edited
    (the spec does not name it, it is a group, or the mapping fixes its value)."""
    leaf = leaf_spec(spec, path)
    if leaf is None or leaf.is_group or leaf.value is not None:
        return None
    options = _options(leaf, tables)
    kind = _kind(leaf, options)
    current = value or ""
    day, month, year = _date_parts(current) if kind == "date" else ("", "", "")
    return Question(
        path=path,
        id=field_id(path),
        label=field_label(spec, path),
        hint=leaf.help,
        input_type=kind,
        value=current,
        required=leaf.required == "block",
        options=options,
        day=day,
        month=month,
        year=year,
        max_length=leaf.max_length,
    )


def _lower(label: str) -> str:
    """A label inside a sentence: "Gender" → "gender", "PNC number" stays."""
    first = label.split(" ", 1)[0]
    return label if first.isupper() else label[:1].lower() + label[1:]


def _whole(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 4 else None


def answer(question: Question, form: Mapping[str, str]) -> tuple[Question, str | None, str | None]:
    """(the question with what was typed, the value for the edit service, an error message).

    The value is None when there is an error; "" removes an optional field."""
    label = question.label
    if question.input_type == "date":
        parts = {k: (form.get(k) or "").strip() for k in ("day", "month", "year")}
        typed = replace(question, day=parts["day"], month=parts["month"], year=parts["year"])
        if not any(parts.values()):
            if question.required:
                return typed, None, f"Enter the {_lower(label)}"
            return typed, "", None
        missing = [k for k, v in parts.items() if not v]
        if missing:
            return typed, None, f"{label} must include a {' and a '.join(missing)}"
        day, month, year = (_whole(parts[k]) for k in ("day", "month", "year"))
        try:
            if day is None or month is None or year is None or year < 1000:
                raise ValueError
            return typed, date(year, month, day).isoformat(), None
        except ValueError:
            return typed, None, f"{label} must be a real date"
    raw = form.get("value") or ""
    typed = replace(question, value=raw)
    if question.input_type in ("radios", "select", "boolean"):
        allowed = {o.value for o in question.options}
        if not raw.strip():
            if question.required or question.input_type == "boolean":
                return typed, None, f"Select the {_lower(label)}"
            return typed, "", None
        if raw not in allowed:
            return typed, None, f"Select a {_lower(label)} that ViSOR takes"
        return typed, raw, None
    if not raw.strip() and question.required:
        return typed, None, f"Enter the {_lower(label)}"
    if question.max_length is not None and len(raw.strip()) > question.max_length:
        return typed, None, f"{label} must be {question.max_length} characters or fewer"
    return typed, raw.strip(), None


def readable(value: str | None, spec: FieldSpec | None) -> str:
    """A stored value as people read it: booleans as Yes/No, dates in words."""
    if value is None:
        return ""
    if spec is not None and spec.transform == "boolean" and value in _BOOLEAN:
        return _BOOLEAN[value]
    if spec is not None and spec.transform == "date":
        try:
            return long_date(date.fromisoformat(value))
        except ValueError:
            return value
    return value
