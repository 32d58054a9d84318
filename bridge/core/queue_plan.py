"""The queue rules (ARCHITECTURE §1, §3, §9) as a pure planner: what a read of a case means.

Given a prepared case (what the mapping produced per section; for activity, per contact), the
case's baselines (what ViSOR holds) and its entries, `plan_case` returns a `QueuePlan`: the
entries to create, to supersede and to withdraw, in order, each with a reason code. Nothing
here reads or writes a database; the page writer (`bridge.services.sync.page_writer`) only
executes plans.

The rules:

- one unapproved entry per CRN + section (activity: per contact): a newer change creates an
  entry that supersedes the unapproved one; content a proxy rejected exactly is not queued
  again until it changes;
- a section back to its baseline supersedes the unapproved entry and creates nothing; with
  nothing on ViSOR yet, an empty section is nothing to enter;
- at go-live (no baselines, no entries, a case already on ViSOR) the case is adopted: what
  nDelius holds becomes the baseline;
- a contact on ViSOR that nDelius no longer holds (or no longer flags) is withdrawn once; a
  contact never entered just loses its unapproved entry;
- out of scope supersedes every unapproved entry (except a `mappa-ended` one, which is about
  leaving); MAPPA deregistered with MAPPA content on ViSOR asks once for it to be ended;
- a case merged away in nDelius loses its unapproved entries (`plan_merge`).

Applying a plan and planning the same input again gives an empty plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from bridge.core.differ import Decision, decide
from bridge.core.ended import mappa_ended_section
from bridge.core.lifecycle import REMOVALS, UNAPPROVED, Kind, Section, State
from bridge.core.prepared import PreparedCase, PreparedSection, section_of_baseline
from bridge.core.record import canonical_hash, field_diff, flatten
from bridge.core.xmltext import parse_untrusted

__all__ = [
    "BaselineFacts",
    "Counts",
    "Create",
    "EntryFacts",
    "QueuePlan",
    "Reason",
    "Supersede",
    "plan_case",
    "plan_merge",
]


class EntryFacts(Protocol):
    """What the rules read of an existing entry (a page query's row or an `Entry`)."""

    @property
    def id(self) -> int | None: ...
    @property
    def section(self) -> str: ...
    @property
    def item_key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def content_hash(self) -> str: ...


class BaselineFacts(Protocol):
    """What the rules read of a baseline: what ViSOR holds for a section (+ contact)."""

    @property
    def section(self) -> str: ...
    @property
    def item_key(self) -> str: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def section_xml(self) -> str | None: ...


class Reason(StrEnum):
    """Why a step is in a plan (a code; the words people read are `Supersede.text`)."""

    # why an entry is created
    CHANGED = "changed"  # nDelius holds content ViSOR (and the unapproved entry) does not
    CONTACT_REMOVED = "contact-removed"  # a contact on ViSOR is gone from nDelius
    MAPPA_DEREGISTERED = "mappa-deregistered"  # MAPPA ended with MAPPA content on ViSOR
    # why an entry is superseded
    NEWER_CHANGE = "newer-change"
    REVERTED = "reverted"
    OUT_OF_SCOPE = "out-of-scope"
    CONTACT_GONE = "contact-gone"
    MERGED = "merged"


#: What a superseded entry's `reason` says (stored, shown to proxies; `{}`: the step's detail).
SUPERSEDED_TEXT: dict[Reason, str] = {
    Reason.NEWER_CHANGE: "newer change",
    Reason.REVERTED: "reverted: nDelius is back to what ViSOR holds",
    Reason.OUT_OF_SCOPE: "out of scope: {}",
    Reason.CONTACT_GONE: "contact deleted or no longer flagged for ViSOR in nDelius",
    Reason.MERGED: "merged into {} in nDelius",
}


@dataclass(frozen=True, eq=False, slots=True)
class Create:
    """A new entry (version 1 as mapped); `baseline` is what ViSOR holds for it, if anything."""

    section: PreparedSection
    kind: Kind
    reason: Reason
    baseline: BaselineFacts | None = None

    def diff(self) -> list[dict[str, Any]]:
        """What the entry changes on ViSOR, field by field, against the baseline."""
        element = self.section.element
        if self.kind == Kind.ACTIVITY_WITHDRAWN:  # the record names what to withdraw: all goes
            return [{"path": p, "before": v, "after": None} for p, v in flatten(element).items()]
        return [c.to_json() for c in field_diff(section_of_baseline(self.baseline), element)]


@dataclass(frozen=True, slots=True)
class Supersede:
    """An unapproved entry no longer needed; `by` is the step creating its replacement."""

    entry_id: int
    reason: Reason
    by: Create | None = None
    detail: str = ""  # the scope's reason, or the CRN merged into

    @property
    def text(self) -> str:
        return SUPERSEDED_TEXT[self.reason].format(self.detail)


Step = Create | Supersede


@dataclass
class Counts:
    created: int = 0
    superseded: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.superseded += other.superseded


@dataclass(frozen=True, slots=True)
class QueuePlan:
    """What to do, in order (the audit trail records the steps in this order)."""

    steps: tuple[Step, ...] = ()
    #: Go-live: these sections become the case's baselines, and nothing is queued.
    adopt: tuple[PreparedSection, ...] | None = None

    @property
    def creates(self) -> tuple[Create, ...]:
        """New content to enter on ViSOR."""
        return tuple(s for s in self.steps if isinstance(s, Create) and s.kind not in REMOVALS)

    @property
    def withdrawals(self) -> tuple[Create, ...]:
        """Entries that take something out of ViSOR (a contact withdrawn, MAPPA ended)."""
        return tuple(s for s in self.steps if isinstance(s, Create) and s.kind in REMOVALS)

    @property
    def supersessions(self) -> tuple[Supersede, ...]:
        return tuple(s for s in self.steps if isinstance(s, Supersede))

    @property
    def is_empty(self) -> bool:
        return not self.steps and self.adopt is None

    def counts(self) -> Counts:
        superseded = sum(isinstance(s, Supersede) for s in self.steps)
        return Counts(created=len(self.steps) - superseded, superseded=superseded)


#: Read once (a member looked up on its class costs more than the comparison, per section).
_ACTIVITY, _ACTIVITY_KIND = Section.ACTIVITY, Kind.ACTIVITY


def _id(entry: EntryFacts) -> int:
    assert entry.id is not None, "entries are planned once written"
    return entry.id


def _unapproved(entries: Sequence[EntryFacts]) -> list[EntryFacts]:
    return [e for e in entries if e.status in UNAPPROVED]


def plan_merge(entries: Sequence[EntryFacts], *, into: str) -> QueuePlan:
    """nDelius merged this case into `into`: its unapproved work goes (the target is re-read)."""
    return QueuePlan(
        tuple(Supersede(_id(e), Reason.MERGED, detail=into) for e in _unapproved(entries))
    )


def plan_case(
    prepared: PreparedCase,
    entries: Sequence[EntryFacts],
    baselines: Sequence[BaselineFacts],
    *,
    adopt_existing: bool,
) -> QueuePlan:
    """What a read of one case means for the queue.

    Args:
        prepared: the case as just read and mapped.
        entries: every entry of the case (any state), oldest first.
        baselines: every baseline of the case.
        adopt_existing: at go-live, adopt what ViSOR already holds rather than queue it.
    """
    unapproved = _unapproved(entries)
    if not prepared.scope.in_scope:
        return _out_of_scope(prepared, unapproved, baselines)
    by_key = {(b.section, b.item_key): b for b in baselines}
    if not by_key and prepared.has_visor_record and adopt_existing and not entries:
        return QueuePlan(adopt=prepared.sections)
    nominal = Kind.NOMINAL_UPDATE if by_key or prepared.has_visor_record else Kind.NOMINAL_CREATE
    # The case's unapproved work: at most one per section and contact.
    open_entries = {(e.section, e.item_key): e for e in unapproved}
    rejected = _rejected_last(entries)
    steps: list[Step] = []
    for section in prepared.sections:
        key = (section.name, section.key)
        open_entry = open_entries.get(key)
        if open_entry is None and rejected.get(key) == section.content_hash:
            continue  # a proxy rejected exactly this; only a new change makes a new entry
        baseline = by_key.get(key)
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
            steps.append(Supersede(_id(open_entry), Reason.REVERTED))
            continue
        kind = _ACTIVITY_KIND if section.name == _ACTIVITY else nominal
        new = Create(section, kind, Reason.CHANGED, baseline)
        steps.append(new)
        if open_entry is not None:
            steps.append(Supersede(_id(open_entry), Reason.NEWER_CHANGE, by=new))
    steps += _vanished_contacts(prepared, by_key, open_entries)
    return QueuePlan(tuple(steps))


def _out_of_scope(
    prepared: PreparedCase, unapproved: list[EntryFacts], baselines: Sequence[BaselineFacts]
) -> QueuePlan:
    detail = prepared.scope.reason
    steps: list[Step] = [
        Supersede(_id(e), Reason.OUT_OF_SCOPE, detail=detail)
        for e in unapproved
        if e.kind != Kind.MAPPA_ENDED  # that one is about leaving scope: it stays
    ]
    if prepared.mappa.latest_mappa() is None:
        steps += _mappa_ended(unapproved, baselines, prepared)
    return QueuePlan(tuple(steps))


def _mappa_ended(
    unapproved: list[EntryFacts], baselines: Sequence[BaselineFacts], prepared: PreparedCase
) -> list[Step]:
    """MAPPA deregistered: if ViSOR holds MAPPA content, ask once for it to be ended."""
    baseline = next((b for b in baselines if b.section == Section.MAPPA and b.item_key == ""), None)
    if baseline is None or baseline.section_xml is None:
        return []  # nothing was ever entered: superseding the pending work is enough
    # Every other unapproved entry is superseded: only a mappa-ended one is still open.
    if any(
        e.section == Section.MAPPA and e.item_key == "" and e.kind == Kind.MAPPA_ENDED
        for e in unapproved
    ):
        return []
    element = mappa_ended_section(parse_untrusted(baseline.section_xml), prepared.mappa)
    section = PreparedSection(Section.MAPPA, "", element, canonical_hash(element), (), False)
    return [Create(section, Kind.MAPPA_ENDED, Reason.MAPPA_DEREGISTERED, baseline)]


def _vanished_contacts(
    prepared: PreparedCase,
    baselines: dict[tuple[str, str], BaselineFacts],
    open_entries: dict[tuple[str, str], EntryFacts],
) -> list[Step]:
    """Contacts deleted (or unflagged) in nDelius: drop pending work, withdraw what was entered.

    `open_entries` is the case's unapproved work before this read: the contacts gone from
    nDelius are exactly the keys the sections never named.
    """
    steps: list[Step] = []
    current = {s.key for s in prepared.sections if s.name == _ACTIVITY}
    for entry in open_entries.values():
        if (
            entry.section == Section.ACTIVITY
            and entry.kind == Kind.ACTIVITY
            and entry.item_key not in current
        ):
            steps.append(Supersede(_id(entry), Reason.CONTACT_GONE))
    for (section, key), baseline in sorted(baselines.items()):
        if section != Section.ACTIVITY or key in current or baseline.section_xml is None:
            continue
        open_entry = open_entries.get((Section.ACTIVITY, key))
        if open_entry is not None and open_entry.kind == Kind.ACTIVITY_WITHDRAWN:
            continue  # already asked for
        element = parse_untrusted(baseline.section_xml)
        withdrawn = PreparedSection(
            Section.ACTIVITY, key, element, baseline.content_hash, (), False
        )
        steps.append(Create(withdrawn, Kind.ACTIVITY_WITHDRAWN, Reason.CONTACT_REMOVED, baseline))
    return steps


def _rejected_last(entries: Sequence[EntryFacts]) -> dict[tuple[str, str], str]:
    """(section, item key) → content hash, where the newest entry for it was rejected."""
    newest: dict[tuple[str, str], EntryFacts] = {}
    for entry in entries:  # oldest first: the last one seen is the newest
        newest[(entry.section, entry.item_key)] = entry
    return {k: e.content_hash for k, e in newest.items() if e.status == State.REJECTED}
