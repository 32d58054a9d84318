"""Reading and preparing one case: the snapshot from nDelius, then scope and mapping.

The work the sync's readers do (in the reading process, or reader threads): nothing here
touches the store. What a prepared case means for the queue is `bridge.core.queue_plan`'s.
"""

from __future__ import annotations

from collections.abc import Collection

from bridge.core.attention import ReadFailure, read_failure
from bridge.core.issues import Issue
from bridge.core.prepared import PreparedCase, PreparedSection
from bridge.core.record import canonical_hash
from bridge.core.scope import access_of, decide_scope
from bridge.core.snapshot import MAPPA_TYPE, CaseSnapshot
from bridge.errors import SourceError
from bridge.mapping_files import MappingBundle
from bridge.ndelius import NdeliusClient

__all__ = ["CaseRead", "prepare_case", "read_case"]

#: One CRN's outcome: the prepared case, or why its read failed (with any attention reason).
CaseRead = tuple[str, PreparedCase | None, ReadFailure | None]


def prepare_case(
    snapshot: CaseSnapshot, *, needs_proxy: Collection[str], bundle: MappingBundle
) -> PreparedCase:
    """Scope and map a case (no database)."""
    scope = decide_scope(
        snapshot, needs_proxy=needs_proxy, rules=bundle.scope, tables=bundle.spec.tables
    )
    access = access_of(snapshot)
    sections: tuple[PreparedSection, ...] = ()
    owning_force: str | None = None
    routing_issues: tuple[Issue, ...] = ()
    if scope.in_scope:
        mapped = bundle.mapper.map_case(snapshot)
        sections = tuple(
            PreparedSection(
                m.name, m.key, m.element, canonical_hash(m.element), m.issues, m.is_empty
            )
            for m in mapped.sections
        )
        owning_force, routing_issues = mapped.owning_force, tuple(mapped.routing_issues)
    return PreparedCase(
        crn=snapshot.crn,
        scope=scope,
        sections=sections,
        has_visor_record=snapshot.has_visor_record,
        fingerprint=snapshot.fingerprint(),
        manager_code=snapshot.manager_code,
        excluded_from=access.excluded_from,
        restricted_to=access.restricted_to,
        access_unclear=access.unclear,
        mappa=CaseSnapshot(
            snapshot.crn,
            registrations=tuple(r for r in snapshot.registrations if r.type_code == MAPPA_TYPE),
        ),
        owning_force=owning_force,
        routing_issues=routing_issues,
    )


def read_case(
    source: NdeliusClient, crn: str, *, needs_proxy: Collection[str], bundle: MappingBundle
) -> CaseRead:
    """Read and prepare one case; a source failure is an outcome, not an exception."""
    try:
        snapshot = source.case(crn)
    except SourceError as exc:
        return crn, None, read_failure(exc)
    return crn, prepare_case(snapshot, needs_proxy=needs_proxy, bundle=bundle), None
