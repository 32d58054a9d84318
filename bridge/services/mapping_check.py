"""`visor-bridge mappings check` and `visor-bridge mappings golden`: the spec, its code tables and the goldens.

Beyond what loading a mapping already checks (syntax, settings, transforms, tables, the XSD), this
maps every fixture case and checks that

- every code the fixtures use is covered by its code table (or declared as an `unknown` code);
- every field's source path finds a value in at least one fixture case (a mistyped path does not);
- every record is XSD-valid, or carries a blocking issue that says what to fix;
- the output equals the golden example `fixtures/visor/<CRN>.xml` (canonical XML comparison).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from bridge.core.issues import has_blocking
from bridge.core.lifecycle import Kind
from bridge.core.mapping.engine import MappedCase
from bridge.core.mapping.spec import FieldSpec
from bridge.core.mapping.trace import Trace
from bridge.core.record import Envelope, build_record, canonical_hash, field_diff
from bridge.core.snapshot import CaseSnapshot
from bridge.core.xmltext import UnsafeXML, parse_untrusted
from bridge.mapping_files import MappingBundle

__all__ = ["CheckReport", "check_mapping", "golden_record", "write_goldens"]

#: Golden records are prepared "at" a fixed moment so that they never change by themselves.
GOLDEN_PREPARED_AT = datetime(2026, 1, 1, tzinfo=UTC)
_UNKNOWN_STAFF = "UNKNOWN"


@dataclass
class CheckReport:
    """What `visor-bridge mappings check` found (contract of `--json`)."""

    version: str
    folder: str
    cases: int = 0
    goldens: int = 0
    problems: list[str] = field(default_factory=list)
    golden_mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Leaf fields with no `help` line (a warning: the question page has no hint for them).
    fields_without_help: list[str] = field(default_factory=list)

    def finish(self) -> None:
        """Spec problems first; then golden mismatches, summarised when there are many."""
        shown = self.golden_mismatches[:5]
        if len(self.golden_mismatches) > 5:
            shown.append(f"... and {len(self.golden_mismatches) - 5} more golden examples differ")
        self.problems.extend(shown)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "version": self.version,
            "folder": self.folder,
            "cases": self.cases,
            "goldens": self.goldens,
            "problems": self.problems,
            "notes": self.notes,
            "fields_without_help": self.fields_without_help,
        }


def _cases(fixtures: Path) -> Iterator[tuple[str, dict[str, object] | None, str | None]]:
    for path in sorted((fixtures / "ndelius" / "cases").glob("*.json")):
        try:
            yield path.stem, json.loads(path.read_text(encoding="utf-8")), None
        except (OSError, ValueError) as exc:
            yield path.stem, None, f"fixtures/ndelius/cases/{path.name}: cannot be read ({exc})"


def golden_record(
    bundle: MappingBundle, crn: str, document: dict[str, object], *, trace: Trace | None = None
) -> tuple[etree._Element, MappedCase]:
    """The whole nominal for one case document, as the golden example holds it."""
    snapshot = CaseSnapshot.from_document(crn, document)
    mapped = bundle.mapper.map_case(snapshot, trace=trace)
    elements = [s.element for s in mapped.sections]
    digest = hashlib.sha256("".join(canonical_hash(e) for e in elements).encode()).hexdigest()
    manager = snapshot.manager_code or ""
    envelope = Envelope(
        kind=Kind.NOMINAL_UPDATE if snapshot.has_visor_record else Kind.NOMINAL_CREATE,
        crn=crn,
        source_version=snapshot.fingerprint(),
        mapping_version=bundle.version,
        on_behalf_of=manager if len(manager) == 7 and manager.isalnum() else _UNKNOWN_STAFF,
        prepared_at=GOLDEN_PREPARED_AT,
        owning_force=mapped.owning_force,
    )
    return build_record(elements, envelope, section_hash=digest, copy_content=False), mapped


def _golden_bytes(record: etree._Element) -> bytes:
    return bytes(etree.tostring(record, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def write_goldens(bundle: MappingBundle, fixtures: Path) -> int:
    """Rewrite `fixtures/visor/<CRN>.xml` from the current mapping; returns how many."""
    out = fixtures / "visor"
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for crn, document, _error in _cases(fixtures):
        if document is not None:
            record, _ = golden_record(bundle, crn, document)
            (out / f"{crn}.xml").write_bytes(_golden_bytes(record))
            written += 1
    return written


def _compare_golden(crn: str, record: etree._Element, fixtures: Path, report: CheckReport) -> None:
    path = fixtures / "visor" / f"{crn}.xml"
    name = f"fixtures/visor/{crn}.xml"
    try:
        expected = parse_untrusted(path.read_bytes())
    except FileNotFoundError:
        report.problems.append(
            f"{name}: golden example is missing (run `visor-bridge mappings golden`)"
        )
        return
    except UnsafeXML as exc:
        report.problems.append(f"{name}: not usable XML ({exc})")
        return
    report.goldens += 1
    if canonical_hash(expected) == canonical_hash(record):
        return
    # The record id and source hash follow from the content: name the content that changed.
    changes = [
        c
        for c in field_diff(expected, record)
        if c.path not in {"Envelope/RecordId", "Envelope/SourceVersion"}
    ]
    where = ", ".join(c.path for c in changes[:3]) or "element order, attributes or envelope"
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    report.golden_mismatches.append(
        f"{name}: differs from the mapping's output at {where}{more}. If the change is intended, "
        "run `visor-bridge mappings golden` and review the diff."
    )


def _fields(specs: tuple[FieldSpec, ...]) -> Iterator[FieldSpec]:
    for spec in specs:
        yield spec
        yield from _fields(spec.children)


def _coverage(
    bundle: MappingBundle,
    trace: Trace,
    used_by: dict[tuple[str, str], list[str]],
    report: CheckReport,
) -> None:
    for table, code, covered in sorted(trace.codes):
        if not covered:
            crns = ", ".join(sorted(used_by[(table, code)])[:3])
            report.problems.append(
                f"codes/{table}.toml [codes]: code '{code}' is used by the fixtures ({crns}) "
                "but is neither in [codes] nor in [table].unknown"
            )
    for section in bundle.spec.sections:
        for spec in _fields(section.fields):
            has_source = spec.source is not None or spec.sources or spec.each is not None
            if has_source and spec.where not in trace.hits:
                report.problems.append(
                    f"{spec.where}: its source finds nothing in any fixture case; check the "
                    "path (or add a fixture case that has this field)"
                )


def check_mapping(bundle: MappingBundle, fixtures: Path | None) -> CheckReport:
    """Run every check that needs the fixtures (the spec itself was checked when loaded)."""
    report = CheckReport(bundle.version, str(bundle.folder))
    report.fields_without_help = [
        spec.where
        for section in bundle.spec.sections
        for spec in _fields(section.fields)
        if not spec.is_group and not spec.help
    ]
    if fixtures is None:
        report.notes.append(
            "No fixtures folder: code coverage and golden examples were not checked "
            "(pass --fixtures DIR)."
        )
        return report
    trace = Trace()
    used_by: dict[tuple[str, str], list[str]] = defaultdict(list)
    for crn, document, error in _cases(fixtures):
        if document is None:
            report.problems.append(error or crn)
            continue
        report.cases += 1
        before = set(trace.codes)
        record, mapped = golden_record(bundle, crn, document, trace=trace)
        for table, code, _ in trace.codes - before:
            used_by[(table, code)].append(crn)
        issues = [i for s in mapped.sections for i in s.issues] + list(mapped.routing_issues)
        if not bundle.schema.validate(record) and not has_blocking(issues):
            first = bundle.schema.error_log[0]
            report.problems.append(
                f"fixtures/ndelius/cases/{crn}.json: the record fails the XSD (line {first.line}: "
                f"{first.message}) but no blocking issue explains it; fix the spec or the XSD"
            )
        _compare_golden(crn, record, fixtures, report)
    if report.cases == 0:
        report.problems.append(f"{fixtures}/ndelius/cases: no fixture cases found")
    _coverage(bundle, trace, used_by, report)
    report.finish()
    return report
