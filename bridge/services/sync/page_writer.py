"""A page of freshly read cases turned into queue changes with a handful of statements.

The rules are those of shared/ARCHITECTURE.md (supersede, revert-to-baseline, rejected
sections, adoption at go-live, withdrawn contacts, leaving scope): each case is decided in
memory against what one set of page queries loaded (its entries, baselines, whether it has a
case state), and the page's changes are then written with one bulk statement per table,
in the caller's transaction.

Why it is exact: a page reads each CRN at most once, and a case's decisions read only that
case's rows, so loading them all before any case is written sees what case-by-case queries
would have seen. Erasures and merges in the page must be done (and flushed) before the
writer is made, as the sync does. Audit lines keep the order in which the case-by-case
writer recorded them, so the hash chain is the same sequence of events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bridge.audit import AuditEvent, record_many
from bridge.core.audit_events import case_adopted, entry_queued, entry_superseded
from bridge.core.deadlines import add_working_days
from bridge.core.differ import Decision, decide
from bridge.core.ended import mappa_ended_section
from bridge.core.issues import has_blocking, issues_to_json
from bridge.core.lifecycle import Kind, Section, State
from bridge.core.record import (
    Envelope,
    build_record,
    canonical_hash,
    field_diff,
    flatten,
    schema_issues,
    to_xml,
)
from bridge.core.xmltext import parse_untrusted
from bridge.mapping_files import MappingBundle
from bridge.services.queueing import (
    ACTIVITY_WITHDRAWN,
    MAPPA_ENDED,
    SYNC_ACTOR,
    Counts,
    PreparedCase,
    PreparedSection,
    section_of_baseline,
)
from bridge.store import batch_queries as bq
from bridge.store.models import OPEN_STATES

__all__ = ["PageWriter"]


class _NewEntry:
    """An entry to insert; its id is known once the page's entries are written."""

    __slots__ = ("id", "row")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.id: int | None = None


_Ref = int | _NewEntry | None


@dataclass(frozen=True, slots=True)
class _PendingAudit:
    event: AuditEvent
    #: A new entry, whose id is known only once the page's new entries are written.
    entry: _NewEntry | None = None
    #: An `entry.superseded` line: detail["by"] is the superseding entry's id (or None),
    #: known only then too.
    names_by: bool = False
    by: _Ref = None

    def resolve(self) -> AuditEvent:
        if self.names_by:
            return self.event.resolved(self.event.entry_id, by=_resolve(self.by))
        if self.entry is not None:
            return self.event.resolved(_resolve(self.entry))
        return self.event


def _resolve(ref: _Ref) -> int | None:
    if isinstance(ref, _NewEntry):
        assert ref.id is not None, "entries are written before their audit lines"
        return ref.id
    return ref


