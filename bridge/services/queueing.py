"""Turns one freshly read case into queue changes: new entries, supersessions, adoption."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import insert
from sqlmodel import Session, col, select

from bridge.audit import Audit, record
from bridge.core.deadlines import add_working_days
from bridge.core.differ import Decision, decide
from bridge.core.ended import mappa_ended_section
from bridge.core.issues import Issue, has_blocking, issues_to_json
from bridge.core.record import (
    Envelope,
    build_record,
    canonical_hash,
    field_diff,
    flatten,
    schema_issues,
    to_xml,
)
from bridge.core.scope import ScopeDecision, decide_scope
from bridge.core.snapshot import CaseSnapshot
from bridge.core.xmltext import parse_untrusted
from bridge.mapping_files import MappingBundle
from bridge.store import entries as q
from bridge.store.models import Baseline, CaseState, Entry, EntryVersion, RetryItem

__all__ = ["Counts", "PreparedCase", "apply_case", "merge_away", "prepare_case", "supersede"]

SYNC_ACTOR = "system:sync"
#: Kind of the entry that asks a proxy to withdraw an activity already on ViSOR.
ACTIVITY_WITHDRAWN = "activity-withdrawn"
#: Kind of the entry that tells ViSOR MAPPA management has ended (deregistration).
MAPPA_ENDED = "mappa-ended"
_INSERT_VERSION = insert(EntryVersion)
_INSERT_ENTRY = insert(Entry).returning(col(Entry.id))


@dataclass(frozen=True)
class PreparedSection:
    name: str
    key: str  # the nDelius contact id for activity, else ""
    element: etree._Element
    content_hash: str
    issues: tuple[Issue, ...]
    is_empty: bool


@dataclass(frozen=True)
class PreparedCase:
    """Everything worked out for one case before the transaction opens."""

    snapshot: CaseSnapshot
    scope: ScopeDecision
    sections: tuple[PreparedSection, ...]
    has_visor_record: bool
    fingerprint: str  # of everything read (hashed once, on the reader thread)
    owning_force: str | None = None
    routing_issues: tuple[Issue, ...] = ()


@dataclass(frozen=True)
class _Write:
    """What every entry written for one case read shares."""

    bundle: MappingBundle
    now: datetime
    occurred_at: datetime
    due_days: int


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
    if not scope.in_scope:
        return PreparedCase(snapshot, scope, (), snapshot.has_visor_record, snapshot.fingerprint())
    mapped = bundle.mapper.map_case(snapshot)
    sections = tuple(
        PreparedSection(m.name, m.key, m.element, canonical_hash(m.element), m.issues, m.is_empty)
        for m in mapped.sections
    )
    return PreparedCase(
        snapshot,
        scope,
        sections,
        snapshot.has_visor_record,
        snapshot.fingerprint(),
        mapped.owning_force,
        mapped.routing_issues,
    )


def supersede(
    session: Session, entry: Entry, *, reason: str, now: datetime, by: int | None = None
) -> None:
    entry.status = "superseded"
    entry.reason = reason
    entry.superseded_by = by
    entry.updated_at = now
    session.add(entry)
    record(
        session,
        Audit(
            "alteration",
            "entry.superseded",
            SYNC_ACTOR,
            entry.crn,
            entry.id,
            {"reason": reason, "by": by},
        ),
        at=now,
    )


def _upsert_case_state(
    session: Session,
    prepared: PreparedCase,
    *,
    now: datetime,
    mapping_version: str,
    known: Mapping[str, CaseState] | None,
) -> None:
    snap = prepared.snapshot
    found = known.get(snap.crn) if known is not None else session.get(CaseState, snap.crn)
    state = found or CaseState(crn=snap.crn)
    state.snapshot_hash = prepared.fingerprint
    state.in_scope = prepared.scope.in_scope
    state.scope_reason = prepared.scope.reason
    state.on_behalf_of = prepared.scope.on_behalf_of or snap.manager_code
    state.excluded_from = list(snap.excluded_from)
    state.restricted_to = list(snap.restricted_to)
    state.mapping_version = mapping_version
    state.last_read_at = now
    session.add(state)


def _adopt(session: Session, prepared: PreparedCase, *, now: datetime) -> None:
    """Go-live: the case is already on ViSOR, so what nDelius holds becomes the baseline."""
    for s in prepared.sections:
        session.add(
            Baseline(
                crn=prepared.snapshot.crn,
                section=s.name,
                item_key=s.key,
                content_hash=s.content_hash,
                section_xml=to_xml(s.element),
                updated_at=now,
            )
        )
    record(
        session,
        Audit(
            "collection",
            "case.adopted",
            SYNC_ACTOR,
            prepared.snapshot.crn,
            None,
            {"sections": sorted({s.name for s in prepared.sections})},
        ),
        at=now,
    )


def _new_entry(
    session: Session,
    prepared: PreparedCase,
    section: PreparedSection,
    *,
    kind: str,
    baseline: Baseline | None,
    write: _Write,
) -> int:
    """Queue one entry (version 1 as mapped, audited); return its id."""
    snap = prepared.snapshot
    # Out of scope (a mappa-ended record) no proxy adjustment names the officer: use the manager.
    on_behalf_of = prepared.scope.on_behalf_of or snap.manager_code or ""
    envelope = Envelope(
        kind,
        snap.crn,
        prepared.fingerprint,
        write.bundle.version,
        on_behalf_of,
        write.now,
        owning_force=prepared.owning_force,
    )
    rec = build_record(section.element, envelope, section_hash=section.content_hash)
    issues = [*section.issues, *prepared.routing_issues]
    if not has_blocking(issues):
        issues.extend(schema_issues(rec, write.bundle.schema, section=section.name))
    if kind == ACTIVITY_WITHDRAWN:  # the record names what to withdraw: every field goes
        diff = [
            {"path": p, "before": v, "after": None} for p, v in flatten(section.element).items()
        ]
    else:
        diff = [c.to_json() for c in field_diff(section_of_baseline(baseline), section.element)]
    xml = to_xml(rec)
    # Plain compiled INSERTs on the session's connection: the sync writes hundreds of
    # thousands of these, and ORM objects cost more than the statements.
    conn = session.connection()
    entry_id = conn.execute(
        _INSERT_ENTRY,
        {
            "crn": snap.crn,
            "section": section.name,
            "item_key": section.key,
            "kind": kind,
            "status": "pending",
            "version": 1,
            "xml": xml,
            "content_hash": section.content_hash,
            "issues": issues_to_json(issues),
            "diff": diff,
            "on_behalf_of": on_behalf_of,
            "mapping_version": write.bundle.version,
            "source_occurred_at": write.occurred_at,
            "due_date": add_working_days(write.occurred_at.date(), write.due_days),
            "owning_force": prepared.owning_force,
            "created_at": write.now,
            "updated_at": write.now,
        },
    ).scalar_one()
    conn.execute(
        _INSERT_VERSION,
        {
            "entry_id": entry_id,
            "version": 1,
            "xml": xml,
            "created_at": write.now,
            "created_by": SYNC_ACTOR,
        },
    )
    record(
        session,
        Audit(
            "collection",
            "entry.queued",
            SYNC_ACTOR,
            snap.crn,
            entry_id,
            {
                "section": section.name,
                "item": section.key or None,
                "kind": kind,
                "mapping_version": write.bundle.version,
            },
        ),
        at=write.now,
    )
    assert entry_id is not None
    return int(entry_id)


def section_of_baseline(baseline: Baseline | None) -> etree._Element | None:
    if baseline is None or baseline.section_xml is None:
        return None
    return parse_untrusted(baseline.section_xml)


def apply_case(
    session: Session,
    prepared: PreparedCase,
    *,
    bundle: MappingBundle,
    now: datetime,
    occurred_at: datetime,
    due_days: int,
    adopt_existing: str,
    known: Mapping[str, CaseState] | None = None,
) -> Counts:
    """Write what a read of one case means for the queue, in the caller's transaction.

    `known`, when given, holds the case states of every CRN in the caller's page (loaded in
    one query); a CRN missing from it has none yet.
    """
    counts = Counts()
    crn = prepared.snapshot.crn
    write = _Write(bundle, now, occurred_at, due_days)
    _upsert_case_state(session, prepared, now=now, mapping_version=bundle.version, known=known)
    if not prepared.scope.in_scope:
        for entry in q.open_entries_for_crn(session, crn):
            if entry.kind == MAPPA_ENDED:
                continue  # that one is about leaving scope: it stays
            supersede(session, entry, reason=f"out of scope: {prepared.scope.reason}", now=now)
            counts.superseded += 1
        if prepared.snapshot.latest_mappa() is None:
            counts.created += _mappa_ended(
                session,
                prepared,
                write=write,
            )
        return counts
    baselines = {(b.section, b.item_key): b for b in q.baselines_for_crn(session, crn)}
    if (
        not baselines
        and prepared.has_visor_record
        and adopt_existing == "adopt"
        and session.exec(select(Entry.id).where(Entry.crn == crn).limit(1)).first() is None
    ):
        _adopt(session, prepared, now=now)
        return counts
    nominal_kind = "nominal-update" if baselines or prepared.has_visor_record else "nominal-create"
    # One query for the case's open work (at most one open entry per section and contact).
    open_entries = {(e.section, e.item_key): e for e in q.open_entries_for_crn(session, crn)}
    rejected = q.rejected_last(session, crn)
    for section in prepared.sections:
        open_entry = open_entries.get((section.name, section.key))
        if open_entry is None and rejected.get((section.name, section.key)) == section.content_hash:
            continue  # a proxy rejected exactly this; only a new change makes a new entry
        baseline = baselines.get((section.name, section.key))
        # With nothing on ViSOR yet, an empty section (no aliases, say) is nothing to enter.
        baseline_hash = baseline.content_hash if baseline else None
        if baseline is None and section.is_empty:
            baseline_hash = section.content_hash
        decision = decide(
            new_hash=section.content_hash,
            open_hash=open_entry.content_hash if open_entry else None,
            baseline_hash=baseline_hash,
        )
        if decision is Decision.NOTHING:
            continue
        if decision is Decision.SUPERSEDE_ONLY and open_entry is not None:
            supersede(
                session, open_entry, reason="reverted: nDelius is back to what ViSOR holds", now=now
            )
            counts.superseded += 1
            continue
        entry_id = _new_entry(
            session,
            prepared,
            section,
            kind="activity" if section.name == "activity" else nominal_kind,
            baseline=baseline,
            write=write,
        )
        counts.created += 1
        if open_entry is not None:
            supersede(session, open_entry, reason="newer change", now=now, by=entry_id)
            counts.superseded += 1
    counts.add(
        _vanished_contacts(
            session,
            prepared,
            baselines,
            open_entries,
            write=write,
        )
    )
    return counts


def _mappa_ended(
    session: Session,
    prepared: PreparedCase,
    *,
    write: _Write,
) -> int:
    """MAPPA deregistered: if ViSOR holds MAPPA content, ask once for it to be ended."""
    crn = prepared.snapshot.crn
    baseline = q.baseline_for(session, crn, "mappa")
    if baseline is None or baseline.section_xml is None:
        return 0  # nothing was ever entered: superseding the pending work is enough
    open_entry = q.open_entry(session, crn, "mappa")
    if open_entry is not None and open_entry.kind == MAPPA_ENDED:
        return 0
    element = mappa_ended_section(parse_untrusted(baseline.section_xml), prepared.snapshot)
    section = PreparedSection("mappa", "", element, canonical_hash(element), (), False)
    _new_entry(
        session,
        prepared,
        section,
        kind=MAPPA_ENDED,
        baseline=baseline,
        write=write,
    )
    return 1


def _vanished_contacts(
    session: Session,
    prepared: PreparedCase,
    baselines: dict[tuple[str, str], Baseline],
    open_entries: dict[tuple[str, str], Entry],
    *,
    write: _Write,
) -> Counts:
    """Contacts deleted (or unflagged) in nDelius: drop pending work, withdraw what was entered.

    `open_entries` is the case's open work as `apply_case` found it: the contacts gone from
    nDelius are exactly the keys that loop never touched.
    """
    counts = Counts()
    current = {s.key for s in prepared.sections if s.name == "activity"}
    for entry in open_entries.values():
        if (
            entry.section == "activity"
            and entry.kind == "activity"
            and entry.item_key not in current
        ):
            reason = "contact deleted or no longer flagged for ViSOR in nDelius"
            supersede(session, entry, reason=reason, now=write.now)
            counts.superseded += 1
    for (section, key), baseline in sorted(baselines.items()):
        if section != "activity" or key in current or baseline.section_xml is None:
            continue
        open_entry = open_entries.get(("activity", key))
        if open_entry is not None and open_entry.kind == ACTIVITY_WITHDRAWN:
            continue  # already asked for
        element = parse_untrusted(baseline.section_xml)
        withdrawn = PreparedSection("activity", key, element, baseline.content_hash, (), False)
        _new_entry(
            session,
            prepared,
            withdrawn,
            kind=ACTIVITY_WITHDRAWN,
            baseline=baseline,
            write=write,
        )
        counts.created += 1
    return counts


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
        Audit("combination", "case.merged", SYNC_ACTOR, source, None, {"into": target}),
        at=now,
    )
    return superseded
