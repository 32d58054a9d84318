"""One freshly read case, prepared for the queue: scope, mapped sections and their hashes.

`prepare_case` is pure work (no database) done by the sync's readers; the page writer
(`bridge.services.sync.page_writer`) turns prepared cases into queue changes. `merge_away` and
`supersede` are the few single-case writes the sync still makes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from sqlmodel import Session

from bridge.audit import record
from bridge.core.audit_events import SYNC, case_merged, entry_superseded
from bridge.core.issues import Issue
from bridge.core.lifecycle import Kind, State
from bridge.core.record import canonical_hash
from bridge.core.scope import ScopeDecision, decide_scope
from bridge.core.snapshot import MAPPA_TYPE, CaseSnapshot
from bridge.core.xmltext import parse_own, parse_untrusted
from bridge.mapping_files import MappingBundle
from bridge.store import entries as q
from bridge.store.batch_queries import BaselineRow
from bridge.store.models import Baseline, CaseState, Entry, RetryItem

__all__ = [
    "ACTIVITY_WITHDRAWN",
    "MAPPA_ENDED",
    "SYNC_ACTOR",
    "Counts",
    "PreparedCase",
    "PreparedSection",
    "merge_away",
    "prepare_case",
    "section_of_baseline",
    "supersede",
]

SYNC_ACTOR = SYNC
#: Kind of the entry that asks a proxy to withdraw an activity already on ViSOR.
ACTIVITY_WITHDRAWN = Kind.ACTIVITY_WITHDRAWN
#: Kind of the entry that tells ViSOR MAPPA management has ended (deregistration).
MAPPA_ENDED = Kind.MAPPA_ENDED


@dataclass(frozen=True)
class PreparedSection:
    name: str
    key: str  # the nDelius contact id for activity, else ""
    element: etree._Element
    content_hash: str
    issues: tuple[Issue, ...]
    is_empty: bool

    def __reduce__(self) -> tuple[Any, ...]:
        # lxml elements do not pickle: a section crosses from the reading process as its XML.
        return (
            _section_from_wire,
            (
                self.name,
                self.key,
                etree.tostring(self.element),
                self.content_hash,
                self.issues,
                self.is_empty,
            ),
        )


def _section_from_wire(
    name: str, key: str, xml: bytes, content_hash: str, issues: tuple[Issue, ...], is_empty: bool
) -> PreparedSection:
    return PreparedSection(name, key, parse_own(xml), content_hash, issues, is_empty)


@dataclass(frozen=True)
class PreparedCase:
    """Everything worked out for one case before the transaction opens.

    It holds what the queue writes need and no more (it may cross from a reading process
    to the writing one): the facts read from the snapshot rather than the snapshot itself.
    """

    crn: str
    scope: ScopeDecision
    sections: tuple[PreparedSection, ...]
    has_visor_record: bool
    fingerprint: str  # of everything read (hashed once, on the reader)
    manager_code: str | None
    excluded_from: tuple[str, ...]
    restricted_to: tuple[str, ...]
    #: The case's MAPP registrations only: whether MAPPA is still active, and when it ended
    #: (what a `mappa-ended` record needs).
    mappa: CaseSnapshot
    owning_force: str | None = None
    routing_issues: tuple[Issue, ...] = ()


@dataclass
class Counts:
    created: int = 0
    superseded: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.superseded += other.superseded


def prepare_case(
    snapshot: CaseSnapshot, *, needs_proxy: Collection[str], bundle: MappingBundle
) -> PreparedCase:
    """Scope and map a case (pure work; no database)."""
    scope = decide_scope(snapshot, needs_proxy=needs_proxy, rules=bundle.scope)
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
        excluded_from=snapshot.excluded_from,
        restricted_to=snapshot.restricted_to,
        mappa=CaseSnapshot(
            snapshot.crn,
            registrations=tuple(r for r in snapshot.registrations if r.type_code == MAPPA_TYPE),
        ),
        owning_force=owning_force,
        routing_issues=routing_issues,
    )


def supersede(
    session: Session, entry: Entry, *, reason: str, now: datetime, by: int | None = None
) -> None:
    entry.status = State.SUPERSEDED
    entry.reason = reason
    entry.superseded_by = by
    entry.updated_at = now
    session.add(entry)
    record(
        session,
        entry_superseded(SYNC_ACTOR, entry.crn, entry.id, reason=reason, by=by),
        at=now,
    )


def section_of_baseline(baseline: Baseline | BaselineRow | None) -> etree._Element | None:
    """What ViSOR holds for a section (None: nothing yet), as an element to diff against."""
    if baseline is None or baseline.section_xml is None:
        return None
    return parse_untrusted(baseline.section_xml)


def merge_away(session: Session, source: str, target: str, *, now: datetime) -> int:
    """nDelius merged `source` into `target`: the source's open work goes; the target is re-read.

    Returns how many entries were superseded. The source's case state stays (out of scope,
    with the reason) so the status view can say where the case went.
    """
    superseded = 0
    for entry in q.open_entries_for_crn(session, source):
        supersede(session, entry, reason=f"merged into {target} in nDelius", now=now)
        superseded += 1
    state = session.get(CaseState, source) or CaseState(crn=source)
    state.in_scope = False
    state.scope_reason = f"merged into {target}"
    state.last_read_at = now
    session.add(state)
    item = session.get(RetryItem, source)
    if item is not None:
        session.delete(item)
    record(
        session,
        case_merged(SYNC_ACTOR, source, into=target),
        at=now,
    )
    return superseded