class PageWriter:
    """Decides a page of cases against one load of their rows, then writes it in bulk.

    Use: make it (after the page's erasures and merges), call `case` for each case read and
    `audit` for any other event of the page, in order, then `finish` once.
    """

    def __init__(
        self,
        session: Session,
        crns: Sequence[str],
        *,
        bundle: MappingBundle,
        now: datetime,
        due_days: int,
        adopt_existing: str,
    ) -> None:
        self._session = session
        self._bundle = bundle
        self._now = now
        self._due_days = due_days
        self._adopt_existing = adopt_existing
        conn = session.connection()
        self._entries = bq.page_entries(conn, crns)
        self._baselines = bq.page_baselines(conn, crns)
        self._known_states = bq.case_states_known(conn, crns)
        self._new_entries: list[_NewEntry] = []
        self._superseded: list[tuple[int, str, _Ref]] = []
        self._new_baselines: list[dict[str, Any]] = []
        self._insert_states: list[dict[str, Any]] = []
        self._update_states: list[dict[str, Any]] = []
        self._audits: list[_PendingAudit] = []
        self._finished = False

    # -- recording what the page does ---------------------------------------------------

    def audit(self, event: AuditEvent) -> None:
        """Another event of the page, recorded in its place in the chain."""
        self._audits.append(_PendingAudit(event))

    def _supersede(self, entry: bq.EntryRow, *, reason: str, by: _NewEntry | None = None) -> None:
        self._superseded.append((entry.id, reason, by))
        self._audits.append(
            _PendingAudit(
                entry_superseded(SYNC_ACTOR, entry.crn, entry.id, reason=reason, by=None),
                names_by=True,
                by=by,
            )
        )

    def _case_state(self, prepared: PreparedCase) -> None:
        row = {
            "crn": prepared.crn,
            "snapshot_hash": prepared.fingerprint,
            "in_scope": prepared.scope.in_scope,
            "scope_reason": prepared.scope.reason,
            "on_behalf_of": prepared.scope.on_behalf_of or prepared.manager_code,
            "excluded_from": list(prepared.excluded_from),
            "restricted_to": list(prepared.restricted_to),
            "mapping_version": self._bundle.version,
            "last_read_at": self._now,
        }
        if prepared.crn in self._known_states:
            self._update_states.append(row)
        else:
            self._insert_states.append(row)
            self._known_states.add(prepared.crn)

    def _new_entry(
        self,
        prepared: PreparedCase,
        section: PreparedSection,
        *,
        kind: str,
        baseline: bq.BaselineRow | None,
        occurred_at: datetime,
    ) -> _NewEntry:
        """Queue one entry (version 1 as mapped, audited)."""
        bundle, now = self._bundle, self._now
        # Out of scope (a mappa-ended record) no proxy adjustment names the officer: use the manager.
        on_behalf_of = prepared.scope.on_behalf_of or prepared.manager_code or ""
        envelope = Envelope(
            kind,
            prepared.crn,
            prepared.fingerprint,
            bundle.version,
            on_behalf_of,
            now,
            owning_force=prepared.owning_force,
        )
        rec = build_record(section.element, envelope, section_hash=section.content_hash)
        issues = [*section.issues, *prepared.routing_issues]
        if not has_blocking(issues):
            issues.extend(schema_issues(rec, bundle.schema, section=section.name))
        if kind == ACTIVITY_WITHDRAWN:  # the record names what to withdraw: every field goes
            diff = [
                {"path": p, "before": v, "after": None} for p, v in flatten(section.element).items()
            ]
        else:
            diff = [c.to_json() for c in field_diff(section_of_baseline(baseline), section.element)]
        xml = to_xml(rec)
        entry = _NewEntry(
            {
                "crn": prepared.crn,
                "section": section.name,
                "item_key": section.key,
                "kind": kind,
                "status": State.PENDING,
                "version": 1,
                "xml": xml,
                "content_hash": section.content_hash,
                "issues": issues_to_json(issues),
                "diff": diff,
                "on_behalf_of": on_behalf_of,
                "mapping_version": bundle.version,
                "source_occurred_at": occurred_at,
                "due_date": add_working_days(occurred_at.date(), self._due_days),
                "owning_force": prepared.owning_force,
                "created_at": now,
                "updated_at": now,
            }
        )
        self._new_entries.append(entry)
        self._audits.append(
            _PendingAudit(
                entry_queued(
                    SYNC_ACTOR,
                    prepared.crn,
                    None,
                    section=section.name,
                    item=section.key or None,
                    kind=kind,
                    mapping_version=bundle.version,
                ),
                entry=entry,
            )
        )
        return entry

    def _adopt(self, prepared: PreparedCase) -> None:
        """Go-live: the case is already on ViSOR, so what nDelius holds becomes the baseline."""
        for s in prepared.sections:
            self._new_baselines.append(
                {
                    "crn": prepared.crn,
                    "section": s.name,
                    "item_key": s.key,
                    "content_hash": s.content_hash,
                    "section_xml": to_xml(s.element),
                    "entry_id": None,
                    "updated_at": self._now,
                }
            )
        self._audits.append(
            _PendingAudit(
                case_adopted(
                    SYNC_ACTOR, prepared.crn, sections=sorted({s.name for s in prepared.sections})
                )
            )
        )

    # -- the rules, one case at a time ------------------------------------------------------

    def case(self, prepared: PreparedCase, *, occurred_at: datetime) -> Counts:
        """What a read of one case means for the queue (written by `finish`).

        `occurred_at` is when the change that made us read it happened (entries are due from it).
        """
        counts = Counts()
        crn = prepared.crn
        self._case_state(prepared)
        rows = self._entries.get(crn, [])
        open_rows = [e for e in rows if e.status in OPEN_STATES]
        if not prepared.scope.in_scope:
            for entry in open_rows:
                if entry.kind == MAPPA_ENDED:
                    continue  # that one is about leaving scope: it stays
                self._supersede(entry, reason=f"out of scope: {prepared.scope.reason}")
                counts.superseded += 1
            if prepared.mappa.latest_mappa() is None:
                counts.created += self._mappa_ended(prepared, open_rows, occurred_at)
            return counts
        baselines = {(b.section, b.item_key): b for b in self._baselines.get(crn, [])}
        if (
            not baselines
            and prepared.has_visor_record
            and self._adopt_existing == "adopt"
            and not rows
        ):
            self._adopt(prepared)
            return counts
        nominal_kind = (
            Kind.NOMINAL_UPDATE if baselines or prepared.has_visor_record else Kind.NOMINAL_CREATE
        )
        # The case's open work (at most one open entry per section and contact).
        open_entries = {(e.section, e.item_key): e for e in open_rows}
        rejected = _rejected_last(rows)
        for section in prepared.sections:
            open_entry = open_entries.get((section.name, section.key))
            if (
                open_entry is None
                and rejected.get((section.name, section.key)) == section.content_hash
            ):
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
                self._supersede(open_entry, reason="reverted: nDelius is back to what ViSOR holds")
                counts.superseded += 1
                continue
            new = self._new_entry(
                prepared,
                section,
                kind=Kind.ACTIVITY if section.name == Section.ACTIVITY else nominal_kind,
                baseline=baseline,
                occurred_at=occurred_at,
            )
            counts.created += 1
            if open_entry is not None:
                self._supersede(open_entry, reason="newer change", by=new)
                counts.superseded += 1
        counts.add(self._vanished_contacts(prepared, baselines, open_entries, occurred_at))
        return counts

    def _mappa_ended(
        self, prepared: PreparedCase, open_rows: list[bq.EntryRow], occurred_at: datetime
    ) -> int:
        """MAPPA deregistered: if ViSOR holds MAPPA content, ask once for it to be ended."""
        baseline = next(
            (
                b
                for b in self._baselines.get(prepared.crn, [])
                if b.section == Section.MAPPA and b.item_key == ""
            ),
            None,
        )
        if baseline is None or baseline.section_xml is None:
            return 0  # nothing was ever entered: superseding the pending work is enough
        # Every other open entry was just superseded: only a mappa-ended one is still open.
        if any(
            e.section == Section.MAPPA and e.item_key == "" and e.kind == MAPPA_ENDED
            for e in open_rows
        ):
            return 0
        element = mappa_ended_section(parse_untrusted(baseline.section_xml), prepared.mappa)
        section = PreparedSection(Section.MAPPA, "", element, canonical_hash(element), (), False)
        self._new_entry(
            prepared, section, kind=MAPPA_ENDED, baseline=baseline, occurred_at=occurred_at
        )
        return 1

    def _vanished_contacts(
        self,
        prepared: PreparedCase,
        baselines: dict[tuple[str, str], bq.BaselineRow],
        open_entries: dict[tuple[str, str], bq.EntryRow],
        occurred_at: datetime,
    ) -> Counts:
        """Contacts deleted (or unflagged) in nDelius: drop pending work, withdraw what was entered.

        `open_entries` is the case's open work as `case` found it: the contacts gone from
        nDelius are exactly the keys that loop never touched.
        """
        counts = Counts()
        current = {s.key for s in prepared.sections if s.name == Section.ACTIVITY}
        for entry in open_entries.values():
            if (
                entry.section == Section.ACTIVITY
                and entry.kind == Kind.ACTIVITY
                and entry.item_key not in current
            ):
                reason = "contact deleted or no longer flagged for ViSOR in nDelius"
                self._supersede(entry, reason=reason)
                counts.superseded += 1
        for (section, key), baseline in sorted(baselines.items()):
            if section != Section.ACTIVITY or key in current or baseline.section_xml is None:
                continue
            open_entry = open_entries.get((Section.ACTIVITY, key))
            if open_entry is not None and open_entry.kind == ACTIVITY_WITHDRAWN:
                continue  # already asked for
            element = parse_untrusted(baseline.section_xml)
            withdrawn = PreparedSection(
                Section.ACTIVITY, key, element, baseline.content_hash, (), False
            )
            self._new_entry(
                prepared,
                withdrawn,
                kind=ACTIVITY_WITHDRAWN,
                baseline=baseline,
                occurred_at=occurred_at,
            )
            counts.created += 1
        return counts

    # -- writing --------------------------------------------------------------------------

    def finish(self) -> None:
        """Write the page: entries first (their ids), then everything that names them."""
        assert not self._finished, "a page is written once"
        self._finished = True
        conn = self._session.connection()
        ids = bq.insert_entries(conn, [e.row for e in self._new_entries])
        for entry, new_id in zip(self._new_entries, ids, strict=True):
            entry.id = new_id
        bq.insert_versions(
            conn,
            [
                {
                    "entry_id": e.id,
                    "version": 1,
                    "xml": e.row["xml"],
                    "created_at": self._now,
                    "created_by": SYNC_ACTOR,
                }
                for e in self._new_entries
            ],
        )
        bq.supersede_entries(
            conn,
            [(entry_id, reason, _resolve(by)) for entry_id, reason, by in self._superseded],
            now=self._now,
        )
        bq.insert_baselines(conn, self._new_baselines)
        bq.insert_case_states(conn, self._insert_states)
        bq.update_case_states(conn, self._update_states)
        record_many(self._session, [(a.resolve(), self._now) for a in self._audits])


def _rejected_last(rows: list[bq.EntryRow]) -> dict[tuple[str, str], str]:
    """(section, item key) → content hash, where the newest entry for it was rejected."""
    newest: dict[tuple[str, str], bq.EntryRow] = {}
    for row in rows:  # in id order: the last one seen is the newest
        newest[(row.section, row.item_key)] = row
    return {k: r.content_hash for k, r in newest.items() if r.status == State.REJECTED}
