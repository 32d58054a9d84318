"""A ViSOR record: envelope + one section, canonical hashing, XSD checks and field diffs."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from bridge.core.issues import Issue
from bridge.core.xmltext import parse_untrusted

#: The v1 record namespace (a mapping's own namespace comes from its mapping.toml).
NS = "urn:visor-bridge:visor:v1"

__all__ = [
    "NS",
    "Envelope",
    "FieldChange",
    "build_record",
    "canonical_hash",
    "field_diff",
    "flatten",
    "schema_issues",
    "section_of",
    "to_xml",
]


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every record carries besides its content (see the XSD's `Envelope`)."""

    kind: str
    crn: str
    source_version: str
    mapping_version: str
    on_behalf_of: str
    prepared_at: datetime
    owning_force: str | None = None


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs from the baseline; `None` means absent on that side."""

    path: str
    before: str | None
    after: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"path": self.path, "before": self.before, "after": self.after}


def canonical_hash(element: etree._Element) -> str:
    """SHA-256 of the element's exclusive C14N form: equal content, equal hash."""
    return hashlib.sha256(etree.tostring(element, method="c14n", exclusive=True)).hexdigest()


def _sub(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, f"{{{etree.QName(parent).namespace}}}{tag}").text = text


def build_record(
    section: etree._Element | Sequence[etree._Element],
    envelope: Envelope,
    *,
    section_hash: str,
    copy_content: bool = True,
) -> etree._Element:
    """Wrap content in a `Record` with its envelope (the content is copied, not moved).

    Args:
        section: one section element (a queue entry), or several (a whole nominal, as in the
            golden examples).
        envelope: what the record carries besides its content.
        section_hash: the canonical hash of the content; its start makes the record id unique.
        copy_content: False moves the elements into the record (when the caller is done with
            them), which saves a deep copy.
    """
    sections = [section] if isinstance(section, etree._Element) else list(section)
    ns = etree.QName(sections[0]).namespace or NS
    record = etree.Element(f"{{{ns}}}Record", nsmap={None: ns})
    env = etree.SubElement(record, f"{{{ns}}}Envelope")
    name = etree.QName(sections[0]).localname if len(sections) == 1 else "Nominal"
    _sub(env, "RecordId", f"{envelope.crn}.{name}.{section_hash[:16]}")
    _sub(env, "Kind", envelope.kind)
    _sub(env, "CRN", envelope.crn)
    _sub(env, "SourceVersion", envelope.source_version)
    _sub(env, "MappingVersion", envelope.mapping_version)
    _sub(env, "OnBehalfOf", envelope.on_behalf_of)
    _sub(env, "PreparedAt", envelope.prepared_at.isoformat())
    if envelope.owning_force:
        _sub(env, "OwningForce", envelope.owning_force)
    nominal = etree.SubElement(record, f"{{{ns}}}Nominal")
    for element in sections:
        nominal.append(copy.deepcopy(element) if copy_content else element)
    return record


def to_xml(element: etree._Element) -> str:
    """Serialise as text: non-ASCII written literally, markup characters escaped, no CDATA."""
    return str(etree.tostring(element, encoding="unicode", pretty_print=True))


def section_of(record_xml: str) -> etree._Element:
    """The section element inside a stored record (parsed with the hardened parser)."""
    root = parse_untrusted(record_xml)
    nominal = root.find("{*}Nominal")
    if nominal is None or len(nominal) == 0:
        raise ValueError("record has no section")
    return nominal[0]


def schema_issues(record: etree._Element, schema: etree.XMLSchema, *, section: str) -> list[Issue]:
    """XSD errors as blocking issues (messages carry no record values)."""
    if schema.validate(record):
        return []
    issues = []
    for error in schema.error_log:
        where = (error.path or "").split("Nominal/")[-1].replace("*:", "")
        issues.append(
            Issue(
                "schema-invalid",
                f"{section}/{where}" if where else section,
                "ViSOR's schema rejects this field (wrong format, length or order); correct it.",
                True,
            )
        )
    return issues


def flatten(section: etree._Element) -> dict[str, str]:
    """Leaf fields by path, e.g. `Address[2]/Postcode` → value (repeats are numbered)."""
    out: dict[str, str] = {}

    def walk(el: etree._Element, prefix: str) -> None:
        counts: dict[str, int] = {}
        for child in el:
            name = etree.QName(child).localname
            counts[name] = counts.get(name, 0) + 1
        seen: dict[str, int] = {}
        for child in el:
            name = etree.QName(child).localname
            seen[name] = seen.get(name, 0) + 1
            key = f"{name}[{seen[name]}]" if counts[name] > 1 else name
            path = f"{prefix}/{key}" if prefix else key
            if len(child):
                walk(child, path)
            else:
                out[path] = child.text or ""

    walk(section, "")
    return out


def field_diff(baseline: etree._Element | None, current: etree._Element) -> list[FieldChange]:
    """Field-level changes from `baseline` (None = nothing entered yet) to `current`."""
    before = flatten(baseline) if baseline is not None else {}
    after = flatten(current)
    changes = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            changes.append(FieldChange(path, before.get(path), after.get(path)))
    return changes
