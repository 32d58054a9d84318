"""A proxy corrects an entry: each edit is a new version, checked before it is saved.

The edit names the version it was based on; if the entry has moved on (a colleague edited
it after this proxy's claim expired, say) it is refused as a conflict and nothing is
overwritten. Values are checked by the field's business rule, then the whole record by
ViSOR's schema; either failing refuses the edit with every problem listed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree

from bridge.audit import record as record_audit
from bridge.core.audit_events import entry_edited
from bridge.core.edit import EditProblem, apply_edits
from bridge.core.issues import issues_from_json, issues_to_json
from bridge.core.lifecycle import REMOVALS
from bridge.core.prepared import section_of_baseline
from bridge.core.record import field_diff, flatten, schema_issues, to_xml
from bridge.core.xmltext import parse_untrusted
from bridge.errors import BadInput, WrongState
from bridge.mapping_files import MappingBundle
from bridge.services.review import ReviewService
from bridge.services.views import EditedEntry, EntrySummary
from bridge.store import entries as q
from bridge.store.models import EntryVersion
from bridge.store.tasks import renew as renew_claims

__all__ = ["EditRefused", "EditService"]


class EditRefused(BadInput):
    """The edit's values break a rule; `problems` says which field and why."""

    def __init__(self, problems: list[EditProblem]) -> None:
        self.problems = problems
        listed = "; ".join(f"{p.path}: {p.message}" for p in problems)
        super().__init__(f"The edit was not saved. {listed}.")


class EditService:
    """Edits on top of the review service's guards (claim, vetting, access, version)."""

    def __init__(self, review: ReviewService, bundle: Callable[[], MappingBundle]) -> None:
        self._review = review
        self._bundle = bundle

    def edit(
        self, entry_id: int, *, actor: str, version: int, changes: Mapping[str, str]
    ) -> EditedEntry:
        if not changes:
            raise BadInput("Nothing to change: give at least one FIELD=VALUE.")
        bundle = self._bundle()
        with self._review.guarded(actor, entry_id, "edit") as (s, entry, now):
            self._review.require_claimed_by(entry, actor, now)
            self._review.require_version(entry, version)
            if entry.kind in REMOVALS or entry.xml is None:
                raise WrongState(f"Entry {entry_id} asks for a removal; there is nothing to edit.")
            record = parse_untrusted(entry.xml)
            nominal = record.find("{*}Nominal")
            assert nominal is not None
            section = nominal[0]
            spec = next(x for x in bundle.spec.sections if x.name == entry.section)
            edited, problems = apply_edits(
                section,
                spec,
                changes,
                namespace=bundle.spec.namespace,
                tables=bundle.spec.tables,
            )
            if problems:
                raise EditRefused(problems)
            nominal.replace(section, edited)
            if schema_issues(record, bundle.schema, section=entry.section):
                raise EditRefused(
                    [EditProblem(entry.section, "ViSOR's schema rejects the edited record")]
                )
            touched = {f"{entry.section}/{path}" for path in changes}
            kept = [
                i
                for i in issues_from_json(entry.issues)
                if i.path not in touched and i.code != "schema-invalid"
            ]
            mapped = _mapped_section(s, entry.id)
            baseline = q.baseline_for(s, entry.crn, entry.section, entry.item_key)
            entry.version += 1
            entry.xml = to_xml(record)
            entry.issues = issues_to_json(kept)
            entry.diff = _diff(section_of_baseline(baseline), edited, mapped)
            entry.updated_at = now
            s.add(entry)
            renew_claims(
                s, entry.crn, staff=actor, now=now, since=now - self._review.claim_ttl
            )  # they are working on the case
            assert entry.id is not None
            s.add(
                EntryVersion(
                    entry_id=entry.id,
                    version=entry.version,
                    xml=entry.xml,
                    created_at=now,
                    created_by=actor,
                )
            )
            event = entry_edited(
                actor, entry.crn, entry.id, version=entry.version, fields=sorted(changes)
            )
            record_audit(s, event, at=now)
            return EditedEntry(
                **vars(EntrySummary.of(entry)), version=entry.version, diff=list(entry.diff)
            )


def _mapped_section(s: Any, entry_id: int | None) -> etree._Element | None:
    """Version 1 of the entry: the section as the mapping produced it."""
    assert entry_id is not None
    first = next(iter(q.versions_of(s, entry_id)), None)
    if first is None or first.xml is None:
        return None
    nominal = parse_untrusted(first.xml).find("{*}Nominal")
    return nominal[0] if nominal is not None and len(nominal) else None


def _diff(
    baseline: etree._Element | None, edited: etree._Element, mapped: etree._Element | None
) -> list[dict[str, Any]]:
    """Changes against the baseline; where a proxy's edit differs from the mapping, both."""
    original = flatten(mapped) if mapped is not None else {}
    out = []
    for change in field_diff(baseline, edited):
        row: dict[str, Any] = change.to_json()
        if original.get(change.path) != change.after:
            row["mapped"] = original.get(change.path)
            row["edited"] = True
        out.append(row)
    return out
