"""The content of a `mappa-ended` record: what ViSOR holds about MAPPA, and when it ended."""

from __future__ import annotations

import copy
from datetime import date

from lxml import etree

from bridge.core.snapshot import MAPPA_TYPE, CaseSnapshot, as_str

__all__ = ["mappa_ended_section", "mappa_end_date"]


def mappa_end_date(snapshot: CaseSnapshot) -> str | None:
    """The end date of the latest deregistered MAPP registration, as `YYYY-MM-DD`, if any."""
    ended = [r for r in snapshot.registrations if r.type_code == MAPPA_TYPE and not r.is_active]
    for registration in sorted(ended, key=lambda r: r.sort_key, reverse=True):
        text = as_str(registration.raw.get("endDate")) or ""
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            continue
    return None


def mappa_ended_section(baseline: etree._Element, snapshot: CaseSnapshot) -> etree._Element:
    """The MAPPA section ViSOR holds (a copy), with `EndDate` when nDelius records one.

    Args:
        baseline: the `Mappa` section last entered on ViSOR.
        snapshot: the case as read now (its MAPP registration deregistered).
    """
    section = copy.deepcopy(baseline)
    end = mappa_end_date(snapshot)
    lead = section.find("{*}LeadAgency")
    if end is not None and lead is not None:
        ns = etree.QName(section).namespace
        element = etree.Element(f"{{{ns}}}EndDate" if ns else "EndDate")
        element.text = end
        lead.addprevious(element)
    return section
