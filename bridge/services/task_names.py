"""People's names for vetted proxies' task listings, and the search by name.

A name is record content: it is read only for a currently vetted proxy's listing, from the
identity section of the case's open entry or, failing that, of its baseline (what ViSOR
holds). It is never logged or audited; a search by name is audited by its caller as a keyed
hash of the terms and the CRNs found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import unescape

from sqlalchemy import func, select, text
from sqlmodel import Session, col

from bridge.core.lifecycle import OPEN_SQL, Section
from bridge.store.models import Baseline, Entry

__all__ = ["name_of", "names_for", "search_names"]

_PART = {
    tag: re.compile(rf"<{tag}>([^<]*)</{tag}>") for tag in ("Forename", "MiddleName", "Surname")
}
_CHUNK = 900
_MAX_FOUND = 200


def _name(xml: str | None) -> str | None:
    """ "Forename Surname" from an identity section's XML, or None."""
    if not xml:
        return None
    parts = []
    for tag in ("Forename", "Surname"):
        found = _PART[tag].search(xml)
        if found and found.group(1).strip():
            parts.append(unescape(found.group(1).strip()))
    return " ".join(parts) or None


def name_of(xml: str | None) -> str | None:
    """ "Forename Surname" from an identity section's XML (a page the caller audits), or None."""
    return _name(xml)


def _identity_xml(s: Session, crns: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(crns), _CHUNK):
        chunk = list(crns[i : i + _CHUNK])
        rows = s.execute(
            select(col(Entry.crn), col(Entry.xml))
            .where(
                text(OPEN_SQL), col(Entry.crn).in_(chunk), col(Entry.section) == Section.IDENTITY
            )
            .order_by(col(Entry.id))
        ).all()
        out.update({crn: xml for crn, xml in rows if xml})
        missing = [c for c in chunk if c not in out]
        if missing:
            base = s.execute(
                select(col(Baseline.crn), col(Baseline.section_xml)).where(
                    col(Baseline.crn).in_(missing), col(Baseline.section) == Section.IDENTITY
                )
            ).all()
            out.update({crn: xml for crn, xml in base if xml})
    return out


def names_for(s: Session, crns: Sequence[str]) -> dict[str, str]:
    """The person's name for each of these cases that has one on record."""
    return {
        crn: name for crn, xml in _identity_xml(s, crns).items() if (name := _name(xml)) is not None
    }


def _words(xml: str) -> list[str]:
    words = []
    for pattern in _PART.values():
        found = pattern.search(xml)
        if found:
            words.extend(unescape(found.group(1)).casefold().split())
    return words


def search_names(s: Session, terms: str) -> list[str]:
    """CRNs whose person's names start with every word of `terms` (any order, any case);
    at most 200. Reads identity sections only, filtered in SQL by the first word."""
    wanted = [w for w in terms.casefold().split() if w]
    if not wanted:
        return []
    like = f"%{wanted[0]}%"
    found: dict[str, str] = {}
    sources = (
        select(col(Entry.crn), col(Entry.xml)).where(
            text(OPEN_SQL),
            col(Entry.section) == Section.IDENTITY,
            func.lower(col(Entry.xml)).like(like),
        ),
        select(col(Baseline.crn), col(Baseline.section_xml)).where(
            col(Baseline.section) == Section.IDENTITY,
            func.lower(col(Baseline.section_xml)).like(like),
        ),
    )
    for stmt in sources:
        for crn, xml in s.execute(stmt):
            if crn in found or not xml:
                continue
            words = _words(xml)
            if all(any(w.startswith(t) for w in words) for t in wanted):
                found[crn] = xml
            if len(found) >= _MAX_FOUND:
                return sorted(found)
    return sorted(found)
