"""A page of freshly read cases turned into queue changes with a handful of statements.

The rules are the queue planner's (`bridge.core.queue_plan`); this module only executes its
plans. Each case is planned in memory against what one set of page queries loaded (its
entries, baselines, whether it has a case state), and the page's changes are then written
with one bulk statement per table, in the caller's transaction.

Why it is exact: a page reads each CRN at most once, and a case's plan reads only that
case's rows, so loading them all before any case is written sees what case-by-case queries
would have seen. Erasures and merges in the page must be done (and flushed) before the
writer is made, as the sync does. Audit lines keep the order of the plans' steps, so the
hash chain is the same sequence of events as case-by-case writes would make.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bridge.audit import AuditEvent, record, record_many
from bridge.core.audit_events import (
    SYNC,
    case_adopted,
    case_merged,
    entry_claim_joined,
    entry_queued,
    entry_superseded,
)
from bridge.core.deadlines import add_working_days
from bridge.core.issues import has_blocking, issues_to_json, sent_values
from bridge.core.lifecycle import State
from bridge.core.prepared import PreparedCase, PreparedSection
from bridge.core.queue_plan import (
    Counts,
    Create,
    QueuePlan,
    Supersede,
    plan_case,
    plan_merge,
)
from bridge.core.record import Envelope, build_record, schema_issues, to_xml
from bridge.mapping_files import MappingBundle
from bridge.store import batch_queries as bq
from bridge.store import entries as q
from bridge.store.models import Attention, CaseState, Entry, RetryItem

__all__ = ["PageWriter", "merge_away"]


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
        #: Who has claimed each case (its claimed entries' holder): new entries join the claim.
        self._holders = {
            crn: e.claimed_by
            for crn, rows in self._entries.items()
            for e in rows
            if e.status == State.CLAIMED and e.claimed_by
        }
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

    def _supersede(self, crn: str, step: Supersede, *, by: _NewEntry | None) -> None:
        self._superseded.append((step.entry_id, step.text, by))
        self._audits.append(
            _PendingAudit(
                entry_superseded(SYNC, crn, step.entry_id, reason=step.text, by=None),
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
        self, prepared: PreparedCase, step: Create, *, occurred_at: datetime
    ) -> _NewEntry:
        """Queue one entry (version 1 as mapped, audited)."""
        bundle, now = self._bundle, self._now
        # Plain strings to the database: a StrEnum member binds through the adapters (slower).
        section, kind, on_behalf_of = step.section, step.kind.value, prepared.acting_for
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
        diff = step.diff()
        xml = to_xml(rec)
        # A case a proxy has claimed (ARCHITECTURE §3 "Case tasks"): the new entry joins the claim.
        holder = self._holders.get(prepared.crn)
        claim = (
            {"status": State.CLAIMED.value, "claimed_by": holder, "claimed_at": now}
            if holder is not None
            else {"status": State.PENDING.value, "claimed_by": None, "claimed_at": None}
        )
        entry = _NewEntry(
            {
                "crn": prepared.crn,
                "section": section.name,
                "item_key": section.key,
                "kind": kind,
                **claim,
                "version": 1,
                "xml": xml,
                "content_hash": section.content_hash,
                "issues": issues_to_json(issues),
                "sent": sent_values(issues) or None,
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
                    SYNC,
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
        if holder is not None:
            event = entry_claim_joined(SYNC, prepared.crn, None, holder=holder)
            self._audits.append(_PendingAudit(event, entry=entry))
        return entry

    def _adopt(self, prepared: PreparedCase, sections: Sequence[PreparedSection]) -> None:
        """Go-live: the case is already on ViSOR, so what nDelius holds becomes the baseline."""
        for s in sections:
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
                case_adopted(SYNC, prepared.crn, sections=sorted({s.name for s in sections}))
            )
        )

    # -- executing a case's plan ----------------------------------------------------------

    def case(self, prepared: PreparedCase, *, occurred_at: datetime) -> Counts:
        """Plan what a read of one case means for the queue (written by `finish`).

        `occurred_at` is when the change that made us read it happened (entries are due from it).
        """
        crn = prepared.crn
        self._case_state(prepared)
        plan = plan_case(
            prepared,
            self._entries.get(crn, []),
            self._baselines.get(crn, []),
            adopt_existing=self._adopt_existing == "adopt",
        )
        self._execute(prepared, plan, occurred_at)
        return plan.counts()

    def _execute(self, prepared: PreparedCase, plan: QueuePlan, occurred_at: datetime) -> None:
        if plan.adopt is not None:
            self._adopt(prepared, plan.adopt)
        created: dict[Create, _NewEntry] = {}
        for step in plan.steps:
            if isinstance(step, Create):
                created[step] = self._new_entry(prepared, step, occurred_at=occurred_at)
            else:
                by = created[step.by] if step.by is not None else None
                self._supersede(prepared.crn, step, by=by)

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
                    "created_by": SYNC,
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


# -- a merge in nDelius (before the page's rows are loaded) ---------------------------------


def merge_away(session: Session, source: str, target: str, *, now: datetime) -> int:
    """nDelius merged `source` into `target`: the source's open work goes; the target is re-read.

    Returns how many entries were superseded. The source's case state stays (out of scope,
    with the reason) so the status view can say where the case went.
    """
    entries = {e.id: e for e in q.open_entries_for_crn(session, source)}
    plan = plan_merge(list(entries.values()), into=target)
    for step in plan.supersessions:
        _supersede_one(session, entries[step.entry_id], step, now=now)
    state = session.get(CaseState, source) or CaseState(crn=source)
    state.in_scope = False
    state.scope_reason = f"merged into {target}"
    state.last_read_at = now
    session.add(state)
    for gone in (session.get(RetryItem, source), session.get(Attention, source)):
        if gone is not None:
            session.delete(gone)  # the target is read again: what it needs is found there
    record(
        session,
        case_merged(SYNC, source, into=target),
        at=now,
    )
    return plan.counts().superseded


def _supersede_one(session: Session, entry: Entry, step: Supersede, *, now: datetime) -> None:
    entry.status = State.SUPERSEDED.value
    entry.reason = step.text
    entry.superseded_by = None
    entry.updated_at = now
    session.add(entry)
    record(
        session,
        entry_superseded(SYNC, entry.crn, entry.id, reason=step.text, by=None),
        at=now,
    )
