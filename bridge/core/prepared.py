"""A freshly read case, prepared for the queue: its scope, its mapped sections and their hashes.

Plain data, made by the sync's readers (`bridge.services.sync.prepare`) and read by the queue
planner (`bridge.core.queue_plan`) and the page writer. A prepared case may cross from the
reading process to the writing one, so it holds the facts read from the snapshot rather than
the snapshot itself, and its sections pickle as XML.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from lxml import etree

from bridge.core.issues import Issue
from bridge.core.scope import ScopeDecision
from bridge.core.snapshot import CaseSnapshot
from bridge.core.xmltext import parse_own, parse_untrusted

__all__ = [
    "HoldsSection",
    "PreparedCase",
    "PreparedSection",
    "section_of_baseline",
]


@dataclass(frozen=True)
class PreparedSection:
    """One section as the mapping produced it (for activity: one per contact)."""

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
    section = object.__new__(_SectionFromWire)
    section.__dict__.update(
        name=name, key=key, xml=xml, content_hash=content_hash, issues=issues, is_empty=is_empty
    )
    return section


class _SectionFromWire(PreparedSection):
    """A section as it crossed the pipe: its XML is parsed when first asked for.

    The writer needs the element only for the sections it queues or adopts; the others
    (unchanged, empty, out of scope) are never parsed.
    """

    xml: bytes

    @cached_property
    def element(self) -> etree._Element:
        return parse_own(self.xml)


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
    #: The access lists could not be read (scope.read_access): the case is hidden from everyone.
    access_unclear: bool = False

    @property
    def acting_for(self) -> str:
        """The officer the case's entries are made on behalf of: the one the proxy adjustment
        names; out of scope (a mappa-ended record) none does, so the case's manager."""
        return self.scope.on_behalf_of or self.manager_code or ""


class HoldsSection(Protocol):
    """A baseline, as far as its content goes (a `Baseline` row or a page query's row)."""

    @property
    def section_xml(self) -> str | None: ...


def section_of_baseline(baseline: HoldsSection | None) -> etree._Element | None:
    """What ViSOR holds for a section (None: nothing yet), as an element to diff against."""
    if baseline is None or baseline.section_xml is None:
        return None
    return parse_untrusted(baseline.section_xml)
